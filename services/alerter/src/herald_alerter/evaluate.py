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

Firing emits `app_alert_triggered` (carrying the rule's `notifier_ids`, which the router
delivers to) and Convox's `alert:firing` (no notifier ids: owner-level integrations select it,
and a listed notifier must not be told twice); reminders emit `app_alert_triggered` only;
resolving emits `app_alert_resolved` and `alert:resolved` alike. Event ids are
`uuid5(kind, app, alert, since, reminder)`: a replay emits the same ids.

Pure: no I/O, no clock; the same state, point and rule always give the same result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.envelope import Event
from herald_core.intake import parse_event
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SOURCE = "alerter"
TRIGGERED = "app_alert_triggered"
RESOLVED = "app_alert_resolved"
FIRING = "alert:firing"
CONVOX_RESOLVED = "alert:resolved"
LISTING = frozenset({TRIGGERED, RESOLVED})  # the kinds that carry the rule's notifier ids

ALERTER_NAMESPACE = uuid.UUID("8f0d3c52-41a6-5e2b-b7c9-6d1e0a4f93b2")


class AlertState(BaseModel):
    """What the alerter remembers of one rule: the latest point and the open incident."""

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

    @property
    def firing(self) -> bool:
        return self.fired_at is not None


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


@dataclass(frozen=True)
class Evaluation:
    state: AlertState | None
    events: tuple[Event, ...]
    verdict: Verdict


def matches(rule: AlertRule, point: MetricPoint) -> bool:
    """True when `rule` is active and watches the point's metric and container type. Pure."""
    return (
        not rule.disabled
        and rule.metric == point.metric
        and rule.container_type == point.container_type
    )


def rules_for(alerts: AppAlerts | None, point: MetricPoint) -> list[AlertRule]:
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


def beyond(rule: AlertRule, value: float) -> bool:
    """True when `value` is on the wrong side of the rule's limit (equal is within). Pure."""
    return value < rule.limit if rule.send_when_below else value > rule.limit


def evaluate(
    state: AlertState | None, point: MetricPoint, rule: AlertRule, alerts: AppAlerts
) -> Evaluation:
    """Fold one point into one rule's state. Pure.

    Returns the new state (the same object when nothing changed) and the events to emit.

    Raises:
        InvalidEvent: only if an emitted event does not validate against the catalog, which
            `AlertData` rules out.
    """
    if not matches(rule, point):
        return Evaluation(state, (), Verdict.IGNORED)
    if state is not None and _watch(rule) != (
        state.metric,
        state.container_type,
        state.send_when_below,
    ):
        state = None  # the rule was re-targeted: start from nothing
    if state is not None and point.at <= state.last_at:
        verdict = Verdict.DUPLICATE if point.at == state.last_at else Verdict.LATE
        return Evaluation(state, (), verdict)
    current = state or AlertState(
        metric=rule.metric,
        container_type=rule.container_type,
        send_when_below=rule.send_when_below,
        last_at=point.at,
    )
    if beyond(rule, point.value):
        return _beyond(current, point, rule, alerts)
    if current.firing:
        assert current.since is not None
        events = _events(
            (RESOLVED, CONVOX_RESOLVED), point, rule, alerts, current.since, status="resolved"
        )
        return Evaluation(_reset(current, point), events, Verdict.RESOLVED)
    return Evaluation(_reset(current, point), (), Verdict.WITHIN)


def needs_checkpoint(stored: AlertState | None, new: AlertState, every_s: float) -> bool:
    """True when `new` must be written to the state table rather than only kept in memory. Pure.

    Every transition is written (anything but `last_at` differs from the stored state); a
    `last_at` alone only once it is `every_s` (metric time) past the stored one, which bounds
    how far back the late-point rule may see after a restart without a changelog record per
    point.
    """
    if stored is None:
        return True
    if new.model_copy(update={"last_at": stored.last_at}) != stored:
        return True
    return (new.last_at - stored.last_at).total_seconds() >= every_s


def _beyond(
    current: AlertState, point: MetricPoint, rule: AlertRule, alerts: AppAlerts
) -> Evaluation:
    since = current.since or point.at
    seen = current.model_copy(update={"last_at": point.at, "since": since})
    if current.fired_at is None:
        if (point.at - since).total_seconds() < rule.duration_before_trigger_s:
            return Evaluation(seen, (), Verdict.PENDING)
        fired = seen.model_copy(update={"fired_at": point.at, "reminders": 0})
        events = _events((TRIGGERED, FIRING), point, rule, alerts, since, status="firing")
        return Evaluation(fired, events, Verdict.FIRED)
    due = _reminders_due(current.fired_at, point.at, rule.remind_every_s)
    if due <= current.reminders:
        return Evaluation(seen, (), Verdict.FIRING)
    reminded = seen.model_copy(update={"reminders": due})
    events = _events((TRIGGERED,), point, rule, alerts, since, status="firing", reminder=due)
    return Evaluation(reminded, events, Verdict.REMINDED)


def _reminders_due(fired_at: datetime, at: datetime, every_s: float | None) -> int:
    if every_s is None:
        return 0
    return int((at - fired_at).total_seconds() // every_s)


def _reset(current: AlertState, point: MetricPoint) -> AlertState:
    return current.model_copy(
        update={"last_at": point.at, "since": None, "fired_at": None, "reminders": 0}
    )


def _watch(rule: AlertRule) -> tuple[Metric, str, bool]:
    return rule.metric, rule.container_type, rule.send_when_below


def alert_event_id(kind: str, app_id: str, alert_id: str, since: datetime, reminder: int) -> str:
    """The deterministic id of an alert event: the same incident step, the same id. Pure."""
    key = "\x1f".join((kind, app_id, alert_id, since.isoformat(), str(reminder)))
    return str(uuid.uuid5(ALERTER_NAMESPACE, key))


def alert_name(rule: AlertRule) -> str:
    """A readable name for a rule (rules have none of their own): `cpu > 80 on web`. Pure."""
    sign = "<" if rule.send_when_below else ">"
    return f"{rule.metric.value} {sign} {rule.limit:g} on {rule.container_type}"


def _events(
    kinds: Iterable[str],
    point: MetricPoint,
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
    }
    if status == "resolved":
        type_data["duration_s"] = (point.at - since).total_seconds()
    else:
        type_data["reminder"] = reminder
    return tuple(
        parse_event(
            {
                "id": alert_event_id(kind, alerts.app_id, rule.id, since, reminder),
                "type": kind,
                "created_at": point.at.isoformat(),
                "source": SOURCE,
                "app_id": alerts.app_id,
                "app_name": alerts.app_name,
                "owner_id": alerts.owner_id,
                "type_data": {
                    **type_data,
                    # Only the Scalingo-family event names the rule's notifiers: the router
                    # delivers it to them; the Convox one reaches owner-level integrations
                    # through their selection, so a listed notifier is not told twice.
                    "notifier_ids": list(rule.notifier_ids) if kind in LISTING else [],
                },
            }
        )
        for kind in kinds
    )
