"""Metric alert rules and metric points: the contract between the API and the alerter.

    api ──(outbox)──► notify.config.alerts   key = app id, value = `AppAlerts` (all of the app's
                                             rules; a tombstone when it has none left)
    metrics pipeline ─► platform.metrics     key = app id, value = `MetricPoint`

Both topics are keyed by app id and have the same partition count, so the alerter's join is
co-partitioned. Durations travel in seconds here; the API translates Scalingo's
wire forms (nanoseconds for `duration_before_trigger`, Go duration strings for `remind_every`).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Metric(StrEnum):
    """The metrics an alert can watch (Scalingo's names)."""

    CPU = "cpu"
    MEMORY = "memory"
    SWAP = "swap"
    RPM = "rpm"
    RPM_PER_CONTAINER = "rpm_per_container"
    HTTP_5XX = "5XX"
    P95_RESPONSE_TIME = "p95_response_time"


class AlertRule(BaseModel):
    """One threshold rule on one metric of one container type of one app.

    It fires when the metric stays above `limit` (below it with `send_when_below`) for
    `duration_before_trigger_s`, reminds every `remind_every_s` while firing (never when None),
    and resolves when the metric is back on the right side of the limit.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    app_id: str
    container_type: str = "web"
    metric: Metric
    limit: float
    send_when_below: bool = False
    duration_before_trigger_s: float = Field(default=0.0, ge=0)
    remind_every_s: float | None = Field(default=None, gt=0)
    disabled: bool = False
    notifier_ids: tuple[str, ...] = ()
    version: int = Field(default=1, ge=1)
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class AppAlerts(BaseModel):
    """Every alert rule of one app: the value of `notify.config.alerts`, keyed by app id.

    `owner_id` and `app_name` let the alerter stamp the events it emits without another lookup.
    """

    model_config = ConfigDict(frozen=True)

    app_id: str
    owner_id: str | None = None
    app_name: str | None = None
    alerts: tuple[AlertRule, ...] = ()


class MetricPoint(BaseModel):
    """One measurement: the value of `platform.metrics`, keyed by app id."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    container_type: str = "web"
    metric: Metric
    value: float
    at: AwareDatetime
