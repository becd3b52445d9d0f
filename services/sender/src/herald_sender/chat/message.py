"""`summarize`: a delivery as a service-neutral `ChatMessage`, which each service then renders.

Every catalog type gets the generic treatment: its display name as the title, its catalog
template filled from the event as the summary (the catalog description when the event lacks a
field the template names), the app, rack, status and actor, then the `type_data` fields as
facts. Four kinds get their own facts first, in the order a reader looks for them:

    deployment  status, duration, git ref, pusher, deployment / release / build id, stack
    crash       crash count, container, exit code, reason
    alert       firing or resolved, alert name, metric, value, limit
    budget      spend, threshold, cap, message

Strings here are raw (unescaped, uncut but for `limits.FACT_VALUE`): escaping and the services'
limits are the renderers' business (`escape`, `limits.fit`).
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from herald_core.catalog import CATALOG, EventType, Severity
from herald_core.deliveries import Delivery
from herald_core.envelope import Event

from herald_sender.chat.limits import FACT_VALUE, SUMMARY, one_line
from herald_sender.chat.options import ChatOptions

MAX_LINKS = 5
MAX_URL = 1000


class Kind(StrEnum):
    DEPLOYMENT = "deployment"
    CRASH = "crash"
    ALERT = "alert"
    BUDGET = "budget"
    GENERIC = "generic"


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
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class ChatMessage:
    """What every chat service shows of one event, before escaping and cutting."""

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
    def subject(self) -> str:
        """`Display name: status · app`, one line: titles, previews and fallbacks.

        The status is left out when the display name already says it ("Alert resolved").
        """
        status = self.status or ""
        said = status.lower() in self.display_name.lower()
        suffix = f": {status}" if status and not said else ""
        app = f" · {self.app_name}" if self.app_name else ""
        return one_line(f"{self.display_name}{suffix}{app}")

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
_SHA = re.compile(r"[0-9a-f]{40}")
_URL_FORBIDDEN = re.compile(r"[\s<>\"'`|\\{}^\x00-\x1f\x7f]")


def summarize(delivery: Delivery, options: ChatOptions) -> ChatMessage:
    """The service-neutral summary of `delivery`. Pure; never raises on odd `type_data`."""
    event = delivery.event
    known = CATALOG.get(event.type)
    data = event.type_data
    kind = _kind(event.type, known)
    actor = _actor(event)
    status = _status(kind, event.type, data)
    severity = known.severity if known else Severity.INFO
    facts, used = _facts(kind, event, actor, status)
    extra = [
        Fact(_label(key), _shown(value))
        for key, value in data.items()
        if key not in used
        and not key.endswith("_url")
        and key != "notifier_ids"
        and value not in (None, "", [], {})
    ]
    return ChatMessage(
        event_id=event.id,
        event_type=event.type,
        display_name=known.display_name if known else _label(event.type),
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
        links=_links(event, options),
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
    return _shown(raw)


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


def _facts(
    kind: Kind, event: Event, actor: str | None, status: str | None
) -> tuple[list[Fact], set[str]]:
    """The common facts (app, rack, status, actor), then the kind's; and the keys they used."""
    facts = [
        Fact(label, value)
        for label, value in (
            ("App", _app_name(event)),
            ("Rack", event.rack),
            ("Status", status),
            ("Actor", actor),
        )
        if value
    ]
    data = event.type_data
    used = {"status", "actor"} | (set() if event.app_name or event.app_id else {"stack_name"})
    used |= _CONSUMED.get(kind, set())
    for label, key, show in _KIND_FACTS.get(kind, ()):
        value = data.get(key)
        if value is None or value == "" or (key == "pusher" and value == actor):
            used.add(key)
            continue
        facts.append(Fact(label, show(value, data)))
        used.add(key)
    return facts, used


def _plain(value: Any, data: Mapping[str, Any]) -> str:
    return _shown(value)


def _git_ref(value: Any, data: Mapping[str, Any]) -> str:
    text = _shown(value)
    return text[:12] if _SHA.fullmatch(text) else text


