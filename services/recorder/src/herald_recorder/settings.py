"""Recorder settings (env prefix `HERALD_RECORDER_`)."""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://herald@127.0.0.1:15432/herald"


class RecorderSettings(BaseSettings):
    """Everything the recorder needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_RECORDER_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-recorder")
    http: HttpSettings = HttpSettings(port=18084)
    log: LogSettings = LogSettings()
    database_url: SecretStr = Field(
        default=SecretStr(DEFAULT_DATABASE_URL),
        description="The api's database: the api's migrations create the history tables",
    )
    group_id: str = "herald-recorder"
    batch_max: int = Field(
        default=500, ge=1, le=10_000, description="Results per batch, written in one transaction"
    )
    pool_max_size: int = Field(default=2, ge=1)
    retry_initial_s: float = Field(
        default=0.2, gt=0, description="First pause after a failed write; doubles up to the max"
    )
    retry_max_s: float = Field(default=10.0, gt=0)
    schema_poll_s: float = Field(
        default=1.0, gt=0, description="How often to look for the history tables at start"
    )
    # Endpoint health (health.py): a second consumer group on the same topic.
    health_enabled: bool = Field(default=True, description="Track endpoint health at all")
    health_group_id: str = "herald-recorder-health"
    # The audit log (audit.py): a third consumer group, on notify.events.
    audit_enabled: bool = Field(
        default=True, description="Record the audit-only events of notify.events (audit_log)"
    )
    audit_group_id: str = "herald-recorder-audit"
    health_window_s: float = Field(
        default=5 * 86_400.0,
        gt=0,
        description="Disable a notifier whose failures in a row span at least this long",
    )
    health_min_failures: int = Field(
        default=3, ge=1, description="... and number at least this many (one success resets)"
    )
    health_act_within_s: float = Field(
        default=3600.0,
        gt=0,
        description="Disable only on a result at most this old: a backlog (a new group reading"
        " from the start, a long outage) is read out of order across partitions",
    )
