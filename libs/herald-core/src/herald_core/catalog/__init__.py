"""The event catalog (docs/architecture.md): every event type of every family, as data.

    from herald_core.catalog import CATALOG, answers_to

    CATALOG.get("app_deployed").critical               # False
    CATALOG.canonical("deployment")                    # "app_deployed" (Scalingo legacy name)
    CATALOG.expand("critical_alerts")                  # the critical type ids
    answers_to("app_deployed", {"status": "success"})  # ⊇ {"DEPLOYMENT_SUCCESS", "deployments"}

Modules: `model` (shapes and `Catalog`), `consistency` (the rules `Catalog` checks),
`type_data` (pydantic models of `type_data`), `tables` (the compact family-table form), one
module per family (`scalingo`, `clevercloud`, `convox`, `cloud66`, `herald`), `crosswalk`
(aliases and groups across families), `builtin` (the assembled `CATALOG`), `aliases`
(`answers_to`). Pure data: nothing here does I/O.
"""

from __future__ import annotations

from herald_core.catalog.aliases import answers_to, name_in_family
from herald_core.catalog.builtin import CATALOG, CATEGORIES
from herald_core.catalog.model import (
    ALWAYS,
    Alias,
    Catalog,
    Category,
    Condition,
    EventType,
    Family,
    Group,
    Severity,
)

__all__ = [
    "ALWAYS",
    "CATALOG",
    "CATEGORIES",
    "Alias",
    "Catalog",
    "Category",
    "Condition",
    "EventType",
    "Family",
    "Group",
    "Severity",
    "answers_to",
    "name_in_family",
]
