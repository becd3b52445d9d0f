"""A fast path for well-formed events: msgspec decodes and checks the envelope in one pass.

`fast_events(body)` gives the events of a body that holds one event object or an array of
them, each equal to what `intake.parse_event` makes of it (the same `Event`, so the same record
bytes), or None as soon as anything is unusual: not UTF-8 JSON, an envelope msgspec refuses
(a missing or mistyped field, an unknown one, a length out of bounds), an unknown type, a
`type_data` its model refuses, a `user` its model refuses. The caller then takes the slow path,
`parse_event` and its refusals, for the whole body: the fast path accepts, it never refuses.

Where msgspec could accept what the slow path refuses, it is kept from doing so: the JSON
decoders agree on what both accept (msgspec refuses NaN, numbers that overflow a float, lone
surrogates, a BOM: the slow path judges those), and everything pydantic checks beyond what
msgspec does (the timestamp, the subject, `type_data`) is checked by pydantic itself here.
tests/unit/test_fast_intake.py holds the two paths to agreeing over generated inputs. Pure.
"""

from __future__ import annotations

from typing import Any

import msgspec
from pydantic import ValidationError

from herald_core.catalog import CATALOG, Catalog
from herald_core.envelope import Event, EventUser
from herald_core.wire_event import EventId, Reference, TypeName


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """`Event`'s fields with its bounds; `created_at` and `user` left to pydantic."""

    id: EventId
    type: TypeName
    created_at: str
    source: TypeName = "unknown"
    app_id: Reference | None = None
    app_name: Reference | None = None
    owner_id: Reference | None = None
    addon_id: Reference | None = None
    rack: Reference | None = None
    user: dict[str, Any] | None = None
    type_data: dict[str, Any] = msgspec.field(default_factory=dict)


_DECODER = msgspec.json.Decoder(_Envelope | list[_Envelope])
_FIELDS = _Envelope.__struct_fields__


def fast_events(
    body: bytes | bytearray | memoryview | str, *, catalog: Catalog = CATALOG
) -> tuple[list[Event], bool] | None:
    """(events, is_batch) when every event of `body` is well-formed, else None. Pure."""
    try:
        document = _DECODER.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    if isinstance(document, list):
        events = []
        for envelope in document:
            event = _event(envelope, catalog)
            if event is None:
                return None
            events.append(event)
        return events, True
    event = _event(document, catalog)
    return None if event is None else ([event], False)


def _event(envelope: _Envelope, catalog: Catalog) -> Event | None:
    if not envelope.app_id and not envelope.owner_id:
        return None
    type_id = catalog.canonical(envelope.type)
    event_type = catalog.get(type_id) if type_id is not None else None
    if event_type is None:
        return None
    fields = {name: getattr(envelope, name) for name in _FIELDS}
    try:
        model = event_type.type_data_model.model_validate(envelope.type_data)
        fields["type_data"] = model.model_dump(mode="json", exclude_none=True)
        fields["type"] = event_type.id
        if envelope.user is not None:
            fields["user"] = EventUser.model_validate(envelope.user)
        return Event.model_validate(fields)
    except (ValidationError, ValueError, TypeError, LookupError, AttributeError, RecursionError):
        return None
