"""W3C trace context (`traceparent`, Trace Context Level 1) carried through every record.

An event gets its trace at ingest: the HTTP request's `traceparent` header or the
`platform.events` record's, when valid, else a new trace. It travels as the `traceparent`
Kafka header of the `notify.events` record; each delivery the router makes of it carries a
child (same trace id, a span id of its own whose parent is the event's), on its record and in
the delivery itself; the sender sends the delivery's on every webhook and chat request
(`traceparent`) and mail (`X-Herald-Traceparent`), and its retry and dead-letter records keep it.

Everything here is pure except `new_traceparent`, which draws random ids.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_TRACESTATE_MAX = 512
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
SAMPLED = "01"


@dataclass(frozen=True)
class TraceParent:
    """A parsed `traceparent`: version 00, lower-case hex ids, never all zeros."""

    trace_id: str
    span_id: str
    flags: str = SAMPLED

    def __str__(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def parse(value: str | None) -> TraceParent | None:
    """The trace context in a `traceparent` value, or None when missing or invalid. Pure.

    Follows the W3C rules: version `ff` is invalid; version 00 has exactly four fields;
    a later version may carry more fields after the flags (read as version 00); trace and
    span ids of all zeros are invalid. Upper-case hex is invalid.
    """
    if value is None:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, span_id, flags)


def new_traceparent() -> TraceParent:
    """A new trace (random trace and span ids), sampled: 24 random bytes drawn at once."""
    ids = secrets.token_hex(24)
    return TraceParent(ids[:32], ids[32:])


def incoming(value: str | None) -> TraceParent:
    """The trace an event joins: `value` when valid, else a new one, so every event has one."""
    return parse(value) or new_traceparent()


def child(parent: TraceParent, seed: str) -> TraceParent:
    """A child of `parent`: the same trace id and flags, a span id derived from `seed` and the
    parent's span id. Pure: the router makes the same child of an event for a delivery every
    time it routes it again (after a restart, a replay), as it makes the same delivery id."""
    digest = hashlib.sha256(f"{parent.span_id}:{seed}".encode()).hexdigest()
    span_id = digest[:16] if digest[:16] != _ZERO_SPAN else digest[16:32]
    return TraceParent(parent.trace_id, span_id, parent.flags)


def child_value(parent: str | None, seed: str) -> str | None:
    """`child` on header values: None when `parent` is missing or invalid. Pure."""
    parsed = parse(parent)
    return None if parsed is None else str(child(parsed, seed))


def tracestate(value: str | None) -> str | None:
    """A `tracestate` value to pass on, or None: printable ASCII, at most 512 characters, as
    the W3C recommends propagating (it is opaque to Herald). Pure."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _TRACESTATE_MAX or not value.isascii() or not value.isprintable():
        return None
    return value
