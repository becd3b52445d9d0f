"""The local stack's settings (env prefix `HERALD_DEV_`), and the Kafka security and broker
count its last `up` used, recorded in its home so that later commands need not be told again."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from herald_core.deployment import DEV_ADMIN_TOKEN, DEV_INGEST_TOKEN
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from herald_devstack.cluster import NodePorts, node_ports
from herald_devstack.kafka import PROJECT_ROOT, KafkaNode


class KafkaSecurity(StrEnum):
    """How the local stack's clients reach the broker."""

    PLAINTEXT = "plaintext"
    SASL_SSL = "sasl_ssl"
    """SCRAM-SHA-512 over TLS, the broker's certificate from a CA made in the stack's home."""


class DevSettings(BaseSettings):
    """Where the local stack lives and listens (env prefix `HERALD_DEV_`)."""

    model_config = SettingsConfigDict(env_prefix="HERALD_DEV_", frozen=True)

    home: Path = Field(default=PROJECT_ROOT / "var")
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_advertised_port: int | None = Field(
        default=None,
        description="The port the broker tells clients to connect to, and the services' "
        "bootstrap: a proxy listening there and forwarding to kafka_port puts itself between "
        "every client and the broker. None: kafka_port itself",
    )
    kafka_security: KafkaSecurity = Field(
        default=KafkaSecurity.PLAINTEXT,
        description="How the services, the topic apply and the readiness check reach the "
        "broker: plaintext on kafka_port, or sasl_ssl (SCRAM-SHA-512, TLS from a local CA) on "
        "kafka_secure_port. Unset, the stack keeps what its last `up` used",
    )
    kafka_secure_port: int = 19094
    brokers: int = Field(
        default=1,
        ge=1,
        le=9,
        description="Kafka nodes, each broker and controller: 1, or 3 for a cluster with "
        "replication factor 3 and min ISR 2 (herald_devstack.cluster). Unset, the stack keeps "
        "what its last `up` used",
    )
    kafka_node_port_step: int = Field(
        default=10,
        description="In a cluster, node i (from 1) listens on kafka_port + step * (i - 1) and "
        "its controller on kafka_controller_port + step * (i - 1)",
    )
    postgres_port: int = 15432
    smtp_port: int = 12525
    webhook_sink_port: int = 18099
    api_port: int = 18080
    api_admin_token: str = DEV_ADMIN_TOKEN
    ingest_port: int = 18081
    ingest_token: str = Field(
        default=DEV_INGEST_TOKEN,
        description="The producer token the stack gives ingest, and its tools send",
    )
    router_port: int = 18082
    derive_port: int = 18083
    recorder_port: int = 18084
    alerter_port: int = 18085
    prometheus_port: int = 19090
    prometheus: bool = Field(
        default=True,
        description="Run Prometheus (the version `make install` builds) scraping every service "
        "and evaluating deploy/prometheus/rules; skipped with a notice when it is not built",
    )
    prometheus_scrape_interval_s: float = Field(
        default=5.0, gt=0, description="How often the local Prometheus scrapes and evaluates rules"
    )
    sender_webhook_port: int = 18090
    sender_email_port: int = 18091
    sender_chat_port: int = Field(
        default=18110,
        description="The health port of the one sender process of every chat channel "
        "(sender-chat: slack … gitter)",
    )
    instance_ports_base: int = Field(
        default=18200,
        description="The first port of the instance block: the health ports of every service's "
        "instances 2 and up, max_instances - 1 per service in the stack's order "
        "(herald_devstack.instances)",
    )
    max_instances: int = Field(
        default=5, ge=1, description="The most instances `scale` may give one service"
    )
    scale: dict[str, int] = Field(
        default_factory=dict,
        description='Instances per service, e.g. {"router": 2, "sender-webhook": 3} (JSON in '
        "HERALD_DEV_SCALE); a service not named runs one",
    )

    @property
    def kafka_bootstrap(self) -> str:
        """The broker's address as its clients are given it: the advertised port's; every
        node's in a cluster."""
        if self.brokers > 1:
            return ",".join(f"127.0.0.1:{n.port}" for n in self.kafka_nodes)
        port = self.kafka_port if self.kafka_advertised_port is None else self.kafka_advertised_port
        return f"127.0.0.1:{port}"

    @property
    def kafka_nodes(self) -> list[NodePorts]:
        """Where each Kafka node listens (herald_devstack.cluster's port layout)."""
        return node_ports(
            self.kafka_port, self.kafka_controller_port, self.brokers, self.kafka_node_port_step
        )


def security_file(home: Path) -> Path:
    return home / "kafka-security"


def with_recorded_security(settings: DevSettings) -> DevSettings:
    """`settings`, with the security of the stack's last `up` unless they set their own: so
    that `status`, `demo` and `down` need not be told again."""
    recorded = security_file(settings.home)
    if "kafka_security" in settings.model_fields_set or not recorded.exists():
        return settings
    value = recorded.read_text().strip()
    if value not in set(KafkaSecurity):
        return settings
    return settings.model_copy(update={"kafka_security": KafkaSecurity(value)})


def check_security_fits_storage(settings: DevSettings, node: KafkaNode) -> None:
    """Refuse sasl_ssl on a home first started plaintext: the SCRAM user is made when the
    broker's storage is formatted, so that broker has none and every login would fail.

    Raises:
        RuntimeError: saying to `herald-dev reset` first.
    """
    formatted = (node.home / "data" / "meta.properties").exists()
    has_user = (node.tls_dir / "scram-password").exists()
    if settings.kafka_security is KafkaSecurity.SASL_SSL and formatted and not has_user:
        raise RuntimeError(
            f"{settings.home} was first started plaintext, so its broker has no SASL user: "
            "`herald-dev reset` first (it deletes the local data)"
        )


def brokers_file(home: Path) -> Path:
    return home / "kafka-brokers"


def with_recorded_brokers(settings: DevSettings) -> DevSettings:
    """`settings`, with the broker count of the stack's last `up` unless they set their own:
    so that `status`, `down` and `fault` see every node."""
    recorded = brokers_file(settings.home)
    if "brokers" in settings.model_fields_set or not recorded.exists():
        return settings
    value = recorded.read_text().strip()
    if not value.isdigit() or int(value) < 1:
        return settings
    return settings.model_copy(update={"brokers": int(value)})


def formatted_brokers(home: Path) -> int | None:
    """How many Kafka nodes the home's storage was formatted for: 1 when `kafka/` holds a
    formatted node, the number of formatted `kafka-<n>/` otherwise; None when none is."""
    if (home / "kafka" / "data" / "meta.properties").exists():
        return 1
    nodes = [path for path in home.glob("kafka-*/data/meta.properties") if path.is_file()]
    return len(nodes) or None


def check_brokers_fit_storage(settings: DevSettings) -> None:
    """Refuse a broker count other than the one the home's Kafka was formatted with: a single
    node's data is not a cluster's (its topics have one replica, its quorum one voter), and a
    cluster's nodes would start with nodes missing from their quorum.

    Raises:
        RuntimeError: saying to `herald-dev reset` first.
    """
    recorded = brokers_file(settings.home)
    formatted = formatted_brokers(settings.home)
    if formatted is None:
        return
    if recorded.exists() and recorded.read_text().strip().isdigit():
        formatted = max(formatted, int(recorded.read_text().strip()))
    if formatted != settings.brokers:
        raise RuntimeError(
            f"{settings.home} holds a Kafka formatted for {formatted} broker(s), not "
            f"{settings.brokers}: `herald-dev reset` first (it deletes the local data), or "
            f"start it with --brokers {formatted}"
        )
