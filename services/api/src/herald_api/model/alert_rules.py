"""Changes to alert rules that no face owns: what a rule becomes when a notifier it lists is
deleted (`alert_store.forget_notifier`). Pure. The Scalingo wire translation of rules is the
face's (`faces/scalingo/alert_face`)."""

from __future__ import annotations

from datetime import datetime

from herald_core.alerts import AlertRule


def without_notifier(rule: AlertRule, notifier_id: str, now: datetime) -> AlertRule | None:
    """The rule without `notifier_id` in its list (a new version), or None if it did not list
    it. Pure."""
    if notifier_id not in rule.notifier_ids:
        return None
    return rule.model_copy(
        update={
            "notifier_ids": tuple(i for i in rule.notifier_ids if i != notifier_id),
            "version": rule.version + 1,
            "updated_at": now,
        }
    )
