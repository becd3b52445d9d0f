"""The local broker's addresses: the port it binds, the port it advertises (a proxy in front of
it), and the bootstrap every service of the stack is given."""

from __future__ import annotations

from pathlib import Path

from herald_devstack.kafka import KafkaNode, server_properties
from herald_devstack.stack import DevSettings, Stack


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_by_default_the_broker_advertises_the_port_it_binds() -> None:
    found = properties(server_properties(port=9100, controller_port=9101, log_dir=Path("/d")))
    assert found["listeners"] == "PLAINTEXT://127.0.0.1:9100,CONTROLLER://127.0.0.1:9101"
    assert found["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9100"


def test_an_advertised_port_sends_clients_to_the_proxy_and_keeps_the_controller_direct() -> None:
    found = properties(
        server_properties(port=9100, controller_port=9101, log_dir=Path("/d"), advertised_port=9200)
    )
    assert found["listeners"] == "PLAINTEXT://127.0.0.1:9100,CONTROLLER://127.0.0.1:9101"
    assert found["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9200"
    assert found["controller.quorum.voters"] == "1@127.0.0.1:9101"


def test_a_node_gives_its_clients_the_advertised_address() -> None:
    assert KafkaNode(Path("/d"), port=9100).bootstrap_servers == "127.0.0.1:9100"
    node = KafkaNode(Path("/d"), port=9100, advertised_port=9200)
    assert node.bootstrap_servers == "127.0.0.1:9200"
    assert node.port == 9100


def test_every_service_of_a_stack_bootstraps_through_the_advertised_port() -> None:
    settings = DevSettings(home=Path("/d"), kafka_port=9100, kafka_advertised_port=9200)
    stack = Stack(settings)
    assert stack.kafka.bootstrap_servers == "127.0.0.1:9200"
    for spec in stack.services:
        env = spec.env(settings)
        assert env[f"{spec.env_prefix}KAFKA__BOOTSTRAP_SERVERS"] == "127.0.0.1:9200", spec.name


def test_without_an_advertised_port_the_services_bootstrap_from_the_broker_itself() -> None:
    settings = DevSettings(home=Path("/d"), kafka_port=9100)
    assert settings.kafka_bootstrap == "127.0.0.1:9100"
    assert Stack(settings).spec("router").env(settings)[
        "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS"
    ] == ("127.0.0.1:9100")
