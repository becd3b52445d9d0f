"""Family tables: the compact form each family module declares its types in.

A family module lists rows `(id, display name, description)` per category, then maps ids to
templates, type_data models and flags. `build_types` turns that into `EventType`s and refuses
a table whose maps name ids it does not declare. `same_happening` spells "these types of
different families are one happening" as aliases in both directions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from herald_core.catalog.model import Alias, Condition, EventType, Family, Severity


@dataclass(frozen=True)
class FamilyTable:
    """One family's types as data, before they become `EventType`s (see `build_types`)."""

    family: Family
    rows: Mapping[str, tuple[tuple[str, str, str], ...]]  # category id → (id, name, description)
    templates: Mapping[str, str]
    models: Mapping[str, type[BaseModel]]
    default_model: type[BaseModel]
    warning: frozenset[str] = field(default_factory=frozenset)
    critical: frozenset[str] = field(default_factory=frozenset)
    audit_only: frozenset[str] = field(default_factory=frozenset)
    no_default_email: frozenset[str] = field(default_factory=frozenset)


def build_types(table: FamilyTable) -> tuple[EventType, ...]:
    """Turn a family table into event types, in table order. Pure.

    Raises:
        ValueError: when a template, model or flag names an id the table does not declare,
            or a declared id has no template.
    """
    ids = [row[0] for rows in table.rows.values() for row in rows]
    extra = (set(table.templates) | set(table.models) | table.warning | table.critical) | (
        table.audit_only | table.no_default_email
    )
    stray = extra - set(ids)
    missing = set(ids) - set(table.templates)
    if stray or missing:
        raise ValueError(
            f"{table.family}: stray ids {sorted(stray)}, no template {sorted(missing)}"
        )
    return tuple(
        EventType(
            id=type_id,
            display_name=name,
            description=description,
            category=category,
            family=table.family,
            type_data_model=table.models.get(type_id, table.default_model),
            template=table.templates[type_id],
            severity=_severity(type_id, table),
            critical=type_id in table.critical,
            audit_only=type_id in table.audit_only,
            default_email=type_id not in table.no_default_email,
        )
        for category, rows in table.rows.items()
        for type_id, name, description in rows
    )


def _severity(type_id: str, table: FamilyTable) -> Severity:
    if type_id in table.critical:
        return Severity.CRITICAL
    return Severity.WARNING if type_id in table.warning else Severity.INFO


def same_happening(
    note: str, members: Iterable[tuple[str, Condition]], also: Iterable[str] = ()
) -> tuple[Alias, ...]:
    """Aliases making `members` (type, condition) answer to each other's ids and to `also`. Pure.

    Use it when several families name one happening: each member type answers to the other
    members' type ids (when its own condition holds) and to every id in `also`.
    """
    pairs = list(members)
    extra = list(also)
    return tuple(
        Alias(other, type_id, when, note)
        for type_id, when in pairs
        for other in [t for t, _ in pairs if t != type_id] + extra
    )
