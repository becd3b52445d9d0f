"""Broker administration: readiness and applying the topic file idempotently.

Readiness means the admin client answers a metadata request, not that a port is open
(docs/contributing.md). `apply_topics` creates missing topics, raises partition counts, and sets the
declared configs; it never deletes a topic nor lowers a partition count (Kafka cannot). An existing
topic with another replication factor than the profile's is reported, not changed (Kafka moves
replicas with a reassignment, not a config); if it has fewer replicas than the declared
`min.insync.replicas`, that config is not set on it, since every acks=all write would be refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from herald_core.settings import KafkaSettings
from herald_core.topics import TopicSpec

from herald_kafka.connection import KafkaConnectFailed, client_options, start_client


@asynccontextmanager
async def admin_client(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client for `kafka` (its servers, client id and request timeout), closed
    on the way out."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    try:
        await start_client(admin, kafka)
        yield admin
    finally:
        await admin.close()


@dataclass
class TopicPlan:
    """What `apply_topics` did (or, with dry_run, would do)."""

    created: list[str] = field(default_factory=list)
    grown: list[tuple[str, int, int]] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replication: list[tuple[str, int, int]] = field(default_factory=list)
    """Existing topics whose replication factor is not the declared one: (name, has, declared)."""

    @property
    def changed(self) -> bool:
        return bool(self.created or self.grown or self.reconfigured)


async def wait_until_ready(kafka: KafkaSettings, *, timeout_s: float = 60.0) -> float:
    """Poll until the broker answers a metadata request; return the seconds it took.

    A broker that refuses or is unreachable is polled again; a TLS or SASL failure ends the
    wait at once (`herald_kafka.connection`): waiting never fixes a wrong password.

    Raises:
        TimeoutError: when the broker did not answer within `timeout_s`.
        KafkaConnectFailed: (fatal) when the certificate is not trusted or the credentials
            are refused.
    """
    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        admin = AIOKafkaAdminClient(**client_options(kafka, request_timeout_ms=3000))
        try:
            await start_client(admin, kafka)
            await admin.describe_cluster()
            return time.monotonic() - started
        except KafkaConnectFailed as exc:
            if exc.fatal:
                raise
            last_error = exc
        except (KafkaError, OSError) as exc:
            last_error = exc
        finally:
            await admin.close()
        await asyncio.sleep(0.25)
    raise TimeoutError(
        f"Kafka at {kafka.bootstrap_servers} did not answer in {timeout_s}s: {last_error}"
    )


async def _current_partitions(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    return {name: count for name, (count, _) in (await _current_layout(admin, names)).items()}


async def _current_layout(
    admin: AIOKafkaAdminClient, names: list[str]
) -> dict[str, tuple[int, int]]:
    """(partition count, replication factor) of each existing topic of `names`; the factor is
    the fewest replicas any of its partitions has."""
    described = await admin.describe_topics(names)
    return {
        t["topic"]: (
            len(t["partitions"]),
            min((len(p["replicas"]) for p in t["partitions"]), default=0),
        )
        for t in described
        if t["error_code"] == 0
    }


@dataclass(frozen=True)
class PartitionState:
    """One partition as the cluster's metadata describes it."""

    partition: int
    leader: int
    """The leading node's id; -1 when no node leads it."""
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


async def describe_partitions(kafka: KafkaSettings, topic: str) -> list[PartitionState]:
    """Every partition of `topic`: its leader, replicas and in-sync replicas, by partition.

    Raises:
        aiokafka.errors.KafkaError: when the cluster does not answer or has no such topic.
    """
    async with admin_client(kafka) as admin:
        (described,) = await admin.describe_topics([topic])
    if described["error_code"] != 0:
        raise for_code(described["error_code"])(f"cannot describe {topic}")
    return sorted(
        (
            PartitionState(p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"]))
            for p in described["partitions"]
        ),
        key=lambda state: state.partition,
    )


async def partition_counts(
    kafka: KafkaSettings, names: Sequence[str], *, timeout_s: float = 60.0
) -> dict[str, int]:
    """The partition count of each existing topic of `names` (a missing topic is left out).

    Waits for the broker first (`wait_until_ready`).

    Raises:
        TimeoutError: when the broker does not answer within `timeout_s`.
    """
    await wait_until_ready(kafka, timeout_s=timeout_s)
    async with admin_client(kafka) as admin:
        return await _current_partitions(admin, list(names))


async def _current_configs(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec]
) -> dict[str, dict[str, str]]:
    resources = [
        ConfigResource(ConfigResourceType.TOPIC, s.name, configs=dict(s.config)) for s in specs
    ]
    current: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for _code, _msg, _type, name, entries in response.resources:
            current[name] = {entry[0]: entry[1] for entry in entries}
    return current


def _created(response: Any) -> list[str]:
    """Names the broker created; an already existing topic is not an error (idempotence)."""
    created = []
    for error in response.to_object()["topic_errors"]:
        code = error["error_code"]
        if code == 0:
            created.append(error["topic"])
        elif for_code(code) is not TopicAlreadyExistsError:
            raise for_code(code)(f"cannot create {error['topic']}: {error['error_message']}")
    return created


