"""The local Kafka: one node alone, or a cluster of KRaft nodes, each broker and controller.

With `brokers=1` (the default) this is the single `KafkaNode` the stack always ran: `kafka`
under the home, every replication factor 1. With `brokers=3` (`herald-dev up --brokers 3`):

    node    directory   client port                    controller port
    1       kafka-1     kafka_port                     kafka_controller_port
    2       kafka-2     kafka_port + step              kafka_controller_port + step
    3       kafka-3     kafka_port + 2 * step          kafka_controller_port + 2 * step

(`step` is `kafka_node_port_step`, 10: 19092/19093, 19102/19103, 19112/19113 by default.)
Every node is broker and controller (combined mode); `controller.quorum.voters` lists all
three, and all three are formatted with one cluster id (kept in `kafka-cluster-id` in the home,
so a node formatted later joins the same cluster). The internal topics (consumer offsets,
transaction state, share coordinator state) get replication factor 3 and min ISR 2, as do
topics created without a factor; unclean leader election stays off. Each JVM gets a 512 MiB
heap, which three nodes and the services fit beside on a small machine. Clients bootstrap from
every node's address, so any one of them being down does not stop a client from starting.

The faults a test injects address a node by id: `kill` (SIGKILL), `terminate` (SIGTERM: a
controlled shutdown that hands its partitions over first), `pause`/`resume` (SIGSTOP/SIGCONT),
`start_node`; `partition_leaders` says which node leads each partition of a topic
(`herald_kafka.admin.describe_partitions` gives leaders, replicas and in-sync replicas).
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from herald_core.settings import KafkaSettings
from herald_kafka import KafkaError
from herald_kafka.admin import admin_client, describe_partitions

from herald_devstack.kafka import KafkaNode, KafkaSetupError

SINGLE_HEAP = "1g"
NODE_HEAP = "512m"
CLUSTER_ID_FILE = "kafka-cluster-id"


@dataclass(frozen=True)
class NodePorts:
    """Where one node of the cluster listens."""

    node_id: int
    port: int
    controller_port: int


def node_ports(kafka_port: int, controller_port: int, brokers: int, step: int) -> list[NodePorts]:
    """Each node's ports: node i (from 1) on `kafka_port + step * (i - 1)`, its controller
    likewise from `controller_port`. Pure."""
    return [
        NodePorts(i + 1, kafka_port + step * i, controller_port + step * i) for i in range(brokers)
    ]


def node_name(node_id: int, brokers: int) -> str:
    """`kafka` for a node alone, `kafka-<id>` in a cluster. Pure."""
    return "kafka" if brokers == 1 else f"kafka-{node_id}"


def quorum_voters(nodes: list[NodePorts]) -> str:
    """`controller.quorum.voters`: `id@127.0.0.1:controller_port` of every node. Pure."""
    return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)


def replication_overrides(brokers: int) -> dict[str, str]:
    """The server properties of a cluster of `brokers`: factor min(brokers, 3) and min ISR one
    less for the internal topics and for topics created without a factor; unclean leader
    election off. Nothing for a node alone (its defaults are 1). Pure."""
    if brokers == 1:
        return {}
    factor = min(brokers, 3)
    min_isr = max(1, factor - 1)
    return {
        "default.replication.factor": str(factor),
        "min.insync.replicas": str(min_isr),
        "offsets.topic.replication.factor": str(factor),
        "transaction.state.log.replication.factor": str(factor),
        "transaction.state.log.min.isr": str(min_isr),
        "share.coordinator.state.topic.replication.factor": str(factor),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "unclean.leader.election.enable": "false",
    }


def new_cluster_id() -> str:
    """A KRaft cluster id as `kafka-storage random-uuid` makes one: a random UUID in URL-safe
    base64 without padding, not starting with `-` (which a command line would take for an
    option)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass
