"""Event intake: untrusted JSON in, a canonical `Event` or an `InvalidEvent` out.

    raw bytes / str / mapping
      → JSON decode                    INVALID_JSON       not UTF-8, not JSON, NaN, too deep
      → Event.model_validate           INVALID_ENVELOPE   not an object, missing id, no subject…
      → CATALOG.canonical(type)        UNKNOWN_TYPE       unknown, alias-only or group ids
      → type_data model validation     INVALID_TYPE_DATA  wrong field types, missing status…
      → Event with canonical type and normalised type_data

Normalised type_data is the model's JSON dump without nulls, extra fields kept, so a parsed
event parses again to itself. Everything here is pure, and nothing but `InvalidEvent` escapes,
whatever the input: one bad record must never crash a consumer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError

from herald_core.catalog import CATALOG, Catalog
from herald_core.envelope import Event
from herald_core.errors import FailureReason, InvalidEvent

Raw = bytes | bytearray | memoryview | str | Mapping[str, Any]


# What reading untrusted JSON through pydantic can raise besides InvalidEvent: a JSON document,
# or a mapping of JSON values, can cause nothing else (the fuzz tests hold us to it).
_READ_ERRORS = (ValueError, TypeError, LookupError, AttributeError, RecursionError, OverflowError)


def parse_event(raw: Raw, *, catalog: Catalog = CATALOG) -> Event:
    """Decode and validate one event into its canonical form. Pure.

    Raises:
        InvalidEvent: with reason INVALID_JSON, INVALID_ENVELOPE, UNKNOWN_TYPE or
            INVALID_TYPE_DATA, a sentence in `detail`, and JSON-safe `errors`; nothing else,
            whatever the input.
    """
    try:
        document = raw if isinstance(raw, Mapping) else _decode(raw)
        return _validate(document, catalog)
    except _READ_ERRORS as exc:
        raise InvalidEvent(
            FailureReason.INVALID_ENVELOPE,
            f"the event could not be read ({type(exc).__name__})",
            errors=[{"type": "unreadable", "msg": _short(exc)}],
        ) from exc


def parse_events(
    raw: Raw | Sequence[Any], *, catalog: Catalog = CATALOG
) -> list[Event | InvalidEvent]:
    """Decode a batch (a JSON array) or one event object; one result per item, in order. Pure.

    An item that fails is returned as its `InvalidEvent`: one bad item spoils no other.

    Raises:
        InvalidEvent: INVALID_JSON when the input is not JSON at all, INVALID_ENVELOPE when it
            is neither an object nor an array.
    """
    text_like = isinstance(raw, str | bytes | bytearray | memoryview)
    document = _decode(raw) if text_like else raw
    if isinstance(document, Mapping):
        document = [document]
    if not isinstance(document, list | tuple):
        _refuse_shape(document)
    return [_parse_item(item, catalog) for item in document]


def _parse_item(item: Any, catalog: Catalog) -> Event | InvalidEvent:
    if not isinstance(item, Mapping):
        return _shape_error(item)
    try:
        return parse_event(item, catalog=catalog)
    except InvalidEvent as error:
        return error


def _decode(raw: Any) -> Any:
    if not isinstance(raw, str | bytes | bytearray | memoryview):
        _refuse_shape(raw)
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
        return strict_loads(text)
    except (ValueError, RecursionError) as exc:
        detail = f"the event is not valid JSON: {_short(exc)}"
        raise InvalidEvent(
            FailureReason.INVALID_JSON, detail, errors=[{"type": "json_invalid", "msg": detail}]
        ) from exc


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


def strict_loads(text: str | bytes) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, no number that overflows to infinity.

    Raises:
        ValueError: on anything else (JSONDecodeError and UnicodeDecodeError are ValueErrors).
        RecursionError: on absurdly deep nesting.
    """
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def _validate(document: Any, catalog: Catalog) -> Event:
    if not isinstance(document, Mapping):
        _refuse_shape(document)
    try:
        event = Event.model_validate(dict(document))
    except ValidationError as exc:
        raise InvalidEvent(
            FailureReason.INVALID_ENVELOPE,
            f"invalid event envelope: {_summary(exc)}",
            errors=_json_safe_errors(exc),
        ) from exc
    type_id = catalog.canonical(event.type)
    event_type = catalog.get(type_id) if type_id is not None else None
    if event_type is None:
        raise InvalidEvent(
            FailureReason.UNKNOWN_TYPE,
            _unknown_type_detail(event.type, catalog),
            errors=[{"type": "unknown_type", "loc": ["type"], "msg": "not an event type"}],
        )
    type_data = _normalise(event_type.id, event_type.type_data_model, event.type_data)
    return event.model_copy(update={"type": event_type.id, "type_data": type_data})


def _normalise(type_id: str, model: type[BaseModel], type_data: dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = model.model_validate(type_data)
        dumped: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    except (ValidationError, ValueError, TypeError) as exc:
        errors = _json_safe_errors(exc) if isinstance(exc, ValidationError) else []
        summary = _summary(exc) if isinstance(exc, ValidationError) else _short(exc)
        raise InvalidEvent(
            FailureReason.INVALID_TYPE_DATA,
            f"invalid type_data for {type_id!r}: {summary}",
            errors=errors or [{"type": "type_data_invalid", "loc": ["type_data"], "msg": summary}],
        ) from exc
    return dumped


def _unknown_type_detail(type_id: str, catalog: Catalog) -> str:
    if catalog.is_known(type_id):
        return (
            f"unknown event type {type_id!r}: it is an alias or group id, which selections "
            "may name but producers may not send"
        )
    return f"unknown event type {type_id!r}"


def _refuse_shape(value: Any) -> NoReturn:
    raise _shape_error(value)


def _shape_error(value: Any) -> InvalidEvent:
    kind = "array" if isinstance(value, list | tuple) else type(value).__name__
    detail = f"an event must be a JSON object, not {kind}"
    return InvalidEvent(
        FailureReason.INVALID_ENVELOPE, detail, errors=[{"type": "model_type", "msg": detail}]
    )


def _summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _json_safe_errors(exc: ValidationError) -> list[dict[str, object]]:
    return [
        {str(k): _json_safe(v) for k, v in error.items()}
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _json_safe(value: Any) -> Any:
    """`value` with everything JSON cannot hold turned into strings. Pure."""
    if isinstance(value, str | bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__
