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
4. families: a notifier with `families` gets only events that answer to a type or alias id of
   one of them (a Convox integration: Convox's events, and other families' events that Convox
   names too, such as an alert firing);
5. selection: all events, all alerts, a preset (resolved against the catalog now), or selected
   ids matched against every id the event answers to (aliases and groups); an alert event also
   reaches the notifiers its alert lists (`type_data.notifier_ids`); a resolution (an alert
   resolved) answers to its incident's ids too, so whoever heard the alert fire hears it end;
6. an e-mail notifier with nobody to mail gets nothing;
7. one default mail per person: among the default notifiers (`is_default`: an app's default
   notifier, an owner's default deployment hook, a user's account e-mail), an address gets the
   event from the first only, in the order app, owner, user scope, then id; a default notifier
   left with nobody gets nothing. Notifiers that users configured are never narrowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache

from herald_core.catalog import CATALOG, Condition, Family, answers_to
from herald_core.deliveries import Delivery, Recipient, delivery_id
from herald_core.directory import Directory
from herald_core.envelope import Event
from herald_core.notifiers import NotifierLike, Preset, Scope, SelectionLike
from herald_core.recipients import resolve_recipients
from herald_core.topics import Channel
from herald_core.tracing import child_value


class Exclusion(StrEnum):
    """Why a notifier does not receive an event."""

    AUDIT_ONLY = "audit_only"
    INACTIVE = "inactive"
    SCOPE = "scope"
    FAMILY = "family"
    SELECTION = "selection"
    NO_RECIPIENTS = "no_recipients"
    DEFAULT_DUPLICATE = "default_duplicate"


@dataclass(frozen=True)
class Decision:
    """One notifier's verdict for one event."""

    notifier: NotifierLike
    exclusion: Exclusion | None = None
    detail: str = ""
    recipients: tuple[Recipient, ...] = field(default_factory=tuple)

    @property
    def delivered(self) -> bool:
        return self.exclusion is None


def event_owner(event: Event, directory: Directory) -> str | None:
    """The owner the event belongs to now: its app's current owner, else the stated one."""
    return directory.owner_of(event.app_id, event.owner_id)


def in_scope(notifier: NotifierLike, event: Event, directory: Directory | None = None) -> bool:
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


def in_resources(notifier: NotifierLike, event: Event) -> bool:
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


def selects(selection: SelectionLike, answers: frozenset[str]) -> bool:
    """True when the selection wants an event answering to `answers`."""
    if selection.send_all_events:
        return True
    if selection.send_all_alerts and is_alert(answers):
        return True
    if selection.preset is not None and answers & preset_ids(selection.preset):
        return True
    return bool(answers & frozenset(selection.selected_event_ids))


def listed_by_alert(notifier: NotifierLike, event: Event) -> bool:
    """True when the event lists this notifier (`type_data.notifier_ids`). Only alert events
    route by it: `alert_added` and `alert_deleted` carry the rule's list too, but they are
    ordinary events that only notifiers selecting them get."""
    listed = event.type_data.get("notifier_ids")
    return isinstance(listed, list) and notifier.id in listed


def answer_families(answers: frozenset[str]) -> frozenset[Family]:
    """The families whose type or alias ids are among `answers` (groups aside: a Herald
    preset says nothing of a family). Pure."""
    found = set()
    for answer in answers:
        if CATALOG.group(answer) is None and (family := CATALOG.family_of(answer)) is not None:
            found.add(family)
    return frozenset(found)


def selection_answers(event: Event, answers: frozenset[str]) -> frozenset[str]:
    """The ids selections match: the event's own, plus, for a resolution, those of the incident
    it resolves (whoever was told `app_alert_triggered` is told `app_alert_resolved`). Pure."""
    type_id = CATALOG.canonical(event.type)
    resolved = CATALOG.resolved_by(type_id) if type_id is not None else None
    if resolved is None:
        return answers
    return answers | answers_to(resolved, event.type_data)


