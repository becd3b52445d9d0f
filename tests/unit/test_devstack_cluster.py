"""The local Kafka cluster's pure half: the port layout, each node's server.properties, the
settings that reach every node, the broker count recorded in the home and the refusal to start
a home formatted for another count, and which node leads the most partitions."""

from __future__ import annotations

from pathlib import Path

import pytest
from herald_devstack.cluster import (
    busiest_leader,
    make_cluster,
    new_cluster_id,
    node_ports,
    quorum_voters,
    replication_overrides,
)
from herald_devstack.dev_settings import (
    DevSettings,
    brokers_file,
    check_brokers_fit_storage,
    with_recorded_brokers,
)
from herald_devstack.free_stack import on_free_ports
from herald_devstack.kafka import KafkaSetupError, server_properties
from herald_devstack.stack import Stack


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")
    return {key: value for key, value in pairs}


def test_node_i_listens_step_ports_after_the_first() -> None:
    nodes = node_ports(19092, 19093, 3, 10)
    assert [(n.node_id, n.port, n.controller_port) for n in nodes] == [
        (1, 19092, 19093),
        (2, 19102, 19103),
        (3, 19112, 19113),
    ]
    assert quorum_voters(nodes) == "1@127.0.0.1:19093,2@127.0.0.1:19103,3@127.0.0.1:19113"


def test_the_default_cluster_ports_collide_with_no_other_default_port() -> None:
    settings = DevSettings(brokers=3)
    others = {
        value
        for name, value in settings.model_dump().items()
        if name.endswith("_port") and name not in ("kafka_port", "kafka_controller_port")
    }
    mine = {p for n in settings.kafka_nodes for p in (n.port, n.controller_port)}
    assert len(mine) == 6
    assert mine.isdisjoint(others)


def test_a_cluster_node_is_one_voter_of_three_with_replication_3_and_min_isr_2(
    tmp_path: Path,
) -> None:
    cluster = make_cluster(tmp_path, brokers=3, kafka_port=9100, controller_port=9101, step=10)
    second = cluster.node(2)
    text = server_properties(
        port=second.port,
        controller_port=second.controller_port,
        log_dir=tmp_path,
        node_id=second.node_id,
        quorum_voters=second.quorum_voters,
        overrides=second.overrides,
    )
    props = properties(text)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "1@127.0.0.1:9101,2@127.0.0.1:9111,3@127.0.0.1:9121"
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9110,CONTROLLER://127.0.0.1:9111"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in (
        "min.insync.replicas",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "2", key
    assert props["unclean.leader.election.enable"] == "false"
    assert text.count("default.replication.factor=") == 1  # overridden in place
    assert [n.name for n in cluster.nodes] == ["kafka-1", "kafka-2", "kafka-3"]
    assert {n.heap for n in cluster.nodes} == {"512m"}
    assert cluster.bootstrap_servers == "127.0.0.1:9100,127.0.0.1:9110,127.0.0.1:9120"


def test_a_node_alone_is_as_it_always_was(tmp_path: Path) -> None:
    (node,) = make_cluster(
        tmp_path, brokers=1, kafka_port=9100, controller_port=9101, step=10
    ).nodes
    assert (node.name, node.home, node.heap) == ("kafka", tmp_path / "kafka", "1g")
    props = properties(server_properties(port=9100, controller_port=9101, log_dir=tmp_path))
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9101"
    assert props["default.replication.factor"] == "1"
    assert replication_overrides(1) == {}


def test_a_cluster_has_no_proxy_port_nor_sasl_listener(tmp_path: Path) -> None:
    with pytest.raises(KafkaSetupError, match="brokers=1"):
        make_cluster(
            tmp_path, brokers=3, kafka_port=1, controller_port=2, step=10, advertised_port=3
        )


def test_one_cluster_id_kept_in_the_home(tmp_path: Path) -> None:
    cluster = make_cluster(tmp_path, brokers=3, kafka_port=1, controller_port=2, step=10)
    first = cluster.cluster_id()
    assert first is not None
    assert len(first) == 22
    assert not first.startswith("-")
    assert cluster.cluster_id() == first
    assert new_cluster_id() != first


def test_every_service_bootstraps_from_every_node(tmp_path: Path) -> None:
    stack = Stack(
        DevSettings(home=tmp_path, brokers=3, kafka_port=9100, kafka_controller_port=9101)
    )
    expected = "127.0.0.1:9100,127.0.0.1:9110,127.0.0.1:9120"
    assert stack.settings.kafka_bootstrap == expected
    assert stack.kafka_settings().bootstrap_servers == expected
    assert stack.kafka_env("HERALD_ROUTER_") == {"HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": expected}
    assert stack.topic_profile == "prod"
    assert Stack(DevSettings(home=tmp_path / "one")).topic_profile == "dev"


def test_later_commands_keep_the_broker_count_of_the_last_up(tmp_path: Path) -> None:
    brokers_file(tmp_path).write_text("3\n")
    assert with_recorded_brokers(DevSettings(home=tmp_path)).brokers == 3
    assert with_recorded_brokers(DevSettings(home=tmp_path, brokers=1)).brokers == 1
    assert len(Stack(DevSettings(home=tmp_path)).cluster.nodes) == 3


def _formatted(home: Path, name: str) -> None:
    (home / name / "data").mkdir(parents=True)
    (home / name / "data" / "meta.properties").write_text("cluster.id=x\n")


def test_a_home_formatted_for_one_broker_is_not_started_with_three(tmp_path: Path) -> None:
    _formatted(tmp_path, "kafka")
    check_brokers_fit_storage(DevSettings(home=tmp_path, brokers=1))
    with pytest.raises(
        RuntimeError, match=r"formatted for 1 broker\(s\), not 3: `herald-dev reset`"
    ):
        check_brokers_fit_storage(DevSettings(home=tmp_path, brokers=3))


def test_a_home_formatted_for_three_is_not_started_with_one(tmp_path: Path) -> None:
    for name in ("kafka-1", "kafka-2"):  # the third never formatted: the record says 3
        _formatted(tmp_path, name)
    brokers_file(tmp_path).write_text("3\n")
    check_brokers_fit_storage(DevSettings(home=tmp_path, brokers=3))
    with pytest.raises(RuntimeError, match="formatted for 3"):
        check_brokers_fit_storage(DevSettings(home=tmp_path, brokers=1))


def test_a_new_home_takes_any_count(tmp_path: Path) -> None:
    check_brokers_fit_storage(DevSettings(home=tmp_path, brokers=3))


def test_free_ports_give_every_node_free_distinct_ports(tmp_path: Path) -> None:
    settings = on_free_ports(tmp_path, brokers=3)
    nodes = settings.kafka_nodes
    ports = [p for n in nodes for p in (n.port, n.controller_port)]
    singles = [v for k, v in settings.model_dump().items() if k.endswith("_port") and v]
    assert len(set(ports)) == 6
    assert set(ports).isdisjoint(
        set(singles) - {settings.kafka_port, settings.kafka_controller_port}
    )


@pytest.mark.parametrize(
    ("leaders", "busiest"),
    [({0: 2, 1: 3, 2: 2}, 2), ({0: 1, 1: 3}, 1), ({0: -1, 1: 3}, 3)],
)
def test_the_busiest_leader(leaders: dict[int, int], busiest: int) -> None:
    assert busiest_leader(leaders) == busiest


def test_no_leader_at_all_is_said() -> None:
    with pytest.raises(ValueError, match="no partition has a leader"):
        busiest_leader({0: -1})
