"""Router settings (env prefix `HERALD_ROUTER_`)."""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RouterSettings(BaseSettings):
    """Everything the router needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_ROUTER_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-router")
    http: HttpSettings = HttpSettings(port=18082)
    log: LogSettings = LogSettings()
    otlp_endpoint: str | None = Field(
        default=None,
        description="An OpenTelemetry collector (OTLP/HTTP, `http://collector:4318`): export"
        " this service's spans there. Default: no spans exported (docs/architecture.md Tracing)",
    )
    group_id: str = "herald-router"
    ready_timeout_s: float = Field(
        default=300.0, gt=0, description="Give up catching up after this"
    )
