"""Derive settings (env prefix `HERALD_DERIVE_`).

HERALD_DERIVE_KAFKA__BOOTSTRAP_SERVERS=kafka:9092
HERALD_DERIVE_THRESHOLDS=[2,5,12]
HERALD_DERIVE_QUIET_PERIOD=PT24H          # ISO 8601 duration, or seconds: 86400
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from herald_derive.crashes import DEFAULT_QUIET_PERIOD, DEFAULT_THRESHOLDS

TABLE = "crash_counts"


class DeriveSettings(BaseSettings):
    """Everything the derive processor needs; built once in `__main__`."""

    model_config = SettingsConfigDict(
        env_prefix="HERALD_DERIVE_",
        env_nested_delimiter="__",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    kafka: KafkaSettings = KafkaSettings(client_id="herald-derive")
    http: HttpSettings = HttpSettings(port=18083)
    log: LogSettings = LogSettings()
    app_id: str = Field(
        default="herald-derive",
        min_length=1,
        description="faust app id: the consumer group and the prefix of the changelog topic",
    )
    table_partitions: int = Field(
        default=6, ge=1, description="partitions of the changelog: those of notify.events"
    )
    thresholds: tuple[int, ...] = Field(
        default=DEFAULT_THRESHOLDS, description="crash counts that emit app_crashed"
    )
    quiet_period: timedelta = Field(
        default=DEFAULT_QUIET_PERIOD, description="a crash this long after the last one restarts"
    )
    auto_offset_reset: str = Field(
        default="earliest",
        pattern="^(earliest|latest)$",
        description="where a consumer group without committed offsets starts",
    )
    commit_interval_s: float = Field(default=2.8, gt=0, description="faust offset commits")
    data_dir: Path = Field(
        default=Path(tempfile.gettempdir()) / "herald-derive",
        description="faust's data directory (tables live in memory; faust still creates it)",
    )

    @property
    def changelog_topic(self) -> str:
        """faust's changelog of the crash table; deploy/topics.yaml must declare it."""
        return f"{self.app_id}-{TABLE}-changelog"

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
