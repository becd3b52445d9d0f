"""Settings shared by every service (docs/contributing.md).

Each service owns one `BaseSettings` class (env prefix `HERALD_<SERVICE>_`, nested fields with
`__`) built from these parts, constructed once in its `__main__` and passed down. Defaults point
at the local stack on loopback (`herald-dev up`).

    HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
    HERALD_INGEST_HTTP__PORT=8080
"""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_BOOTSTRAP = "127.0.0.1:19092"


class KafkaSettings(BaseModel):
    """How to reach the broker."""

    model_config = {"frozen": True}

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
