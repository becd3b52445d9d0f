"""Metric alert evaluation: one rule, its state and one point in; new state, events out.

The rule, in full in docs/alerts.md (Alerter):

- a point is *beyond* the limit when `value > limit` (`value < limit` with `send_when_below`);
  a value equal to the limit is within it;
- an incident starts at the first point beyond the limit (`since`); it FIRES at the first point
  beyond the limit that is `duration_before_trigger_s` or more after `since` (metric time, the
  points' `at`; with 0 the first point fires); a point within the limit before that ends the
  would-be incident (flapping never fires);
- while firing, a point beyond the limit `n x remind_every_s` or more after the trigger emits
  reminder `n` (once: several elapsed intervals give one reminder, numbered by the last);
- a point within the limit while firing RESOLVES the incident;
- per rule, the state keeps the time of the latest point applied; a point at that time
  (duplicate) or before it (late, out of order) changes nothing;
- a state built for another metric, container type or direction (the rule was edited) is
  dropped: the edited rule starts from nothing. A new limit alone keeps the incident.

Each transition is ONE event, which every family's selection matches (docs/alerts.md, "One
message per transition"): firing and each reminder emit `app_alert_triggered`, which also answers
to Convox's `alert:firing`; resolving emits `app_alert_resolved`, which also answers to
`alert:resolved`. Each carries the rule's `notifier_ids`, which the router delivers to. Event ids
are `uuid5(kind, app, alert, since, reminder)`: a replay emits the same ids.

Pure: no I/O, no clock; the same state, point and rule always give the same result.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

import msgspec
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.envelope import Event
from herald_core.intake import parse_event
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SOURCE = "alerter"
TRIGGERED = "app_alert_triggered"
RESOLVED = "app_alert_resolved"

ALERTER_NAMESPACE = uuid.UUID("8f0d3c52-41a6-5e2b-b7c9-6d1e0a4f93b2")


class AlertState(NamedTuple):
    """What the alerter remembers of one rule: the latest point and the open incident.

    A named tuple: one is built per point evaluated, which a pydantic model made the costliest
    step of the alerter (docs/performance.md, Alerter). Its JSON form, the value of the state
    changelog, is `to_json`/`from_json` (validated by `StoredAlertState`).
    """

    metric: Metric
    container_type: str
    send_when_below: bool
    last_at: datetime  # time of the latest point applied
    since: datetime | None = None  # first point beyond the limit of the current incident
    fired_at: datetime | None = None  # set while firing
    reminders: int = 0  # reminders emitted while firing

    @property
    def firing(self) -> bool:
        return self.fired_at is not None

    def to_json(self) -> bytes:
        """The changelog value (the same JSON as before the alerter left faust)."""
        return StoredAlertState(**self._asdict()).model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes) -> AlertState:
        """Parse a changelog value. Raises pydantic.ValidationError when it is not one."""
        stored = StoredAlertState.model_validate_json(raw)
        return cls(**stored.model_dump())


class StoredAlertState(BaseModel):
    """The JSON form of `AlertState` on the state changelog (a record schema of its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: Metric
    container_type: str
    send_when_below: bool
    last_at: AwareDatetime = Field(description="time of the latest point applied")
    since: AwareDatetime | None = Field(
        default=None, description="first point beyond the limit of the current incident"
    )
    fired_at: AwareDatetime | None = Field(default=None, description="set while firing")
    reminders: int = Field(default=0, ge=0, description="reminders emitted while firing")


class Point(NamedTuple):
    """A metric point as the alerter evaluates it: `MetricPoint`'s fields, without pydantic."""

    app_id: str
    metric: Metric
    container_type: str
    value: float
    at: datetime


class PointLike(Protocol):
    """A `MetricPoint` or a `Point`."""

    @property
    def app_id(self) -> str: ...

    @property
    def metric(self) -> Metric: ...

    @property
    def container_type(self) -> str: ...

    @property
    def value(self) -> float: ...

    @property
    def at(self) -> datetime: ...


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)\Z")


class _WirePoint(msgspec.Struct):
    """The usual shape of a `platform.metrics` value, for msgspec's decoder."""

    app_id: str
    metric: Metric
    value: float
    at: str
    container_type: str = "web"


_DECODER = msgspec.json.Decoder(_WirePoint)


