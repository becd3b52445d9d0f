"""Alerter settings (env prefix `HERALD_ALERTER_`).

HERALD_ALERTER_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
HERALD_ALERTER_HTTP__PORT=18085

The fields every faust service shares (Kafka, HTTP, logs, faust app id, partitions, commits)
come from `herald_runtime.faust_service.FaustServiceSettings`. `table_partitions` is that of
both changelogs, of platform.metrics and of notify.config.alerts (co-partitioned).
"""

from __future__ import annotations

from pathlib import Path

from herald_core.settings import HttpSettings, KafkaSettings
from herald_runtime.faust_service import FaustServiceSettings, app_id_field, data_dir_field
from pydantic import Field
from pydantic_settings import SettingsConfigDict

RULES_TABLE = "alert_rules"
STATE_TABLE = "alert_state"


class AlerterSettings(FaustServiceSettings):
    """Everything the alerter needs; built once in `__main__`."""

    model_config = SettingsConfigDict(env_prefix="HERALD_ALERTER_")

    kafka: KafkaSettings = KafkaSettings(client_id="herald-alerter")
    http: HttpSettings = HttpSettings(port=18085)
    app_id: str = app_id_field("herald-alerter")
    data_dir: Path = data_dir_field("herald-alerter")
    state_checkpoint_s: float = Field(
        default=300.0,
        ge=0,
        description="metric time after which a rule's latest point time is written to the state "
        "table even without a transition (transitions are always written; 0: every point)",
    )

    @property
    def rules_changelog(self) -> str:
        """The changelog of the rules table (AppAlerts per app); deploy/topics.yaml declares it."""
        return self.changelog(RULES_TABLE)

    @property
    def state_changelog(self) -> str:
        """The changelog of the evaluation state table; deploy/topics.yaml declares it."""
        return self.changelog(STATE_TABLE)
