"""The summary of a delivery that every human channel renders: chat services and e-mail.

    from herald_sender.summary import SummaryOptions, summarize
    summary = summarize(delivery, SummaryOptions(dashboard_url_template=...))

`summarize` turns a `Delivery` into a plain frozen `Summary`: title (`subject`, `headline`),
sentence (`summary`), severity and tone (`colour`), facts (ordered label → value, already
formatted), links (each checked once), footer and time. The nine chat renderers
(`herald_sender.chat`) and the e-mail (`herald_sender.mail`: subject, text and HTML parts)
all render from it, so a reader sees the same facts whichever channel they use. Each rule
lives in one place:

    missing field   the catalog sentence needs a field the event lacks: the catalog's
                    description instead (`_summary`); a fact without a value is left out
    values          `facts.shown`: booleans yes/no, numbers without trailing zeros, lists
                    joined with ", ", objects as compact JSON, one line, FACT_VALUE at most
    facts           `facts.kind_facts` (common, then per kind), then the other `type_data`
                    fields, at most `SummaryOptions.max_facts`
    times           `Summary.when`, UTC to the minute
    links           `links.links_of`: the dashboard, safe `*_url` fields, the event page

Every catalog type gets the generic treatment: its display name as the title, its catalog
template filled from the event as the summary, the app, rack, status and actor, then the
`type_data` fields as facts. Four kinds get their own facts first, in the order a reader
looks for them:

    deployment  status, duration, git ref, pusher, deployment / release / build id, stack
    crash       crash count, container, exit code, reason
    alert       firing or resolved, alert name, metric, value, limit
    budget      spend, threshold, cap, message

Strings here are raw (unescaped, uncut but for `facts.FACT_VALUE`): escaping and the
services' limits are the renderers' business (`herald_sender.chat.escape`, `limits.fit`;
the e-mail's HTML autoescaping).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from herald_core.catalog import CATALOG, EventType, Severity
from herald_core.deliveries import Delivery
from herald_core.envelope import Event

from herald_sender.summary.facts import SUMMARY, Fact, Kind, kind_facts, label, one_line, shown
from herald_sender.summary.links import Link, links_of
from herald_sender.summary.options import SummaryOptions

__all__ = ["Fact", "Kind", "Link", "Summary", "SummaryOptions", "Tone", "summarize"]


class Tone(StrEnum):
    """The colour family of a message: the severity, moved by the status when there is one."""

    GOOD = "good"
    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"


TONE_HEX: Mapping[Tone, str] = {
    Tone.GOOD: "#2EB67D",
    Tone.INFO: "#439FE0",
    Tone.WARNING: "#ECB22E",
    Tone.DANGER: "#E01E5A",
}


@dataclass(frozen=True)
class Summary:
    """What every human channel shows of one event, before escaping and cutting."""

    event_id: str
    event_type: str
    display_name: str
    category: str
    kind: Kind
    severity: Severity
    tone: Tone
    app_name: str | None
    rack: str | None
    actor: str | None
    status: str | None
    summary: str
    description: str
    facts: tuple[Fact, ...]
    links: tuple[Link, ...]
    occurred_at: datetime

    @property
    def colour(self) -> str:
        """The tone as `#RRGGBB`."""
        return TONE_HEX[self.tone]

    @property
    def headline(self) -> str:
        """`Display name: status`, one line.

        The status is left out when the display name already says it ("Alert resolved").
        """
        status = self.status or ""
        said = status.lower() in self.display_name.lower()
        suffix = f": {status}" if status and not said else ""
        return one_line(f"{self.display_name}{suffix}")

    @property
    def subject(self) -> str:
        """`Display name: status · app`, one line: titles, previews and fallbacks."""
        app = f" · {self.app_name}" if self.app_name else ""
        return one_line(f"{self.headline}{app}")

    @property
    def when(self) -> str:
        """The event's time, `2026-03-01 11:59 UTC`."""
        return self.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def footer(self) -> str:
        """The event type and, for rack events, the rack: the small print."""
        rack = f" · rack {self.rack}" if self.rack else ""
        return one_line(f"{self.event_type} · {self.category}{rack}")


_CATEGORY_NAMES = {c.id: c.name for c in CATALOG.categories()}
_ALERT_TYPES = frozenset(
    {"app_alert_triggered", "app_alert_resolved", "alert:firing", "alert:resolved"}
)
_RESOLVED_TYPES = frozenset({"app_alert_resolved", "alert:resolved"})
_GOOD_TYPES = frozenset(
    {
        "app:promote:completed",
        "release:finish",
        "account.provision.ok",
        "account.redeploy.ok",
        "server.backon",
        "job.backon",
        "app:budget:auto-shutdown:restored",
        "database_backup_succeeded",
        "database_maintenance_completed",
    }
)
_GOOD_STATUSES = frozenset({"success", "succeeded", "ok", "completed", "resolved", "restored"})
_PENDING_STATUSES = frozenset(
    {"start", "started", "starting", "pending", "queued", "building", "pushing", "in-progress"}
)
_FAILURE_WORDS = ("error", "fail", "abort", "crash", "timeout", "cancel")


