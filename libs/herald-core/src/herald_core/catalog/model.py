"""The shapes of the event catalog (docs/architecture.md): types, categories, aliases, groups.

    EventType   one `type` producers may send, with its family, category, flags and the
                pydantic model of its `type_data`
    Alias       "events of type T whose type_data satisfies C also answer to id X"; X is a
                Clever Cloud event id (`DEPLOYMENT_SUCCESS`) or another family's type id
    Group       a named set of ids (types, aliases or groups): Clever Cloud meta-events and
                Herald presets such as `deployments` and `critical_alerts`
    Catalog     all of the above, checked for consistency once, with the look-ups routing needs

Everything here is immutable plain data; nothing does I/O.

Templates are short sentences with `{placeholder}` fields. A placeholder is one of
`consistency.ENVELOPE_PLACEHOLDERS` (filled from the envelope) or a field of the type's
`type_data` model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel

from herald_core.catalog.consistency import catalog_problems


class Family(StrEnum):
    """Which platform's vocabulary an id comes from, or Herald's own."""

    SCALINGO = "scalingo"
    CLEVERCLOUD = "clevercloud"
    CONVOX = "convox"
    CLOUD66 = "cloud66"
    HERALD = "herald"


class Severity(StrEnum):
    """How loudly an event should be presented; `critical` exactly for critical alerts."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Category:
    """A heading event types are listed under (Scalingo `GET /v1/event_categories`)."""

    id: str
    name: str
    position: int


@dataclass(frozen=True)
class EventType:
    """One event type of the catalog."""

    id: str
    display_name: str
    description: str
    category: str
    family: Family
    type_data_model: type[BaseModel]
    template: str
    severity: Severity = Severity.INFO
    critical: bool = False
    audit_only: bool = False
    default_email: bool = True


@dataclass(frozen=True)
class Condition:
    """A test on one `type_data` field; `always` when `field` is None.

    `in` holds when the field is present and its value is one of `values`; `not_in` holds when
    the field is absent or its value is none of them ("anything else").
    """

    field: str | None = None
    op: Literal["always", "in", "not_in"] = "always"
    values: tuple[str, ...] = ()

    @classmethod
    def equals(cls, field_name: str, *values: str) -> Condition:
        """Holds when `type_data[field_name]` is one of `values`."""
        return cls(field_name, "in", values)

    @classmethod
    def differs(cls, field_name: str, *values: str) -> Condition:
        """Holds when `type_data[field_name]` is missing or none of `values`."""
        return cls(field_name, "not_in", values)

    def holds(self, type_data: Mapping[str, Any]) -> bool:
        """Whether the condition is true of `type_data`. Pure; never raises."""
        if self.field is None or self.op == "always":
            return True
        present = self.field in type_data
        value = type_data.get(self.field)
        if self.op == "in":
            return present and value in self.values
        return not present or value not in self.values

    def as_data(self) -> dict[str, Any]:
        """A JSON-ready description, for `catalog.v1.json`."""
        if self.field is None:
            return {"op": "always"}
        return {"field": self.field, "op": self.op, "values": list(self.values)}


ALWAYS = Condition()


@dataclass(frozen=True)
class Alias:
    """Events of type `type` answer to `id` too when `when` holds on their type_data."""

    id: str
    type: str
    when: Condition = ALWAYS
    note: str = ""


@dataclass(frozen=True)
class Group:
    """A named selection: an event answers to the group when it answers to any member."""

    id: str
    name: str
    description: str
    members: tuple[str, ...]
    family: Family = Family.HERALD


