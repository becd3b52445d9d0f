"""The rules a catalog must keep, as one pure function `Catalog` runs on itself.

- ids are unique per kind; every type's category exists;
- a template names only `ENVELOPE_PLACEHOLDERS` and fields of the type's model;
- severity is `critical` exactly for the critical alerts;
- an alias applies to a known type, names neither itself nor a group, tests a field the
  type's model defines, and never makes a non-critical type answer to a critical type's id;
- group members are known ids, and no group contains itself;
- a legacy name is free and points at a type;
- only alias-only ids are given a family of their own;
- a resolution pairs two known types.
"""

from __future__ import annotations

from collections import Counter
from string import Formatter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from herald_core.catalog.model import Catalog

ENVELOPE_PLACEHOLDERS = frozenset({"user", "app_name", "app_id", "owner_id", "addon_id", "rack"})


def catalog_problems(catalog: Catalog) -> list[str]:
    """Every rule `catalog` breaks, as sentences; empty when it is consistent. Pure."""
    return [
        *_duplicates("type", [t.id for t in catalog.types()]),
        *_duplicates("category", [c.id for c in catalog.categories()]),
        *_duplicates("group", [g.id for g in catalog.groups()]),
        *_duplicates("alias", [(a.id, a.type) for a in catalog.aliases()]),
        *_type_problems(catalog),
        *_alias_problems(catalog),
        *_group_problems(catalog),
        *_legacy_problems(catalog),
        *_family_problems(catalog),
        *_resolution_problems(catalog),
    ]


def _type_problems(catalog: Catalog) -> list[str]:
    categories = {c.id for c in catalog.categories()}
    problems = []
    for event_type in catalog.types():
        if event_type.category not in categories:
            problems.append(f"{event_type.id}: unknown category {event_type.category!r}")
        fields = set(event_type.type_data_model.model_fields)
        unknown = _placeholders(event_type.template) - ENVELOPE_PLACEHOLDERS - fields
        if unknown:
            problems.append(f"{event_type.id}: template names unknown {sorted(unknown)}")
        if event_type.critical != (event_type.severity == "critical"):
            problems.append(f"{event_type.id}: severity is critical iff a critical alert")
    return problems


def _alias_problems(catalog: Catalog) -> list[str]:
    problems = []
    for alias in catalog.aliases():
        source = catalog.get(alias.type)
        target = catalog.get(alias.id)
        if source is None:
            problems.append(f"alias {alias.id}: unknown type {alias.type!r}")
        elif alias.id == alias.type or catalog.group(alias.id) is not None:
            problems.append(f"alias {alias.id}: names itself or a group")
        elif alias.when.field and alias.when.field not in source.type_data_model.model_fields:
            problems.append(f"alias {alias.id}: {alias.type} has no field {alias.when.field!r}")
        elif target is not None and target.critical and not source.critical:
            problems.append(f"alias {alias.id}: would make non-critical {alias.type} critical")
    return problems


def _group_problems(catalog: Catalog) -> list[str]:
    groups = {g.id: g.members for g in catalog.groups()}
    problems = [
        f"group {g.id}: unknown member {m!r}"
        for g in catalog.groups()
        for m in g.members
        if not catalog.is_known(m)
    ]
    problems += [f"group {g}: also a type id" for g in groups if catalog.get(g) is not None]
    problems += [f"group {g}: contains itself" for g in groups if _reaches(groups, g, g)]
    return problems


def _reaches(groups: dict[str, tuple[str, ...]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    frontier = list(groups[start])
    while frontier:
        member = frontier.pop()
        if member == goal:
            return True
        if member in groups and member not in seen:
            seen.add(member)
            frontier.extend(groups[member])
    return False


def _legacy_problems(catalog: Catalog) -> list[str]:
    return [
        f"legacy name {old!r} → {new!r}: already an id, or not a type"
        for old, new in catalog.legacy_names().items()
        if catalog.is_known(old) or catalog.get(new) is None
    ]


def _duplicates(kind: str, keys: list[Any]) -> list[str]:
    return [f"duplicate {kind} {k!r}" for k, n in Counter(keys).items() if n > 1]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def _family_problems(catalog: Catalog) -> list[str]:
    extra = catalog.alias_families().keys() - catalog.alias_only_ids()
    return [f"alias family {a}: not an alias-only id" for a in sorted(extra)]


def _resolution_problems(catalog: Catalog) -> list[str]:
    problems = []
    for resolving, resolved in catalog.resolutions().items():
        if catalog.get(resolving) is None or catalog.get(resolved) is None:
            problems.append(f"resolution {resolving} → {resolved}: unknown type")
    return problems
