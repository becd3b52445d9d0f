"""Build a Herald event of any catalog type, checked the way ingest will check it.

    event = build_event(
        "app_deployed",
        app_id="app-123", app_name="shop", owner_id="owner-9",
        type_data={"deployment_id": "d-1", "status": "success", "duration": 42},
    )

`build_event` runs the document through `herald_core.intake.parse_event`, the very function
ingest applies, so an event it returns will not be refused for its shape, its type or its
`type_data` (unless the catalog of ingest differs from the one installed here). Pure but for
the defaults it draws: a fresh UUID for `id`, the current time for `created_at`.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from herald_core.catalog import CATALOG, Catalog
from herald_core.envelope import Event, EventUser
from herald_core.errors import FailureReason, InvalidEvent
from herald_core.intake import parse_event

from herald_client.errors import InvalidEventError

__all__ = ["Event", "EventUser", "build_event", "event_types"]


def event_types(catalog: Catalog = CATALOG) -> list[str]:
    """Every type id a producer may send, sorted. Pure."""
    return sorted(t.id for t in catalog.types())


def build_event(
    event_type: str,
    *,
    type_data: Mapping[str, Any] | None = None,
    app_id: str | None = None,
    app_name: str | None = None,
    owner_id: str | None = None,
    addon_id: str | None = None,
    rack: str | None = None,
    user: EventUser | Mapping[str, Any] | None = None,
    source: str = "unknown",
    event_id: str | None = None,
    created_at: datetime | None = None,
    catalog: Catalog = CATALOG,
) -> Event:
    """A canonical `Event` of `event_type`, its `type_data` checked against the catalog.

    `event_type` may be a Scalingo legacy name (`deployment`): the event carries the canonical
    id (`app_deployed`). `type_data` is normalised as ingest does it (no nulls; unknown fields
    kept). An event needs an `app_id` or an `owner_id`; `source` names the producing component.
    Give `event_id` yourself when the event may be sent more than once (a retry after a crash):
    Herald drops repeats by id.

    Raises:
        InvalidEventError: `reason` `unknown_type` (with close matches in the message),
            `invalid_type_data` or `invalid_envelope`; `errors` lists the fields at fault.
    """
    document: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "type": event_type,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "source": source,
        "app_id": app_id,
        "app_name": app_name,
        "owner_id": owner_id,
        "addon_id": addon_id,
        "rack": rack,
        "user": _user(user),
        "type_data": dict(type_data or {}),
    }
    try:
        return parse_event(document, catalog=catalog)
    except InvalidEvent as error:
        raise _client_error(error, event_type, catalog) from error


def _user(user: EventUser | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if isinstance(user, EventUser):
        return user.model_dump(exclude_none=True)
    return dict(user) if user is not None else None


def _client_error(error: InvalidEvent, event_type: str, catalog: Catalog) -> InvalidEventError:
    detail = error.detail
    if error.reason is FailureReason.UNKNOWN_TYPE:
        close = difflib.get_close_matches(event_type, event_types(catalog), n=3, cutoff=0.6)
        if close:
            detail += f" (did you mean {', '.join(repr(c) for c in close)}?)"
    return InvalidEventError(error.reason.value, detail, error.errors)
