"""Sample events of any catalog type: what a notifier test sends. Pure.

`sample_event` fills every `type_data` field the type's model knows with a plausible value (a
named sample where one reads better, else one made from the field's type), so that every channel
renders a complete message, and runs the result through the catalog like any produced event.
"""

from __future__ import annotations

import types
from datetime import datetime, timedelta
from typing import Any, Union, get_args, get_origin

from herald_core.catalog import CATALOG, EventType
from herald_core.envelope import Event, EventUser
from herald_core.intake import parse_event
from herald_core.markers import TEST_EVENT_SOURCE
from pydantic import BaseModel

DEFAULT_TEST_TYPE = "app_deployed"
SOURCE = TEST_EVENT_SOURCE
SAMPLE_USER = EventUser(id="us-herald-test", username="herald", email="herald@example.com")

# Values that read better than generated ones, by field name.
NAMED: dict[str, Any] = {
    "status": "success",
    "deployment_id": "dep-herald-test",
    "deployment_type": "git",
    "pusher": "herald",
    "git_ref": "0123456789abcdef0123456789abcdef01234567",
    "git_ref_url": "https://example.com/commit/0123456789abcdef",
    "stack": "scalingo-22",
    "duration": 42,
    "crash_count": 2,
    "container_type": "web",
    "container_index": 1,
    "exit_code": 137,
    "metric": "cpu",
    "limit": 80.0,
    "value": 93.5,
    "currency": "EUR",
    "email": "herald@example.com",
    "old_owner_email": "previous@example.com",
    "new_owner_email": "herald@example.com",
    "hostname": "www.example.com",
    "branch": "main",
    "role": "collaborator",
    "message": "This is a test notification sent by Herald.",
    "reason": "test notification",
}


def _sample_of(name: str, annotation: Any, now: datetime) -> Any:
    """A value for one field, from its name or its annotation; None to leave it out."""
    if name in NAMED:
        return NAMED[name]
    kinds = (
        set(get_args(annotation))
        if get_origin(annotation) in (Union, types.UnionType)
        else {annotation}
    )
    kinds.discard(type(None))
    text = {str(kind) for kind in kinds}
    if any("AwareDatetime" in kind or "datetime" in kind for kind in text):
        return (now - timedelta(minutes=1)).isoformat()
    if str in kinds:
        return f"sample-{name.replace('_', '-')}"
    if bool in kinds:
        return False
    if int in kinds:
        return 1
    if float in kinds:
        return 1.0
    return None  # lists and objects: the type's default


def sample_type_data(event_type: EventType, now: datetime) -> dict[str, Any]:
    """Sample `type_data` for `event_type`: every known field that has a simple type. Pure."""
    model: type[BaseModel] = event_type.type_data_model
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value = _sample_of(name, field.annotation, now)
        if value is not None:
            data[field.alias or name] = value
    return data


def resolve_type(requested: str | None) -> EventType | None:
    """The catalog type a test asks for (a legacy name like `deployment` too); None if unknown."""
    canonical = CATALOG.canonical(requested or DEFAULT_TEST_TYPE)
    return CATALOG.get(canonical) if canonical else None


def sample_event(
    event_type: EventType,
    *,
    event_id: str,
    now: datetime,
    app_id: str | None,
    app_name: str | None,
    owner_id: str | None,
) -> Event:
    """A complete, catalog-valid event of `event_type`. Pure.

    Raises:
        InvalidEvent: only if the catalog refuses its own samples (a bug, caught by the tests).
    """
    document = {
        "id": event_id,
        "type": event_type.id,
        "created_at": now.isoformat(),
        "source": SOURCE,
        "app_id": app_id,
        "app_name": app_name,
        "owner_id": owner_id,
        "user": SAMPLE_USER.model_dump(),
        "type_data": sample_type_data(event_type, now),
    }
    return parse_event(document)