def summarize(delivery: Delivery, options: SummaryOptions) -> Summary:
    """The service-neutral summary of `delivery`. Pure; never raises on odd `type_data`."""
    event = delivery.event
    known = CATALOG.get(event.type)
    data = event.type_data
    kind = _kind(event.type, known)
    actor = _actor(event)
    status = _status(kind, event.type, data)
    severity = known.severity if known else Severity.INFO
    common = [
        ("App", _app_name(event)),
        ("Rack", event.rack),
        ("Status", status),
        ("Actor", actor),
    ]
    facts, used = kind_facts(kind, data, common, actor)
    if not (event.app_name or event.app_id):
        used.add("stack_name")  # shown as the app
    extra = [
        Fact(label(key), shown(value))
        for key, value in data.items()
        if key not in used
        and not key.endswith("_url")
        and key != "notifier_ids"
        and value not in (None, "", [])
        and not isinstance(value, dict)  # nested objects: lifted by the catalog, or noise
    ]
    return Summary(
        event_id=event.id,
        event_type=event.type,
        display_name=known.display_name if known else label(event.type),
        category=_CATEGORY_NAMES.get(known.category, "Other") if known else "Other",
        kind=kind,
        severity=severity,
        tone=_tone(kind, severity, status, event.type),
        app_name=_app_name(event),
        rack=event.rack,
        actor=actor,
        status=status,
        summary=_summary(known, event, actor),
        description=known.description if known else f"A {event.type} event",
        facts=tuple([f for f in (*facts, *extra) if f.value][: max(options.max_facts, 0)]),
        links=links_of(event, options),
        occurred_at=event.created_at,
    )


def _kind(type_id: str, known: EventType | None) -> Kind:
    if type_id.startswith("app_crashed"):
        return Kind.CRASH
    if type_id in _ALERT_TYPES:
        return Kind.ALERT
    category = known.category if known else ""
    if category == "deployments":
        return Kind.DEPLOYMENT
    return Kind.BUDGET if category == "budget" else Kind.GENERIC


def _app_name(event: Event) -> str | None:
    """The app's name; for Cloud 66, whose apps are stacks, the stack's."""
    stack = event.type_data.get("stack_name")
    fallback = one_line(stack) if isinstance(stack, str) else None
    return event.app_name or event.app_id or fallback or None


def _actor(event: Event) -> str | None:
    user = event.user
    if user is not None and (user.username or user.email or user.id):
        return user.username or user.email or user.id
    for key in ("actor", "pusher"):
        value = event.type_data.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value)
    return None


def _status(kind: Kind, type_id: str, data: Mapping[str, Any]) -> str | None:
    raw = data.get("status")
    if kind is Kind.ALERT:
        resolved = type_id in _RESOLVED_TYPES or str(raw).lower() in ("resolved", "ok")
        return "Resolved" if resolved else "Firing"
    if raw is None or raw == "":
        return None
    return shown(raw)


def _tone(kind: Kind, severity: Severity, status: str | None, type_id: str) -> Tone:
    if kind is Kind.ALERT:
        return Tone.GOOD if status == "Resolved" else Tone.DANGER
    lowered = (status or "").lower()
    if lowered in _GOOD_STATUSES or (not lowered and type_id in _GOOD_TYPES):
        return Tone.GOOD
    if lowered in _PENDING_STATUSES:
        return Tone.INFO
    if lowered and (kind is Kind.DEPLOYMENT or any(w in lowered for w in _FAILURE_WORDS)):
        return Tone.DANGER
    return {Severity.CRITICAL: Tone.DANGER, Severity.WARNING: Tone.WARNING}.get(severity, Tone.INFO)


def _summary(known: EventType | None, event: Event, actor: str | None) -> str:
    """The catalog template filled from the event; its description if a field is missing."""
    if known is None:
        return f"A {event.type} event"
    values: dict[str, Any] = {**event.type_data}
    values.update(
        user=actor or "someone",
        app_name=event.app_name or event.app_id,
        app_id=event.app_id,
        owner_id=event.owner_id,
        addon_id=event.addon_id,
        rack=event.rack,
    )
    parts: list[str] = []
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(known.template):
            parts.append(literal)
            if field is not None:
                value = values.get(field)
                if value is None or value == "":
                    return known.description
                parts.append(shown(value))
    except ValueError:
        return known.description
    return one_line("".join(parts))[:SUMMARY]
