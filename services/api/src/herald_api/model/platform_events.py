"""The platform events the API emits when something changes through it (Scalingo does the same:
notifiers notify about notifiers). Pure builders; the outbox publishes them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from herald_core.envelope import Event, EventUser
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier

SOURCE = "herald-api"


def platform_event(
    event_type: str,
    *,
    now: datetime,
    app_id: str | None,
    owner_id: str | None,
    type_data: dict[str, Any],
    app_name: str | None = None,
    actor: EventUser | None = None,
) -> Event:
    """A new event of the API's own making (a fresh id every time), normalised by the catalog
    exactly as ingest normalises the platform's events.

    Raises:
        InvalidEvent: if the API built an event the catalog refuses (a bug, never user input).
    """
    event = Event(
        id=str(uuid.uuid4()),
        type=event_type,
        created_at=now,
        source=SOURCE,
        app_id=app_id,
        app_name=app_name,
        owner_id=owner_id,
        user=actor,
        type_data=type_data,
    )
    return parse_event(event.model_dump(mode="json"))


def notifier_event(
    event_type: str,
    notifier: Notifier,
    *,
    now: datetime,
    owner_id: str | None,
    app_name: str | None = None,
    actor: EventUser | None = None,
) -> Event:
    """`notifier_added`, `notifier_edited` or `notifier_removed` for `notifier`."""
    data = {
        "notifier_id": notifier.id,
        "notifier_name": notifier.name,
        "platform": notifier.platform.value,
    }
    return platform_event(
        event_type,
        now=now,
        app_id=notifier.app_id,
        owner_id=owner_id or notifier.owner_id,
        type_data=data,
        app_name=app_name,
        actor=actor,
    )