def _duration(value: Any, data: Mapping[str, Any]) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return _shown(value)
    hours, rest = divmod(value, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or hours else []
    return " ".join([*parts, f"{seconds}s"])


def _container(value: Any, data: Mapping[str, Any]) -> str:
    index = data.get("container_index")
    return f"{_shown(value)}-{index}" if isinstance(index, int) else _shown(value)


def _money(value: Any, data: Mapping[str, Any]) -> str:
    currency = data.get("currency")
    return f"{_shown(value)} {_shown(currency)}" if currency else _shown(value)


def _limit(value: Any, data: Mapping[str, Any]) -> str:
    below = data.get("send_when_below") is True
    return f"{_shown(value)} ({'alerts below' if below else 'alerts above'})"


_Shower = Callable[[Any, Mapping[str, Any]], str]
_KIND_FACTS: Mapping[Kind, tuple[tuple[str, str, _Shower], ...]] = {
    Kind.DEPLOYMENT: (
        ("Duration", "duration", _duration),
        ("Git ref", "git_ref", _git_ref),
        ("Pusher", "pusher", _plain),
        ("Deployment", "deployment_id", _plain),
        ("Release", "release_id", _plain),
        ("Build", "build_id", _plain),
        ("Stack", "stack", _plain),
        ("Message", "message", _plain),
    ),
    Kind.CRASH: (
        ("Crashes", "crash_count", _plain),
        ("Container", "container_type", _container),
        ("Exit code", "exit_code", _plain),
        ("Reason", "reason", _plain),
    ),
    Kind.ALERT: (
        ("Alert", "name", _plain),
        ("Metric", "metric", _plain),
        ("Value", "value", _plain),
        ("Limit", "limit", _limit),
        ("Container type", "container_type", _plain),
    ),
    Kind.BUDGET: (
        ("Spend", "spend", _money),
        ("Threshold", "threshold", _money),
        ("Cap", "cap", _money),
        ("Message", "message", _plain),
    ),
}


_CONSUMED: Mapping[Kind, set[str]] = {
    Kind.CRASH: {"container_index"},
    Kind.ALERT: {"send_when_below"},
    Kind.BUDGET: {"currency"},
}


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
                parts.append(_shown(value))
    except ValueError:
        return known.description
    return one_line("".join(parts))[:SUMMARY]


def _links(event: Event, options: ChatOptions) -> tuple[Link, ...]:
    found: list[Link] = []
    dashboard = _fill_url(options.dashboard_url_template, event)
    if dashboard:
        found.append(Link("Open dashboard", dashboard))
    for key, value in event.type_data.items():
        if key.endswith("_url") and isinstance(value, str) and _safe_url(value):
            found.append(Link(_label(key.removesuffix("_url")) or "Link", value))
    event_link = _fill_url(options.event_url_template or "", event)
    if event_link:
        found.append(Link("View event", event_link))
    return tuple(found[:MAX_LINKS])


def _fill_url(template: str, event: Event) -> str | None:
    """The template with the event's values URL-quoted; None if one is unknown or unsafe."""
    values = {
        "app_name": event.app_name,
        "app_id": event.app_id,
        "owner_id": event.owner_id,
        "rack": event.rack,
        "event_id": event.id,
        "event_type": event.type,
    }
    parts: list[str] = []
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field is not None:
                value = values.get(field)
                if not value:
                    return None
                parts.append(quote(value, safe=""))
    except ValueError:
        return None
    url = "".join(parts)
    return url if _safe_url(url) else None


def _safe_url(url: str) -> bool:
    """An absolute http(s) URL without characters that chat link syntaxes treat specially."""
    return (
        url.lower().startswith(("https://", "http://"))
        and len(url) <= MAX_URL
        and len(url) > len("https://")
        and not _URL_FORBIDDEN.search(url)
    )


def _label(key: str) -> str:
    words = re.sub(r"[_:.\-]+", " ", key).strip()
    return words[:1].upper() + words[1:]


def _shown(value: Any) -> str:
    """One value as one line of at most FACT_VALUE characters."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = format(value, ".15g")
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(_shown(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    flat = one_line(text)
    return flat if len(flat) <= FACT_VALUE else flat[: FACT_VALUE - 1] + "…"