def parse_point(raw: bytes) -> Point:
    """A `platform.metrics` value as a `Point`. Pure.

    The usual shape (strings, a known metric, a finite number, an RFC 3339 time with its
    offset) is read with msgspec, several times faster than pydantic here (docs/performance.md,
    Alerter); anything else goes through `MetricPoint`, so what is accepted, and how it is
    refused, is exactly pydantic's.

    Raises:
        pydantic.ValidationError: when the value is not a `MetricPoint`.
    """
    try:
        wire: _WirePoint | None = _DECODER.decode(raw)
    except msgspec.MsgspecError:
        wire = None
    if wire is not None and math.isfinite(wire.value) and _RFC3339.match(wire.at):
        at = datetime.fromisoformat(wire.at)
        return Point(wire.app_id, wire.metric, wire.container_type, wire.value, at)
    point = MetricPoint.model_validate_json(raw)
    return Point(point.app_id, point.metric, point.container_type, point.value, point.at)


class Verdict(StrEnum):
    """What one point did to one rule (a metric label: `herald_alerter_evaluations_total`)."""

    IGNORED = "ignored"  # the rule is disabled, or watches another metric or container type
    LATE = "late"  # older than the latest point applied: out of order
    DUPLICATE = "duplicate"  # as old as the latest point applied
    WITHIN = "within"  # within the limit, no incident open
    PENDING = "pending"  # beyond the limit, not for long enough yet
    FIRED = "fired"
    REMINDED = "reminded"
    FIRING = "firing"  # still beyond the limit, no reminder due
    RESOLVED = "resolved"


class Evaluation(NamedTuple):
    state: AlertState | None
    events: tuple[Event, ...]
    verdict: Verdict


def matches(rule: AlertRule, point: PointLike) -> bool:
    """True when `rule` is active and watches the point's metric and container type. Pure."""
    return (
        not rule.disabled
        and rule.metric == point.metric
        and rule.container_type == point.container_type
    )


def rules_for(alerts: AppAlerts | None, point: PointLike) -> list[AlertRule]:
    """The app's active rules that watch this point. Pure."""
    return [r for r in alerts.alerts if matches(r, point)] if alerts is not None else []


def dropped_rules(old: AppAlerts | None, new: AppAlerts | None) -> set[str]:
    """Ids of the rules of `old` whose state must go: deleted, disabled or re-targeted. Pure."""
    if old is None:
        return set()
    kept = {r.id: r for r in new.alerts if not r.disabled} if new is not None else {}
    gone = set()
    for rule in old.alerts:
        now = kept.get(rule.id)
        if now is None or _watch(now) != _watch(rule):
            gone.add(rule.id)
    return gone


def outlived(state: AlertState, rule: AlertRule | None) -> bool:
    """True when a stored state has no rule left to serve: its rule was deleted, disabled or
    re-targeted (what `dropped_rules` finds from a change, found from the state). Pure."""
    return rule is None or rule.disabled or _watch(rule) != _watched(state)


def beyond(rule: AlertRule, value: float) -> bool:
    """True when `value` is on the wrong side of the rule's limit (equal is within). Pure."""
    return value < rule.limit if rule.send_when_below else value > rule.limit


def evaluate(
    state: AlertState | None, point: PointLike, rule: AlertRule, alerts: AppAlerts
) -> Evaluation:
    """Fold one point into one rule's state. Pure.

    Returns the new state (the same object when nothing changed) and the events to emit.

    Raises:
        InvalidEvent: only if an emitted event does not validate against the catalog, which
            `AlertData` rules out.
    """
    if not matches(rule, point):
        return Evaluation(state, (), Verdict.IGNORED)
    if state is not None and (
        state.metric != rule.metric
        or state.container_type != rule.container_type
        or state.send_when_below != rule.send_when_below
    ):
        state = None  # the rule was re-targeted: start from nothing
    if state is not None and point.at <= state.last_at:
        verdict = Verdict.DUPLICATE if point.at == state.last_at else Verdict.LATE
        return Evaluation(state, (), verdict)
    if not beyond(rule, point.value):
        if state is None:
            fresh = AlertState(rule.metric, rule.container_type, rule.send_when_below, point.at)
            return Evaluation(fresh, (), Verdict.WITHIN)
        if state.fired_at is not None:
            assert state.since is not None
            events = _events(RESOLVED, point, rule, alerts, state.since, status="resolved")
            return Evaluation(_reset(state, point), events, Verdict.RESOLVED)
        return Evaluation(_reset(state, point), (), Verdict.WITHIN)
    current = state or AlertState(
        rule.metric, rule.container_type, rule.send_when_below, last_at=point.at
    )
    return _beyond(current, point, rule, alerts)