async def _wait_visible(admin: AIOKafkaAdminClient, names: set[str], timeout_s: float = 30) -> None:
    """Topic metadata propagates asynchronously in KRaft: wait until every new topic is listed."""
    deadline = time.monotonic() + timeout_s
    while not names <= set(await admin.list_topics()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not visible after {timeout_s}s: {sorted(names)[:5]}…")
        await asyncio.sleep(0.1)


def plan_existing(
    specs: Sequence[TopicSpec],
    partitions: Mapping[str, int],
    configs: Mapping[str, Mapping[str, str]],
    plan: TopicPlan,
    replication: Mapping[str, int] | None = None,
) -> tuple[dict[str, int], list[TopicSpec]]:
    """Compare declared topics with the broker's: what to grow and what to reconfigure. Pure.

    Returns the new partition counts by topic and the specs whose configs differ, and records
    both (and topics with more partitions than declared, which Kafka cannot shrink) in `plan`.
    `replication` (each topic's replication factor, when known) adds a warning per topic
    whose factor is not the declared one, never a change; a topic with fewer replicas than
    its declared `min.insync.replicas` keeps the min ISR it has.
    """
    grow: dict[str, int] = {}
    alter: list[TopicSpec] = []
    for declared in specs:
        has = (replication or {}).get(declared.name, declared.replication_factor)
        if has != declared.replication_factor:
            plan.replication.append((declared.name, has, declared.replication_factor))
            plan.warnings.append(
                f"{declared.name} has replication factor {has}, the profile declares "
                f"{declared.replication_factor}: not changed (apply never deletes a topic; move "
                "its replicas with kafka-reassign-partitions)"
            )
        spec = _fitting_min_isr(declared, has, plan)
        count = partitions.get(spec.name, spec.partitions)
        if count < spec.partitions:
            plan.grown.append((spec.name, count, spec.partitions))
            grow[spec.name] = spec.partitions
        elif count > spec.partitions:
            plan.warnings.append(
                f"{spec.name} has {count} partitions, more than the {spec.partitions} declared"
            )
        actual = configs.get(spec.name, {})
        if any(actual.get(k) != v for k, v in spec.config.items()):
            plan.reconfigured.append(spec.name)
            alter.append(spec)
        elif count >= spec.partitions:
            plan.unchanged.append(spec.name)
    return grow, alter


def _fitting_min_isr(spec: TopicSpec, replicas: int, plan: TopicPlan) -> TopicSpec:
    """`spec` without its `min.insync.replicas` when the topic has fewer replicas than that
    (every acks=all write would be refused), with a warning in `plan`. Pure but for `plan`."""
    wanted = spec.config.get("min.insync.replicas")
    if wanted is None or not wanted.isdigit() or int(wanted) <= replicas:
        return spec
    plan.warnings.append(
        f"{spec.name}: min.insync.replicas={wanted} not set, the topic has {replicas} "
        "replica(s) and every acks=all write would be refused"
    )
    config = {k: v for k, v in spec.config.items() if k != "min.insync.replicas"}
    return TopicSpec(spec.name, spec.partitions, spec.replication_factor, config)


async def _check_brokers(admin: AIOKafkaAdminClient, missing: Sequence[TopicSpec]) -> None:
    """Refuse to create topics with more replicas than the cluster has brokers, saying so.

    Raises:
        ValueError: naming the factor and the broker count.
    """
    needed = max((s.replication_factor for s in missing), default=1)
    if needed <= 1:
        return
    brokers = len((await admin.describe_cluster())["brokers"])
    if brokers < needed:
        raise ValueError(
            f"the topics need replication factor {needed} but the cluster has {brokers} "
            "broker(s): apply the profile that fits it (e.g. --profile dev on one broker)"
        )


async def _create_missing(admin: AIOKafkaAdminClient, missing: Sequence[TopicSpec]) -> list[str]:
    await _check_brokers(admin, missing)
    created: list[str] = []
    for start in range(0, len(missing), 50):
        batch = missing[start : start + 50]
        new = [
            NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=dict(s.config))
            for s in batch
        ]
        created.extend(_created(await admin.create_topics(new)))
    await _wait_visible(admin, {s.name for s in missing})
    return created


async def apply_topics(
    admin: AIOKafkaAdminClient, specs: Sequence[TopicSpec], *, dry_run: bool = False
) -> TopicPlan:
    """Bring the broker's topics in line with `specs`. Idempotent.

    Raises:
        aiokafka.errors.KafkaError: when the broker refuses a change.
    """
    plan = TopicPlan()
    existing = set(await admin.list_topics())
    missing = [s for s in specs if s.name not in existing]
    present = [s for s in specs if s.name in existing]
    if dry_run:
        plan.created = [s.name for s in missing]
    elif missing:
        plan.created = await _create_missing(admin, missing)
        present.extend(s for s in missing if s.name not in plan.created)
    if not present:
        return plan
    layout = await _current_layout(admin, [s.name for s in present])
    partitions = {name: count for name, (count, _) in layout.items()}
    replication = {name: factor for name, (_, factor) in layout.items()}
    configs = await _current_configs(admin, present)
    grow, alter = plan_existing(present, partitions, configs, plan, replication)
    if not dry_run and grow:
        await admin.create_partitions({name: NewPartitions(n) for name, n in grow.items()})
    if not dry_run and alter:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, s.name, configs=dict(s.config)) for s in alter
        ]
        await admin.alter_configs(resources)
    return plan


async def delete_records_before(
    kafka: KafkaSettings, before: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Delete every record below `before[tp]` in each partition; the new low watermarks.

    Raises:
        aiokafka.errors.KafkaError: when the broker refused.
    """
    if not before:
        return {}
    async with admin_client(kafka) as admin:
        low: dict[TopicPartition, int] = await admin.delete_records(
            {tp: RecordsToDelete(offset) for tp, offset in before.items()}
        )
    return low
