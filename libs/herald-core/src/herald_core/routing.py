"""Who gets an event: the router's pure core (DESIGN.md §4, STYLE.md §3).

Every function here is pure: the same inputs always give the same answer, with no I/O, clock
or logging. The shell (`herald_router.app`) feeds them the config view and the current time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from herald_core.catalog import CATALOG, answers_to
from herald_core.deliveries import Delivery
from herald_core.envelope import Event
from herald_core.notifiers import Notifier, Preset, Scope, Selection


def in_scope(notifier: Notifier, event: Event) -> bool:
    """True when the event concerns what the notifier watches (its app, owner or user)."""
    if notifier.scope is Scope.APP:
        return event.app_id is not None and event.app_id == notifier.app_id
    if notifier.scope is Scope.OWNER:
        return (
            event.owner_id == notifier.owner_id
            and (not notifier.app_ids or event.app_id in notifier.app_ids)
            and (not notifier.addon_ids or event.addon_id in notifier.addon_ids)
            and (not notifier.racks or event.rack in notifier.racks)
        )
    return event.user is not None and event.user.id == notifier.user_id


def preset_ids(preset: Preset) -> frozenset[str]:
    """The ids a preset stands for, read from the catalog now (so catalog changes apply)."""
    if preset is Preset.CRITICAL_ALERTS:
        return CATALOG.critical_ids()
    return CATALOG.expand(preset.value)


def is_alert(answers: frozenset[str]) -> bool:
    """True when an event answers to any alert type (what `send_all_alerts` selects)."""
    return bool(answers & CATALOG.expand("alerts"))


def selects(selection: Selection, answers: frozenset[str]) -> bool:
    """True when the selection wants an event answering to `answers`."""
    if selection.send_all_events:
        return True
    if selection.send_all_alerts and is_alert(answers):
        return True
    if selection.preset is not None and answers & preset_ids(selection.preset):
        return True
    return bool(answers & frozenset(selection.selected_event_ids))


def is_forwarded(event: Event) -> bool:
    """False for audit-only types, which no selection can forward."""
    return event.type not in CATALOG.audit_only_ids()


def route(event: Event, notifiers: Iterable[Notifier], routed_at: datetime) -> list[Delivery]:
    """One delivery per active notifier in scope whose selection wants the event. Pure."""
    if not is_forwarded(event):
        return []
    answers = answers_to(event.type, event.type_data)
    return [
        Delivery.for_(event, notifier, routed_at)
        for notifier in sorted(notifiers, key=lambda n: n.id)
        if notifier.active and in_scope(notifier, event) and selects(notifier.selection, answers)
    ]
