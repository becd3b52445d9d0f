"""Ingest settings (env prefix `HERALD_INGEST_`)."""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    """Everything ingest needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_INGEST_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-ingest")
    http: HttpSettings = HttpSettings(port=18081)
    log: LogSettings = LogSettings()
    group_id: str = "herald-ingest"
    consume_platform_events: bool = True
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token for POST /v1/events"
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_event_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="The largest event accepted, in its JSON form on notify.events; a larger one"
        " is refused (reason too_large), so that what later hops add (the notifier, retry"
        " headers, the attempt's result) still fits kafka.max_record_bytes",
    )
    max_batch: int = Field(default=500, ge=1)
    dedup_window_s: float = Field(default=3600.0, ge=0)
    dedup_capacity: int = Field(default=200_000, ge=0)
    ack_timeout_s: float = Field(
        default=2.0,
        gt=0,
        description="How long a request waits for the broker's acknowledgement before its 503",
    )
    readiness_probe_s: float = Field(
        default=2.0, gt=0, description="How often /readyz probes the broker (3 misses: unready)"
    )
