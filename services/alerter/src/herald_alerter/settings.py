"""Alerter settings (env prefix `HERALD_ALERTER_`).

HERALD_ALERTER_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
HERALD_ALERTER_HTTP__PORT=18085
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RULES_TABLE = "alert_rules"
STATE_TABLE = "alert_state"


class AlerterSettings(BaseSettings):
    """Everything the alerter needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_ALERTER_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-alerter")
    http: HttpSettings = HttpSettings(port=18085)
    log: LogSettings = LogSettings()
    app_id: str = Field(
        default="herald-alerter",
        min_length=1,
        description="faust app id: the consumer group and the prefix of the changelog topics",
    )
    table_partitions: int = Field(
        default=6,
        ge=1,
        description="partitions of both changelogs: those of platform.metrics and "
        "notify.config.alerts (co-partitioned)",
    )
    state_checkpoint_s: float = Field(
        default=300.0,
        ge=0,
        description="metric time after which a rule's latest point time is written to the state "
        "table even without a transition (transitions are always written; 0: every point)",
    )
    auto_offset_reset: str = Field(
        default="earliest",
        pattern="^(earliest|latest)$",
        description="where a consumer group without committed offsets starts",
    )
    commit_interval_s: float = Field(default=2.8, gt=0, description="faust offset commits")
    data_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "herald-alerter",
        description="faust's data directory (tables live in memory; faust still creates it)",
    )

    @property
    def rules_changelog(self) -> str:
        """The changelog of the rules table (AppAlerts per app); deploy/topics.yaml declares it."""
        return f"{self.app_id}-{RULES_TABLE}-changelog"

    @property
    def state_changelog(self) -> str:
        """The changelog of the evaluation state table; deploy/topics.yaml declares it."""
        return f"{self.app_id}-{STATE_TABLE}-changelog"
