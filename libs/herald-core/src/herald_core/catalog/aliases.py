"""Every id an event answers to: its type, the aliases that hold, the groups around them.

Selections (a notifier's `selected_event_ids`, a Clever Cloud hook's events, a preset) match
against this set, so a Clever Cloud hook on `META_DEPLOYMENT_RESULT` fires on a Scalingo-family
`app_deployed`, and a Scalingo notifier on `app_deployed` on a Convox `app:promote:completed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from herald_core.catalog.builtin import CATALOG
from herald_core.catalog.model import Catalog, Family


def answers_to(
    event_type: str, type_data: Mapping[str, Any], *, catalog: Catalog | None = None
) -> frozenset[str]:
    """Every id an event of `event_type` with `type_data` answers to. Pure; never raises.

    The set holds the (canonical) type id, every alias id whose condition holds on
    `type_data`, and every group containing any of those, groups of groups included. An id
    that is not an event type (unknown, alias-only, a group) answers to nothing.
    """
    cat = CATALOG if catalog is None else catalog
    type_id = cat.canonical(event_type)
    if type_id is None:
        return frozenset()
    found = {type_id} | {a.id for a in cat.aliases_of(type_id) if a.when.holds(type_data)}
    frontier = list(found)
    while frontier:
        for group_id in cat.groups_containing(frontier.pop()):
            if group_id not in found:
                found.add(group_id)
                frontier.append(group_id)
    return frozenset(found)


def name_in_family(
    event_type: str, type_data: Mapping[str, Any], family: Family, *, catalog: Catalog | None = None
) -> str:
    """The id `family` gives this event: its own type when it is of that family, else the first
    (sorted) type or alias id of that family it answers to, else its own type. Pure.

    A Convox receiver switches on Convox's words: an `app_alert_triggered` is `alert:firing`
    to it, a successful `app_deployed` is `app:promote:completed`.
    """
    cat = CATALOG if catalog is None else catalog
    own = cat.canonical(event_type) or event_type
    if cat.family_of(own) is family:
        return own
    names = sorted(
        a
        for a in answers_to(own, type_data, catalog=cat)
        if cat.group(a) is None and cat.family_of(a) is family
    )
    return names[0] if names else own