class Catalog:
    """The event catalog: types, categories, aliases, groups and legacy names, checked once.

    Raises ValueError at construction when the data contradicts itself (an alias of an unknown
    type, a group member nobody declares, a cycle of groups, a template placeholder the type's
    model does not define, …), so a bad edit fails at import time and in every test.
    """

    def __init__(
        self,
        *,
        types: Iterable[EventType],
        categories: Iterable[Category],
        aliases: Iterable[Alias] = (),
        groups: Iterable[Group] = (),
        legacy: Mapping[str, str] | None = None,
        alias_families: Mapping[str, Family] | None = None,
        resolutions: Mapping[str, str] | None = None,
    ) -> None:
        self._types = tuple(types)
        self._by_id = {t.id: t for t in self._types}
        self._categories = tuple(sorted(categories, key=lambda c: (c.position, c.id)))
        self._aliases = tuple(aliases)
        self._groups = tuple(groups)
        self._group_by_id = {g.id: g for g in self._groups}
        self._legacy = dict(legacy or {})
        self._alias_families = dict(alias_families or {})
        self._resolutions = dict(resolutions or {})
        self._aliases_of: dict[str, tuple[Alias, ...]] = {
            t.id: tuple(a for a in self._aliases if a.type == t.id) for t in self._types
        }
        aliased: dict[str, set[str]] = {}
        for alias in self._aliases:
            aliased.setdefault(alias.id, set()).add(alias.type)
        self._aliased = {k: frozenset(v) for k, v in aliased.items()}
        self._critical = frozenset(t.id for t in self._types if t.critical)
        self._audit_only = frozenset(t.id for t in self._types if t.audit_only)
        parents: dict[str, set[str]] = {}
        for group in self._groups:
            for member in group.members:
                parents.setdefault(member, set()).add(group.id)
        self._parents = {k: frozenset(v) for k, v in parents.items()}
        problems = catalog_problems(self)
        if problems:
            raise ValueError("inconsistent event catalog: " + "; ".join(problems))

    def get(self, type_id: str) -> EventType | None:
        """The event type with this exact id, or None. Pure."""
        return self._by_id.get(type_id)

    def types(self) -> tuple[EventType, ...]:
        """Every event type, by family then declaration order (stable). Pure."""
        return self._types

    def categories(self) -> tuple[Category, ...]:
        """Every category, by position. Pure."""
        return self._categories

    def aliases(self) -> tuple[Alias, ...]:
        """Every alias rule, in declaration order. Pure."""
        return self._aliases

    def aliases_of(self, type_id: str) -> tuple[Alias, ...]:
        """The alias rules that apply to events of `type_id` (empty for unknown ids). Pure."""
        return self._aliases_of.get(type_id, ())

    def groups(self) -> tuple[Group, ...]:
        """Every group (Clever Cloud meta-events and Herald presets). Pure."""
        return self._groups

    def group(self, group_id: str) -> Group | None:
        """The group with this id, or None. Pure."""
        return self._group_by_id.get(group_id)

    def groups_containing(self, member_id: str) -> frozenset[str]:
        """The ids of the groups that list `member_id` directly. Pure."""
        return self._parents.get(member_id, frozenset())

    def legacy_names(self) -> Mapping[str, str]:
        """Older type names producers may still send, mapped to the current type id. Pure."""
        return dict(self._legacy)

    def canonical(self, type_id: str) -> str | None:
        """The event type `type_id` names: itself, the current id of a legacy name, else None.

        Pure. Alias-only and group ids are not event types: they give None.
        """
        if type_id in self._by_id:
            return type_id
        return self._legacy.get(type_id)

    def family_of(self, selection_id: str) -> Family | None:
        """The family whose vocabulary `selection_id` belongs to: a type's, a group's, or the
        family an alias-only id was declared for (Clever Cloud names many happenings only by
        alias); None for an unknown id. Pure."""
        event_type = self._by_id.get(selection_id)
        if event_type is not None:
            return event_type.family
        group = self._group_by_id.get(selection_id)
        if group is not None:
            return group.family
        return self._alias_families.get(selection_id)

    def alias_families(self) -> Mapping[str, Family]:
        """The family of each alias-only id. Pure."""
        return dict(self._alias_families)

    def alias_only_ids(self) -> frozenset[str]:
        """The ids that are aliases and neither a type nor a group. Pure."""
        return frozenset(
            a for a in self._aliased if a not in self._by_id and a not in self._group_by_id
        )

    def resolved_by(self, type_id: str) -> str | None:
        """The type whose incident an event of `type_id` resolves (`app_alert_resolved` →
        `app_alert_triggered`), else None. Pure."""
        return self._resolutions.get(type_id)

    def resolutions(self) -> Mapping[str, str]:
        """Every resolving type and the type it resolves. Pure."""
        return dict(self._resolutions)

    def critical_ids(self) -> frozenset[str]:
        """The ids of the critical alerts (the default notifier's preset). Pure."""
        return self._critical

    def audit_only_ids(self) -> frozenset[str]:
        """The ids of the types that are recorded but never forwarded. Pure."""
        return self._audit_only

    def is_known(self, selection_id: str) -> bool:
        """Whether a selection may name this id: a type, an alias or a group id. Pure."""
        return (
            selection_id in self._by_id
            or selection_id in self._aliased
            or selection_id in self._group_by_id
        )

    def expand(self, selection_id: str) -> frozenset[str]:
        """The type ids whose events may answer to `selection_id`, conditions aside. Pure.

        A type gives itself and the types aliased to it, an alias id the types it applies to,
        a group the union over its members (recursively), a legacy name its type; anything
        else the empty set.
        """
        type_id = self._legacy.get(selection_id, selection_id)
        found = set(self._aliased.get(type_id, ()))
        if type_id in self._by_id:
            found.add(type_id)
        group = self._group_by_id.get(type_id)
        for member in group.members if group else ():
            found |= self.expand(member)
        return frozenset(found)