def is_forwarded(event: Event) -> bool:
    """False for audit-only types, which no selection can forward."""
    return event.type not in CATALOG.audit_only_ids()


@dataclass(frozen=True)
class Answers:
    """What an event answers to, worked out once per event for every notifier's verdict."""

    own: frozenset[str]
    """Its type, aliases and groups (`answers_to`)."""
    selected: frozenset[str]
    """What selections match: `own`, plus the incident's ids for a resolution."""
    families: frozenset[Family]
    """The families of its type and alias ids."""

    @classmethod
    def of(cls, event: Event) -> Answers:
        """Worked out once per event type and outcome of the alias conditions that apply to
        it: the answer depends on nothing else, and the router asks for every event."""
        key = (event.type, tuple(c.holds(event.type_data) for c in _conditions_of(event.type)))
        found = _ANSWERS.get(key)
        if found is None:
            if len(_ANSWERS) >= _ANSWERS_KEPT:  # unknown types are unbounded: start again
                _ANSWERS.clear()
            found = _ANSWERS[key] = cls._work_out(event)
        return found

    @classmethod
    def _work_out(cls, event: Event) -> Answers:
        own = answers_to(event.type, event.type_data)
        return cls(own, selection_answers(event, own), answer_families(own))


_ANSWERS: dict[tuple[str, tuple[bool, ...]], Answers] = {}
_ANSWERS_KEPT = 4096


@cache
def _conditions_of(event_type: str) -> tuple[Condition, ...]:
    """The alias conditions `Answers.of` depends on for an event of `event_type`: those of its
    type's aliases, and of the aliases of the incident type it resolves, if any."""
    type_id = CATALOG.canonical(event_type)
    if type_id is None:
        return ()
    types = [type_id]
    if (resolved := CATALOG.resolved_by(type_id)) is not None:
        types.append(resolved)
    return tuple(alias.when for t in types for alias in CATALOG.aliases_of(t))


def _exclusion(
    notifier: NotifierLike, event: Event, answers: Answers, directory: Directory
) -> Exclusion | None:
    """Rules 2 to 5 for one notifier, without words: None when they let the event through."""
    if not notifier.active:
        return Exclusion.INACTIVE
    if not in_scope(notifier, event, directory):
        return Exclusion.SCOPE
    if notifier.families and not answers.families & set(notifier.families):
        return Exclusion.FAMILY
    listed = is_alert(answers.own) and listed_by_alert(notifier, event)
    if not (selects(notifier.selection, answers.selected) or listed):
        return Exclusion.SELECTION
    return None


def _why(exclusion: Exclusion, notifier: NotifierLike, event: Event) -> str:
    """The words for rules 2 to 5's exclusions (`explain` only: routing never needs them)."""
    if exclusion is Exclusion.INACTIVE:
        return "the notifier is not active"
    if exclusion is Exclusion.SCOPE:
        return f"the event is outside the notifier's {notifier.scope} scope"
    if exclusion is Exclusion.FAMILY:
        return f"{event.type} is not a {', '.join(notifier.families)} event"
    return f"{event.type} is not selected"


def _received(notifier: NotifierLike, event: Event, directory: Directory) -> Decision:
    """Rule 6, for a notifier that rules 2 to 5 let through."""
    recipients = resolve_recipients(notifier, event, directory)
    if notifier.platform is Channel.EMAIL and not recipients:
        return Decision(notifier, Exclusion.NO_RECIPIENTS, "nobody to e-mail")
    return Decision(notifier, recipients=recipients)


def decide(
    notifier: NotifierLike, event: Event, answers: Answers, directory: Directory
) -> Decision:
    """The verdict for one notifier (rules 2 to 6; rule 1 and 7 are the caller's)."""
    exclusion = _exclusion(notifier, event, answers, directory)
    if exclusion is not None:
        return Decision(notifier, exclusion, _why(exclusion, notifier, event))
    return _received(notifier, event, directory)


