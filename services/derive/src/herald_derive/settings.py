"""Derive settings (env prefix `HERALD_DERIVE_`).

HERALD_DERIVE_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
HERALD_DERIVE_THRESHOLDS=[2,5,12]
HERALD_DERIVE_QUIET_PERIOD=PT24H          # ISO 8601 duration, or seconds: 86400

The fields every faust service shares (Kafka, HTTP, logs, faust app id, partitions, commits)
come from `herald_runtime.faust_service.FaustServiceSettings`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from herald_core.settings import HttpSettings, KafkaSettings
from herald_runtime.faust_service import FaustServiceSettings, app_id_field, data_dir_field
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from herald_derive.crashes import DEFAULT_QUIET_PERIOD, DEFAULT_THRESHOLDS

TABLE = "crash_counts"


class DeriveSettings(FaustServiceSettings):
    """Everything the derive processor needs; built once in `__main__`."""

    model_config = SettingsConfigDict(env_prefix="HERALD_DERIVE_")

    kafka: KafkaSettings = KafkaSettings(client_id="herald-derive")
    http: HttpSettings = HttpSettings(port=18083)
    app_id: str = app_id_field("herald-derive")
    data_dir: Path = data_dir_field("herald-derive")
    thresholds: tuple[int, ...] = Field(
        default=DEFAULT_THRESHOLDS, description="crash counts that emit app_crashed"
    )
    quiet_period: timedelta = Field(
        default=DEFAULT_QUIET_PERIOD, description="a crash this long after the last one restarts"
    )

    @property
    def changelog_topic(self) -> str:
        """faust's changelog of the crash table; deploy/topics.yaml must declare it."""
        return self.changelog(TABLE)

    @field_validator("thresholds")
    @classmethod
    def _positive_and_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(t < 1 for t in value):
            raise ValueError("thresholds must be whole numbers of crashes, at least 1")
        return tuple(sorted(set(value)))

    @field_validator("quiet_period")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("quiet_period must be positive")
        return value
