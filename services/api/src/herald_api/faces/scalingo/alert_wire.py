"""Scalingo's alerts on the wire (go-scalingo's `Alert`), as pydantic models: the requests
`alert_face` parses with them and the answers `alerts_api` declares (docs/alerts.md)."""

from __future__ import annotations

from typing import Any

from herald_core.alerts import Metric
from pydantic import AwareDatetime, BaseModel, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from herald_api.http.wire_models import IGNORED, Closed, Meta

# --- alerts (Scalingo's alerts API, docs/alerts.md) ---------------------------------------

GO_DURATION = "a Go duration string (`30m0s`, `1h30m`, `90s`) or an integer of nanoseconds"


class Alert(BaseModel):
    """An alert as answered: go-scalingo's `Alert`."""

    id: str = Field(examples=["al-297f1134-8576-45ac-ab58-2100b6807683"])
    app_id: str = Field(examples=["app-1"])
    container_type: str = Field(examples=["web"])
    metric: Metric
    limit: float = Field(examples=[0.8])
    send_when_below: bool
    duration_before_trigger: int = Field(
        ge=0, description="Nanoseconds (a Go `time.Duration`)", examples=[300_000_000_000]
    )
    remind_every: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A Go duration string; absent when the alert never reminds",
        examples=["30m0s"],
    )
    disabled: bool
    notifiers: list[str] = Field(description="Ids of the app's notifiers the alert goes to")
    metadata: dict[str, JsonValue]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AlertAnswer(BaseModel):
    alert: Alert


class AlertList(BaseModel):
    alerts: list[Alert]
    meta: Meta


class AlertIn(Closed):
    """Members a client may send; unknown members are refused."""

    id: Any = Field(default=None, description=IGNORED)
    app_id: Any = Field(default=None, description=IGNORED)
    created_at: Any = Field(default=None, description=IGNORED)
    updated_at: Any = Field(default=None, description=IGNORED)
    deleted_at: Any = Field(default=None, description=IGNORED)
    metadata: Any = Field(default=None, description=IGNORED)
    container_type: str | None = Field(
        default=None, description="A process type of the app; web when absent or empty"
    )
    send_when_below: bool = False
    disabled: bool = False
    duration_before_trigger: int | str | None = Field(
        default=None, description=f"How long the limit must be crossed first: {GO_DURATION}"
    )
    remind_every: str | int | None = Field(
        default=None, description=f"Remind while firing: {GO_DURATION}; empty or 0 for never"
    )
    notifiers: list[str] | None = Field(
        default=None, description="Ids of the app's own notifiers", examples=[["no-1"]]
    )


class AlertCreate(AlertIn):
    metric: Metric
    limit: float = Field(ge=0, examples=[0.8])


class AlertPatch(AlertIn):
    metric: Metric | None = None
    limit: float | None = Field(default=None, ge=0, examples=[0.9])


class AlertCreateBody(Closed):
    alert: AlertCreate


class AlertPatchBody(Closed):
    alert: AlertPatch
