"""A notifier as the API shows it: Scalingo's notifier shape (docs/scalingo-compat.md) plus
Herald's own members (`preset`, `is_default`), secrets masked. The Scalingo notifiers API
answers it (the Scalingo face, `faces/scalingo`), and so do Herald's own endpoints that answer a
notifier of any scope (`notifier_health_api`). Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from herald_core.notifiers import Notifier

from herald_api.model.platforms import platform_of
from herald_api.model.type_data import mask_type_data


def to_wire(notifier: Notifier) -> dict[str, Any]:
    """A notifier in Scalingo's shape, plus Herald's own members (`preset`, `is_default`). Pure."""
    platform = platform_of(notifier.platform)
    type_data = mask_type_data(notifier.type_data)
    if notifier.platform.value == "email":
        type_data = {"emails": [], "user_ids": [], **type_data}
    return {
        "id": notifier.id,
        "app_id": notifier.app_id or "",
        "name": notifier.name,
        "active": notifier.active,
        "type": platform.name,
        "platform_id": platform.id,
        "send_all_events": notifier.selection.send_all_events,
        "send_all_alerts": notifier.selection.send_all_alerts,
        "selected_event_ids": list(notifier.selection.selected_event_ids),
        "preset": notifier.selection.preset.value if notifier.selection.preset else None,
        "is_default": notifier.is_default,
        "type_data": type_data,
        "created_at": _rfc3339(notifier.created_at),
        "updated_at": _rfc3339(notifier.updated_at),
    }


def _rfc3339(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
