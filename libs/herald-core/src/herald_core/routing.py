"""Who gets an event, and why not: the router's pure core (docs/routing.md).

`explain` judges every candidate notifier and says, for each, whether it receives the event or
which rule excluded it; `route` keeps the deliveries. The router runs `route`; the API's
`POST /v1/events/simulate` shows `explain`. Both are pure: the same inputs always give the same
answer, with no I/O, clock or logging (the caller passes the time).

Rules, in the order they are checked:
1. audit-only types are never forwarded (Convox budget configuration and overrides);
2. inactive notifiers get nothing;
3. scope: an app notifier gets its app's events; an owner notifier every event of its owner
   (the app's current owner), narrowed to its listed apps and add-ons (an event of either
   kind) and to its racks; a user notifier the
   events of the owners the user belongs to and of their own account;
4. selection: all events, all alerts, a preset (resolved against the catalog now), or selected
   ids matched against every id the event answers to (aliases and groups); an alert event also
   reaches the notifiers its alert lists (`type_data.notifier_ids`);
5. an e-mail notifier with nobody to mail gets nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache

from herald_core.catalog import CATALOG, answers_to
from herald_core.deliveries import Delivery, Recipient
from herald_core.directory import Directory
from herald_core.envelope import Event
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.recipients import resolve_recipients
from herald_core.topics import Channel


class Exclusion(StrEnum):
    """Why a notifier does not receive an event."""

    AUDIT_ONLY = "audit_only"
    INACTIVE = "inactive"
    SCOPE = "scope"
    SELECTION = "selection"
    NO_RECIPIENTS = "no_recipients"


@dataclass(frozen=True)
class Decision:
    """One notifier's verdict for one event."""

    notifier: Notifier
    exclusion: Exclusion | None = None
    detail: str = ""
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)

    @property
    def delivered(self) -> bool:
        return self.exclusion is None


def event_owner(event: Event, directory: Directory) -> str | None:
    """The owner the event belongs to now: its app's current owner, else the stated one."""
    return directory.owner_of(event.app_id, event.owner_id)


def in_scope(notifier: Notifier, event: Event, directory: Directory | None = None) -> bool:
    """True when the event concerns what the notifier watches (its app, owner or user)."""
    directory = directory or Directory()
    if notifier.scope is Scope.APP:
        return event.app_id is not None and event.app_id == notifier.app_id
    owner = event_owner(event, directory)
    if notifier.scope is Scope.OWNER:
        return (
            owner is not None
            and owner == notifier.owner_id
            and in_resources(notifier, event)
            and (not notifier.racks or event.rack in notifier.racks)
        )
    user_id = notifier.user_id or ""
    return owner is not None and owner in directory.owners_of_user(user_id)


def in_resources(notifier: Notifier, event: Event) -> bool:
    """An owner notifier's app and add-on lists are one list of resources (Clever Cloud's hook
    `scope`): without either it watches everything; otherwise the event's app or add-on must
    be listed."""
    if not notifier.app_ids and not notifier.addon_ids:
        return True
    return (event.app_id is not None and event.app_id in notifier.app_ids) or (
        event.addon_id is not None and event.addon_id in notifier.addon_ids
    )


@cache
def preset_ids(preset: Preset) -> frozenset[str]:
    """The ids a preset stands for, read from the catalog (never stored in notifiers, so a
    catalog change reaches every notifier with the preset at the next start)."""
    if preset is Preset.CRITICAL_ALERTS:
        return CATALOG.critical_ids()
    return CATALOG.expand(preset.value)


@cache
def _alert_ids() -> frozenset[str]:
    return CATALOG.expand("alerts")


def is_alert(answers: frozenset[str]) -> bool:
    """True when an event answers to any alert type (what `send_all_alerts` selects)."""
    return bool(answers & _alert_ids())


def selects(selection: Selection, answers: frozenset[str]) -> bool:
    """True when the selection wants an event answering to `answers`."""
    if selection.send_all_events:
        return True
    if selection.send_all_alerts and is_alert(answers):
        return True
    if selection.preset is not None and answers & preset_ids(selection.preset):
        return True
    return bool(answers & frozenset(selection.selected_event_ids))


def listed_by_alert(notifier: Notifier, event: Event) -> bool:
    """True when the event lists this notifier (`type_data.notifier_ids`). Only alert events
    route by it: `alert_added` and `alert_deleted` carry the rule's list too, but they are
    ordinary events that only notifiers selecting them get."""
    listed = event.type_data.get("notifier_ids")
    return isinstance(listed, list) and notifier.id in listed


def is_forwarded(event: Event) -> bool:
    """False for audit-only types, which no selection can forward."""
    return event.type not in CATALOG.audit_only_ids()


def decide(
    notifier: Notifier, event: Event, answers: frozenset[str], directory: Directory
) -> Decision:
    """The verdict for one notifier (rules 2 to 5; rule 1 is the caller's)."""
    if not notifier.active:
        return Decision(notifier, Exclusion.INACTIVE, "the notifier is not active")
    if not in_scope(notifier, event, directory):
        return Decision(
            notifier, Exclusion.SCOPE, f"the event is outside the notifier's {notifier.scope} scope"
        )
    listed = is_alert(answers) and listed_by_alert(notifier, event)
    if not (selects(notifier.selection, answers) or listed):
        return Decision(notifier, Exclusion.SELECTION, f"{event.type} is not selected")
    recipients = resolve_recipients(notifier, event, directory)
    if notifier.platform is Channel.EMAIL and not recipients:
        return Decision(notifier, Exclusion.NO_RECIPIENTS, "nobody to e-mail")
    return Decision(notifier, recipients=recipients)


def explain(
    event: Event, notifiers: Iterable[Notifier], directory: Directory | None = None
) -> list[Decision]:
    """A verdict for every candidate notifier, in notifier id order. Pure."""
    directory = directory or Directory()
    ordered = sorted(notifiers, key=lambda n: n.id)
    if not is_forwarded(event):
        return [
            Decision(n, Exclusion.AUDIT_ONLY, f"{event.type} is audit-only: never forwarded")
            for n in ordered
        ]
    answers = answers_to(event.type, event.type_data)
    return [decide(n, event, answers, directory) for n in ordered]


def route(
    event: Event,
    notifiers: Iterable[Notifier],
    routed_at: datetime,
    directory: Directory | None = None,
    *,
    traceparent: str | None = None,
) -> list[Delivery]:
    """One delivery per notifier that receives the event. Pure."""
    return [
        Delivery.for_(
            event, d.notifier, routed_at, recipients=d.recipients, traceparent=traceparent
        )
        for d in explain(event, notifiers, directory)
        if d.delivered
    ]