def needs_checkpoint(stored: AlertState | None, new: AlertState, every_s: float) -> bool:
    """True when `new` must be written to the state changelog rather than only kept in memory.
    Pure.

    Every transition is written (anything but `last_at` differs from the stored state); a
    `last_at` alone only once it is `every_s` (metric time) past the stored one, which bounds
    how far back the late-point rule may see after a restart without a changelog record per
    point.
    """
    if stored is None:
        return True
    if (
        new.since != stored.since
        or new.fired_at != stored.fired_at
        or new.reminders != stored.reminders
        or new.metric != stored.metric
        or new.container_type != stored.container_type
        or new.send_when_below != stored.send_when_below
    ):
        return True
    return (new.last_at - stored.last_at).total_seconds() >= every_s


def _beyond(
    current: AlertState, point: PointLike, rule: AlertRule, alerts: AppAlerts
) -> Evaluation:
    since = current.since or point.at
    seen = current._replace(last_at=point.at, since=since)
    if current.fired_at is None:
        if (point.at - since).total_seconds() < rule.duration_before_trigger_s:
            return Evaluation(seen, (), Verdict.PENDING)
        fired = seen._replace(fired_at=point.at, reminders=0)
        events = _events(TRIGGERED, point, rule, alerts, since, status="firing")
        return Evaluation(fired, events, Verdict.FIRED)
    due = _reminders_due(current.fired_at, point.at, rule.remind_every_s)
    if due <= current.reminders:
        return Evaluation(seen, (), Verdict.FIRING)
    reminded = seen._replace(reminders=due)
    events = _events(TRIGGERED, point, rule, alerts, since, status="firing", reminder=due)
    return Evaluation(reminded, events, Verdict.REMINDED)


def _reminders_due(fired_at: datetime, at: datetime, every_s: float | None) -> int:
    if every_s is None:
        return 0
    return int((at - fired_at).total_seconds() // every_s)


def _reset(current: AlertState, point: PointLike) -> AlertState:
    return AlertState(current.metric, current.container_type, current.send_when_below, point.at)


def _watch(rule: AlertRule) -> tuple[Metric, str, bool]:
    return rule.metric, rule.container_type, rule.send_when_below


def _watched(state: AlertState) -> tuple[Metric, str, bool]:
    return state.metric, state.container_type, state.send_when_below


def alert_event_id(kind: str, app_id: str, alert_id: str, since: datetime, reminder: int) -> str:
    """The deterministic id of an alert event: the same incident step, the same id. Pure."""
    key = "\x1f".join((kind, app_id, alert_id, since.isoformat(), str(reminder)))
    return str(uuid.uuid5(ALERTER_NAMESPACE, key))


def alert_name(rule: AlertRule) -> str:
    """A readable name for a rule (rules have none of their own): `cpu > 80 on web`. Pure."""
    sign = "<" if rule.send_when_below else ">"
    return f"{rule.metric.value} {sign} {rule.limit:g} on {rule.container_type}"


def _events(
    kind: str,
    point: PointLike,
    rule: AlertRule,
    alerts: AppAlerts,
    since: datetime,
    *,
    status: str,
    reminder: int = 0,
) -> tuple[Event, ...]:
    type_data: dict[str, Any] = {
        "alert_id": rule.id,
        "name": alert_name(rule),
        "metric": rule.metric.value,
        "value": point.value,
        "limit": rule.limit,
        "container_type": rule.container_type,
        "send_when_below": rule.send_when_below,
        "status": status,
        "since": since.isoformat(),
        "notifier_ids": list(rule.notifier_ids),
    }
    if status == "resolved":
        type_data["duration_s"] = (point.at - since).total_seconds()
    else:
        type_data["reminder"] = reminder
    event = parse_event(
        {
            "id": alert_event_id(kind, alerts.app_id, rule.id, since, reminder),
            "type": kind,
            "created_at": point.at.isoformat(),
            "source": SOURCE,
            "app_id": alerts.app_id,
            "app_name": alerts.app_name,
            "owner_id": alerts.owner_id,
            "type_data": type_data,
        }
    )
    return (event,)