class KafkaCluster:
    """The local Kafka's nodes, started, stopped and faulted together or one by one."""

    state_dir: Path
    nodes: list[KafkaNode]

    @property
    def brokers(self) -> int:
        return len(self.nodes)

    @property
    def bootstrap_servers(self) -> str:
        """Every node's advertised address, comma-separated: what each client is given."""
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def client_settings(self, client_id: str = "herald") -> KafkaSettings:
        """`KafkaSettings` that reach the cluster through any of its nodes."""
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers, client_id=client_id)

    def node(self, node_id: int) -> KafkaNode:
        """The node with `node_id` (from 1). Raises KeyError when there is none."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no Kafka node {node_id}; the nodes are 1 to {self.brokers}")

    def by_name(self, name: str) -> KafkaNode | None:
        """The node called `name` (`kafka`, `kafka-2`, …), or None."""
        return next((node for node in self.nodes if node.name == name), None)

    def cluster_id(self) -> str | None:
        """The id every node of a cluster is formatted with, made once and kept in the home;
        None for a node alone (it makes its own)."""
        if self.brokers == 1:
            return None
        path = self.state_dir / CLUSTER_ID_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def start(self) -> None:
        """Format (once) and start every node that is not running, all at once; returns when
        each is spawned."""
        cluster_id = self.cluster_id()
        for node in self.nodes:
            node.cluster_id = cluster_id
        with ThreadPoolExecutor(max_workers=self.brokers) as pool:
            list(pool.map(KafkaNode.start, self.nodes))

    def start_node(self, node_id: int) -> None:
        """Start one node again (after `kill` or `terminate`)."""
        node = self.node(node_id)
        node.cluster_id = self.cluster_id()
        node.start()

    def stop(self) -> list[str]:
        """Stop every node at once (SIGTERM, SIGKILL after 30 s): one after the other, the last
        would wait for a quorum already gone. Returns the names of those that ran."""
        with ThreadPoolExecutor(max_workers=self.brokers) as pool:
            stopped = list(pool.map(KafkaNode.stop, self.nodes))
        return [node.name for node, ran in zip(self.nodes, stopped, strict=True) if ran]

    def kill(self, node_id: int) -> bool:
        """SIGKILL one node: a crash, nothing flushed, no hand-over. True if it ran."""
        return self.node(node_id).process.kill()

    def terminate(self, node_id: int) -> bool:
        """SIGTERM one node and wait until it exits: a controlled shutdown, its partitions led
        elsewhere first. True if it ran."""
        return self.node(node_id).process.stop(timeout_s=60)

    def pause(self, node_id: int) -> bool:
        """SIGSTOP one node: its sockets stay open, it answers nothing. True if it ran."""
        return self.node(node_id).process.pause()

    def resume(self, node_id: int) -> bool:
        """SIGCONT a paused node. True if it ran."""
        return self.node(node_id).process.resume()

    def running(self) -> list[int]:
        """The ids of the nodes whose process runs."""
        return [node.node_id for node in self.nodes if node.process.pid() is not None]


def make_cluster(
    state_dir: Path,
    *,
    brokers: int,
    kafka_port: int,
    controller_port: int,
    step: int,
    advertised_port: int | None = None,
    secure_port: int | None = None,
) -> KafkaCluster:
    """The local Kafka of `brokers` nodes (see the module docstring).

    Raises:
        KafkaSetupError: for a cluster asked with an advertised port (a fault proxy) or a
            SASL_SSL listener, which only a node alone has.
    """
    if brokers < 1:
        raise KafkaSetupError(f"brokers must be at least 1, not {brokers}")
    if brokers > 1 and (advertised_port is not None or secure_port is not None):
        raise KafkaSetupError(
            "a cluster of several brokers has neither an advertised (proxy) port nor a SASL_SSL "
            "listener here: use brokers=1 for those"
        )
    ports = node_ports(kafka_port, controller_port, brokers, step)
    voters = quorum_voters(ports)
    overrides = replication_overrides(brokers)
    nodes = [
        KafkaNode(
            state_dir,
            port=p.port,
            controller_port=p.controller_port,
            heap=SINGLE_HEAP if brokers == 1 else NODE_HEAP,
            advertised_port=advertised_port,
            secure_port=secure_port,
            name=node_name(p.node_id, brokers),
            node_id=p.node_id,
            quorum_voters=voters if brokers > 1 else None,
            overrides=overrides,
        )
        for p in ports
    ]
    return KafkaCluster(state_dir, nodes)


# --- what the cluster says about itself --------------------------------------------------------


async def partition_leaders(kafka: KafkaSettings, topic: str) -> dict[int, int]:
    """Which node leads each partition of `topic` (partition → node id, -1 for none)."""
    return {p.partition: p.leader for p in await describe_partitions(kafka, topic)}


def busiest_leader(leaders: Mapping[int, int]) -> int:
    """The node that leads the most partitions of `leaders` (the lowest id on a tie). Pure.

    Raises:
        ValueError: when no partition has a leader.
    """
    counts: dict[int, int] = {}
    for leader in leaders.values():
        if leader >= 0:
            counts[leader] = counts.get(leader, 0) + 1
    if not counts:
        raise ValueError("no partition has a leader")
    return min(counts, key=lambda node: (-counts[node], node))


async def wait_for_brokers(kafka: KafkaSettings, count: int, *, timeout_s: float = 120.0) -> float:
    """Wait until `count` brokers are registered (topics with `count` replicas can be made);
    the seconds it took.

    Raises:
        TimeoutError: when fewer answered within `timeout_s`.
    """
    started = time.monotonic()
    seen: object = None
    while time.monotonic() - started < timeout_s:
        try:
            async with admin_client(kafka) as admin:
                cluster = await admin.describe_cluster()
            seen = len(cluster["brokers"])
            if len(cluster["brokers"]) >= count:
                return time.monotonic() - started
        except (KafkaError, OSError) as error:
            seen = error
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{count} Kafka brokers not registered after {timeout_s}s (saw {seen})")
