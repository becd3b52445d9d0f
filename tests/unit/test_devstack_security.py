"""`kafka_security`: what the local stack's services are told about the broker, and how later
commands keep what `up` chose."""

from __future__ import annotations

from pathlib import Path

import pytest
from herald_devstack.stack import DevSettings, KafkaSecurity, Stack


def test_plaintext_is_the_default_and_tells_the_services_only_the_bootstrap(
    tmp_path: Path,
) -> None:
    stack = Stack(DevSettings(home=tmp_path, kafka_port=9100))
    assert stack.settings.kafka_security is KafkaSecurity.PLAINTEXT
    assert stack.kafka.secure_port is None
    assert stack.kafka_env("HERALD_ROUTER_") == {
        "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9100"
    }


def _secured(home: Path) -> Stack:
    stack = Stack(
        DevSettings(home=home, kafka_security=KafkaSecurity.SASL_SSL, kafka_secure_port=9300)
    )
    stack.kafka.tls_dir.mkdir(parents=True, exist_ok=True)
    (stack.kafka.tls_dir / "ca.pem").write_text("a CA\n")  # made by the node's first start
    return stack


def test_sasl_ssl_sends_every_service_to_the_secured_listener(tmp_path: Path) -> None:
    stack = _secured(tmp_path)
    assert stack.kafka.secure_port == 9300
    env = stack.kafka_env("HERALD_SENDER_")
    password_file = Path(env.pop("HERALD_SENDER_KAFKA__SASL_PASSWORD_FILE"))
    assert env == {
        "HERALD_SENDER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9300",
        "HERALD_SENDER_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "HERALD_SENDER_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "HERALD_SENDER_KAFKA__SASL_USERNAME": "herald",
        "HERALD_SENDER_KAFKA__SSL_CAFILE": str(stack.kafka.tls_dir / "ca.pem"),
    }
    assert password_file.is_relative_to(tmp_path)
    assert password_file.read_text() == stack.kafka.scram_password
    assert stack.kafka_settings().security_protocol == "SASL_SSL"


def test_later_commands_keep_the_security_of_the_last_up_unless_told(tmp_path: Path) -> None:
    (tmp_path / "kafka-security").write_text("sasl_ssl\n")  # what `up` records
    assert Stack(DevSettings(home=tmp_path)).settings.kafka_security is KafkaSecurity.SASL_SSL
    told = DevSettings(home=tmp_path, kafka_security=KafkaSecurity.PLAINTEXT)
    assert Stack(told).settings.kafka_security is KafkaSecurity.PLAINTEXT


def test_sasl_ssl_on_a_home_formatted_plaintext_is_refused_before_starting(
    tmp_path: Path,
) -> None:
    stack = Stack(DevSettings(home=tmp_path, kafka_security=KafkaSecurity.SASL_SSL))
    (stack.kafka.home / "data").mkdir(parents=True)
    (stack.kafka.home / "data" / "meta.properties").write_text("formatted\n")
    with pytest.raises(RuntimeError, match="herald-dev reset"):
        stack.up(lambda line: None)
