"""Alerter settings (env prefix `HERALD_ALERTER_`).

HERALD_ALERTER_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
HERALD_ALERTER_HTTP__PORT=18085

`table_partitions` is that of platform.metrics, of notify.config.alerts and of the state
changelog (a partition's states live in the changelog partition of the same number).
"""

from __future__ import annotations

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_TABLE = "alert_state"


class AlerterSettings(BaseSettings):
    """Everything the alerter needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_ALERTER_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
        hide_input_in_errors=True,  # an error would print the Kafka password
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-alerter")
    http: HttpSettings = HttpSettings(port=18085)
    log: LogSettings = LogSettings()
    app_id: str = Field(
        default="herald-alerter",
        min_length=1,
        description="the consumer group on platform.metrics and the prefix of the state "
        "changelog (`<app id>-alert_state-changelog`)",
    )
    table_partitions: int = Field(
        default=6,
        ge=1,
        description="partitions of platform.metrics, notify.config.alerts and the state changelog",
    )
    auto_offset_reset: str = Field(
        default="earliest",
        pattern="^(earliest|latest)$",
        description="where a consumer group without committed offsets starts",
    )
    commit_interval_s: float = Field(
        default=2.8, gt=0, description="how often the offsets of platform.metrics are committed"
    )
    session_timeout_s: float = Field(
        default=60.0,
        ge=6,
        le=90,
        description="consumer-group session timeout: how long the group waits for a silent "
        "worker (one that was killed) before its partitions move to the others; at least the "
        "broker's group.min.session.timeout.ms (6 s)",
    )
    state_checkpoint_s: float = Field(
        default=300.0,
        ge=0,
        description="metric time after which a rule's latest point time is written to the state "
        "changelog even without a transition (transitions are always written; 0: every point)",
    )
    max_batch: int = Field(
        default=2000,
        ge=1,
        le=100_000,
        description="points handled per batch at most: their events, then their states, are "
        "written together",
    )
    ready_timeout_s: float = Field(
        default=120.0, gt=0, description="how long the rules may take to load at start"
    )

    @property
    def state_changelog(self) -> str:
        """The changelog of the evaluation state; deploy/topics.yaml declares it."""
        return f"{self.app_id}-{STATE_TABLE}-changelog"
