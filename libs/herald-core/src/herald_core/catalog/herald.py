"""Herald's own types: happenings the platforms name without an id, and Herald speaking itself.

- `payment_failed`: Cloud 66 notifies "failed payments"; a critical alert.
- `account_suspended`: Cloud 66 notifies it but not by e-mail by default.
- `notifier_disabled`: Herald disabled a notifier whose endpoint kept failing (docs/operations.md).
- `app_alert_resolved`: the resolved counterpart of Scalingo's `app_alert_triggered`.
"""

from __future__ import annotations

from pydantic import BaseModel

from herald_core.catalog import type_data as td
from herald_core.catalog.model import Family
from herald_core.catalog.tables import FamilyTable

ROWS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "billing": (("payment_failed", "Payment failed", "A payment has failed"),),
    "account": (("account_suspended", "Account suspended", "An account was suspended"),),
    "notifiers": (
        (
            "notifier_disabled",
            "Notifier disabled",
            "A notifier was disabled because its endpoint kept failing",
        ),
    ),
    "alerts": (("app_alert_resolved", "Alert resolved", "An alert has resolved"),),
}

TEMPLATES = {
    "payment_failed": "A payment of {amount} {currency} by {owner_id} failed: {reason}",
    "account_suspended": "The account {owner_id} was suspended: {reason}",
    "notifier_disabled": "The notifier {notifier_name} was disabled: {reason}",
    "app_alert_resolved": "Alert on {app_name} resolved: {metric} is {value} (limit {limit})",
}

MODELS: dict[str, type[BaseModel]] = {
    "payment_failed": td.CreditsData,
    "account_suspended": td.AccountSuspendedData,
    "notifier_disabled": td.NotifierDisabledData,
    "app_alert_resolved": td.AlertData,
}

TABLE = FamilyTable(
    family=Family.HERALD,
    rows=ROWS,
    templates=TEMPLATES,
    models=MODELS,
    default_model=td.Permissive,
    warning=frozenset({"account_suspended", "notifier_disabled"}),
    critical=frozenset({"payment_failed"}),
    no_default_email=frozenset({"account_suspended"}),
)
