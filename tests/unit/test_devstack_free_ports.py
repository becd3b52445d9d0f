"""`herald_devstack.free_stack.on_free_ports`: a stack's settings with every port free and
distinct, the given ones kept."""

from __future__ import annotations

from pathlib import Path

from herald_devstack.free_stack import on_free_ports, port_fields
from herald_devstack.processes import bindable, distinct_free_ports
from herald_devstack.stack import KafkaSecurity


def test_every_port_is_chosen_and_none_twice(tmp_path: Path) -> None:
    settings = on_free_ports(tmp_path)
    ports = [getattr(settings, name) for name in port_fields()]
    assert len(set(ports)) == len(ports)
    assert {
        "kafka_port",
        "kafka_secure_port",
        "api_port",
        "sender_email_port",
        "sender_chat_port",
    } <= set(port_fields())
    assert "kafka_advertised_port" not in port_fields()
    assert (settings.home, settings.kafka_advertised_port) == (tmp_path, None)


def test_what_is_given_is_kept(tmp_path: Path) -> None:
    settings = on_free_ports(
        tmp_path,
        kafka_port=40001,
        kafka_advertised_port=40002,
        kafka_security=KafkaSecurity.SASL_SSL,
    )
    assert (settings.kafka_port, settings.kafka_advertised_port) == (40001, 40002)
    assert settings.kafka_security is KafkaSecurity.SASL_SSL
    others = [getattr(settings, n) for n in port_fields() if n != "kafka_port"]
    assert 40001 not in others
    assert 40002 not in others


def test_distinct_free_ports_are_different_and_free() -> None:
    for _ in range(50):
        ports = distinct_free_ports(4)
        assert len(set(ports)) == 4
        assert all(bindable(port) for port in ports)