def explain(
    event: Event, notifiers: Iterable[NotifierLike], directory: Directory | None = None
) -> list[Decision]:
    """A verdict for every candidate notifier, in notifier id order. Pure."""
    directory = directory or Directory()
    ordered = sorted(notifiers, key=lambda n: n.id)
    if not is_forwarded(event):
        return [
            Decision(n, Exclusion.AUDIT_ONLY, f"{event.type} is audit-only: never forwarded")
            for n in ordered
        ]
    answers = Answers.of(event)
    return one_default_mail([decide(n, event, answers, directory) for n in ordered])


def _by_id(notifier: NotifierLike) -> str:
    return notifier.id


def receivers(
    event: Event, notifiers: Iterable[NotifierLike], directory: Directory | None = None
) -> list[Decision]:
    """The delivered verdicts of `explain`, in the same order, without judging the excluded
    candidates in words: what routing needs, at routing's pace. Pure.

    Equal to `[d for d in explain(...) if d.delivered]` (a unit test keeps them so): rule 7
    reads only delivered verdicts."""
    if not is_forwarded(event):
        return []
    directory = directory or Directory()
    answers = Answers.of(event)
    through = [
        _received(n, event, directory)
        for n in sorted(notifiers, key=_by_id)
        if _exclusion(n, event, answers, directory) is None
    ]
    return [d for d in one_default_mail([d for d in through if d.delivered]) if d.delivered]


_SCOPE_ORDER = {Scope.APP: 0, Scope.OWNER: 1, Scope.USER: 2}


def _default_mail_order(decision: Decision) -> tuple[int, str]:
    return _SCOPE_ORDER[decision.notifier.scope], decision.notifier.id


def one_default_mail(decisions: list[Decision]) -> list[Decision]:
    """Rule 7: each address gets the event from one default e-mail notifier at most. Pure.

    Default notifiers are visited in the order app, owner, user scope, then id; each keeps the
    addresses no earlier one mails, and one left with none is excluded. The list keeps its
    order; other notifiers are untouched.
    """
    defaults = sorted(
        (d for d in decisions if d.delivered and d.recipients and d.notifier.is_default),
        key=_default_mail_order,
    )
    if len(defaults) < 2:
        return decisions
    mailed: dict[str, str] = {}
    narrowed: dict[str, Decision] = {}
    for decision in defaults:
        fresh = tuple(r for r in decision.recipients if _key(r) not in mailed)
        if len(fresh) < len(decision.recipients):
            earlier = sorted({mailed[_key(r)] for r in decision.recipients if _key(r) in mailed})
            by = ", ".join(earlier)
            narrowed[decision.notifier.id] = (
                Decision(decision.notifier, recipients=fresh)
                if fresh
                else Decision(
                    decision.notifier,
                    Exclusion.DEFAULT_DUPLICATE,
                    f"every recipient gets this event from the default notifier {by}",
                )
            )
        for recipient in fresh:
            mailed[_key(recipient)] = decision.notifier.id
    return [narrowed.get(d.notifier.id, d) for d in decisions]


def _key(recipient: Recipient) -> str:
    return recipient.address.strip().lower()


def route(
    event: Event,
    notifiers: Iterable[NotifierLike],
    routed_at: datetime,
    directory: Directory | None = None,
    *,
    traceparent: str | None = None,
) -> list[Delivery]:
    """One delivery per notifier that receives the event. Pure.

    Each delivery carries a child of the event's `traceparent` (`herald_core.tracing.child`,
    seeded with the delivery id): the same trace id, a span of its own.
    """
    return [
        Delivery.for_(
            event,
            d.notifier,
            routed_at,
            recipients=d.recipients,
            traceparent=child_value(traceparent, delivery_id(event.id, d.notifier.id)),
        )
        for d in receivers(event, notifiers, directory)
    ]
