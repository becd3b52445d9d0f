"""Settings shared by every service (docs/contributing.md).

Each service owns one `BaseSettings` class (env prefix `HERALD_<SERVICE>_`, nested fields with
`__`) built from these parts, constructed once in its `__main__` and passed down. Defaults point
at the local stack on loopback (`herald-dev up`).

    HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
    HERALD_INGEST_HTTP__PORT=8080

A secured broker (TLS, SASL) is described by the same `KafkaSettings`; a secret can come from a
file (a Kubernetes secret mount) through `sasl_password_file` (docs/operations.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaSettings(BaseModel):
    """How to reach the broker, and how to prove who we are to it."""

    # A validation error would otherwise print its input, the password with it.
    model_config = {"frozen": True, "hide_input_in_errors": True}

    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    client_id: str = "herald"
    request_timeout_ms: int = Field(default=30_000, ge=1_000)
    fetch_max_wait_ms: int = Field(
        default=50,
        ge=0,
        le=500,
        description="How long the broker may hold a fetch for data: low keeps latency low when "
        "one partition is busy and the others idle (aiokafka keeps one fetch per broker)",
    )
    max_partition_fetch_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    max_record_bytes: int = Field(
        default=1_000_000,
        ge=64 * 1024,
        description="The largest record Herald writes, key and headers included. Keep it below "
        "the broker's max.message.bytes (1 MiB + 12 by default), which also counts the batch's "
        "own bytes. A consumer's output above it is never sent: the record is dead-lettered "
        "(reason too_large), and a dead letter above it is cut to fit (x-dlq-truncated)",
    )
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = Field(
        default=None,
        description="A file holding the SASL password (a secret mount), read once at start; "
        "its trailing newline is dropped. Give this or sasl_password, not both",
    )
    ssl_cafile: Path | None = Field(
        default=None, description="PEM bundle of the CAs to trust; the system's when unset"
    )
    ssl_certfile: Path | None = Field(default=None, description="client certificate (mTLS)")
    ssl_keyfile: Path | None = Field(default=None, description="the client certificate's key")
    ssl_check_hostname: bool = True

    @model_validator(mode="before")
    @classmethod
    def _read_password_file(cls, data: Any) -> Any:
        """Fill `sasl_password` from `sasl_password_file`, so that the rest reads one field."""
        if not isinstance(data, dict) or not data.get("sasl_password_file"):
            return data
        path = Path(data["sasl_password_file"])
        try:
            secret = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ValueError(f"sasl_password_file {path} cannot be read: {exc.strerror}") from None
        given = data.get("sasl_password")
        if isinstance(given, SecretStr):
            given = given.get_secret_value()
        if given and given != secret:  # a dump of these settings carries both, and they agree
            raise ValueError("give sasl_password or sasl_password_file, not both")
        return {**data, "sasl_password": secret}

    @model_validator(mode="after")
    def _check_security(self) -> Self:
        """Name what a secured connection misses, at start rather than at the first connect."""
        problems = security_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")


def security_problems(kafka: KafkaSettings) -> list[str]:
    """What keeps `kafka`'s security settings from making a connection, one phrase each.

    Reads only whether the named files exist.
    """
    problems = []
    if kafka.uses_sasl:
        for name in ("sasl_mechanism", "sasl_username", "sasl_password"):
            if not getattr(kafka, name):
                problems.append(f"security_protocol {kafka.security_protocol} needs {name}")
    else:
        given = [
            n for n in ("sasl_mechanism", "sasl_username", "sasl_password") if getattr(kafka, n)
        ]
        if given:
            problems.append(
                f"{', '.join(given)} set but security_protocol {kafka.security_protocol} "
                "uses no SASL (SASL_PLAINTEXT or SASL_SSL)"
            )
    files = {n: getattr(kafka, n) for n in ("ssl_cafile", "ssl_certfile", "ssl_keyfile")}
    if not kafka.uses_tls:
        given = [n for n, path in files.items() if path]
        if given:
            problems.append(
                f"{', '.join(given)} set but security_protocol {kafka.security_protocol} "
                "uses no TLS (SSL or SASL_SSL)"
            )
        return problems
    for name, path in files.items():
        if path is not None and not path.is_file():
            problems.append(f"{name} {path} is not a file")
    if bool(kafka.ssl_certfile) != bool(kafka.ssl_keyfile):
        problems.append("mTLS needs both ssl_certfile and ssl_keyfile")
    return problems


class HttpSettings(BaseModel):
    """Where a service listens (its API, or just /livez, /readyz and /metrics)."""

    model_config = {"frozen": True}

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)


class LogSettings(BaseModel):
    """Log format and level; JSON in containers, console for people."""

    model_config = {"frozen": True}

    json_output: bool = Field(default=True, alias="json")
    level: str = "info"


class ToolKafkaSettings(BaseSettings, KafkaSettings):
    """`KafkaSettings` from `HERALD_KAFKA_<FIELD>` variables, for the command-line tools.

    The services read `HERALD_<SERVICE>_KAFKA__<FIELD>`; herald-topics and herald-ops read
    `HERALD_KAFKA_SECURITY_PROTOCOL`, `HERALD_KAFKA_SASL_PASSWORD_FILE` and so on, beside the
    `--bootstrap-servers` option (`HERALD_KAFKA_BOOTSTRAP_SERVERS`).
    """

    model_config = SettingsConfigDict(
        env_prefix="HERALD_KAFKA_", frozen=True, hide_input_in_errors=True
    )


def tool_kafka_settings(bootstrap_servers: str, client_id: str) -> KafkaSettings:
    """A command-line tool's `KafkaSettings`: its servers and id, the rest from the environment.

    Raises:
        pydantic.ValidationError: as `KafkaSettings`.
    """
    tool = ToolKafkaSettings(bootstrap_servers=bootstrap_servers, client_id=client_id)
    return KafkaSettings.model_validate(dict(tool))
