"""Triage incoming events: accept, drop as a repeat, or refuse to the DLQ.

Shared by the HTTP endpoint and the `platform.events` consumer, so both paths apply exactly the
same rules. Pure apart from the `RecentIds` it is handed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from herald_core.envelope import Event
from herald_core.errors import FailureReason, InvalidEvent
from herald_core.intake import parse_event, strict_loads
from herald_core.tracing import TraceParent, child, incoming, parse, tracestate
from herald_kafka.producer import OutgoingRecord

from herald_ingest.dedup import RecentIds
from herald_ingest.records import dead_letter, event_record


class Status(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Verdict:
    """What became of one incoming event."""

    status: Status
    event: Event | None = None
    error: InvalidEvent | None = None

    def as_json(self, index: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status.value}
        if index is not None:
            body["index"] = index
        if self.event is not None:
            body["id"] = self.event.id
            body["type"] = self.event.type
        if self.error is not None:
            body.update(
                reason=self.error.reason.value, detail=self.error.detail, errors=self.error.errors
            )
        return body


def decode_body(body: bytes) -> tuple[list[Any], bool]:
    """JSON body → (items, is_batch).

    Raises:
        InvalidEvent: INVALID_JSON when the body is not JSON, or INVALID_ENVELOPE when it is
            neither an object nor an array of objects.
    """
    try:
        document = strict_loads(body)
    except (
        ValueError,
        RecursionError,
    ) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidEvent(
            FailureReason.INVALID_JSON, f"the body is not JSON: {str(exc)[:200]}"
        ) from None
    if isinstance(document, list):
        return document, True
    if isinstance(document, dict):
        return [document], False
    raise InvalidEvent(FailureReason.INVALID_ENVELOPE, "send one event object or an array of them")


@dataclass(frozen=True)
class Limits:
    """The largest event accepted (its JSON on `notify.events`) and the largest record written
    (a dead letter above it is cut to fit)."""

    event_bytes: int | None = None
    record_bytes: int | None = None


@dataclass(frozen=True)
class Trace:
    """The trace context an event arrives with: its `traceparent` and `tracestate`."""

    parent: TraceParent
    state: str | None = None
    given: bool = True
    """Whether `parent` came with the event (else Herald started the trace)."""


def arriving_trace(traceparent: str | None, state: str | None) -> Trace:
    """The trace an HTTP request or a `platform.events` record brings: its `traceparent` when
    valid (with its `tracestate`), else a new trace (without: W3C drops a state whose parent is
    invalid), so that every event has one."""
    parent = parse(traceparent)
    if parent is None:
        return Trace(incoming(None), given=False)
    return Trace(parent, tracestate(state))


def _event_trace(trace: Trace | None, event_id: str) -> tuple[str | None, str | None]:
    if trace is None:
        return None, None
    return str(child(trace.parent, event_id)), trace.state


def triage(
    item: Any,
    recent: RecentIds,
    now: float,
    *,
    source: str,
    raw: bytes | None = None,
    key: bytes | None = None,
    original_headers: list[tuple[str, bytes]] | None = None,
    limits: Limits = Limits(),
    trace: Trace | None = None,
) -> tuple[Verdict, OutgoingRecord | None]:
    """Judge one event and say what to write: the event, its dead letter, or nothing.

    `item` is a decoded JSON value, or an `Event` already parsed; an `Event` that turns out too
    large is dead-lettered as its canonical JSON (the HTTP path judges the body's items again
    then, so that the letter holds what the producer sent).

    With `trace` (the request's or the record's trace context, `herald_core.tracing`), the
    event's record carries a child of it: the same trace id, a span id of the event's own.
    """
    try:
        if isinstance(item, Event):  # already parsed (`herald_core.fast_intake`)
            event = item
        elif raw is None and not isinstance(item, dict):
            raise InvalidEvent(FailureReason.INVALID_ENVELOPE, "each event must be a JSON object")
        else:
            event = parse_event(item if raw is None else raw)
        record = event_record(event, *_event_trace(trace, event.id))
        size = len(record.value or b"")
        if limits.event_bytes is not None and size > limits.event_bytes:
            raise InvalidEvent(
                FailureReason.TOO_LARGE,
                f"the event is {size} bytes, more than the {limits.event_bytes} accepted",
            )
    except InvalidEvent as error:
        if raw is not None:
            body = raw
        elif isinstance(item, Event):
            body = item.to_json()
        else:
            body = json.dumps(item, default=str).encode()
        letter = dead_letter(
            body,
            error,
            source=source,
            key=key,
            original=original_headers,
            max_record_bytes=limits.record_bytes,
        )
        return Verdict(Status.REJECTED, error=error), letter
    if recent.seen(event.id, now):
        return Verdict(Status.DUPLICATE, event=event), None
    return Verdict(Status.ACCEPTED, event=event), record


def outcome_status(verdicts: Sequence[Verdict], batch: bool) -> int:
    """The HTTP status: 202 all accepted, 422 all refused, 207 a mix (batches only)."""
    rejected = sum(v.status is Status.REJECTED for v in verdicts)
    if rejected == 0:
        return 202
    if rejected == len(verdicts) or not batch:
        return 422
    return 207
