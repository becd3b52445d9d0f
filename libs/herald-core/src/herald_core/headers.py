"""Kafka record header keys (docs/architecture.md), and the headers Herald writes on the mails
and chat requests it sends. They appear nowhere else in the code."""

from __future__ import annotations

from collections.abc import Sequence

CE_ID = "ce_id"
CE_TYPE = "ce_type"
CE_SOURCE = "ce_source"
CE_TIME = "ce_time"
CE_SPECVERSION = "ce_specversion"
CE_SUBJECT = "ce_subject"
TRACEPARENT = "traceparent"
"""W3C trace context (`herald_core.tracing`): on every record, and on webhook and chat requests."""
TRACESTATE = "tracestate"
"""W3C vendor trace state, passed on as received (ingest) beside `traceparent`."""

ATTEMPT = "x-attempt"
DUE_AT = "x-due-at"
LAST_ERROR = "x-last-error"
FIRST_FAILED_AT = "x-first-failed-at"
ORIGINAL_TOPIC = "x-original-topic"
ORIGINAL_PARTITION = "x-original-partition"
ORIGINAL_OFFSET = "x-original-offset"
RECIPIENTS_DONE = "x-recipients-done"
"""On a retry tier record or a dead letter: the recipients already delivered, as indices into
the delivery's `recipients` (`0,2`). A retry sends only to the others (`herald_core.retry`)."""

RETRIES_FROM = "x-retries-from"
"""On a replayed delivery and its retry records: the attempt after which its retry schedule
starts over. A replay (`herald-ops dlq replay`) goes on counting attempts, so that the history,
one row per attempt, keeps every one, with all the retry tiers ahead of it again."""

DLQ_REASON = "x-dlq-reason"
DLQ_DETAIL = "x-dlq-detail"
DLQ_SOURCE = "x-dlq-source"
DLQ_TRUNCATED = "x-dlq-truncated"
"""On a dead letter too large for the broker: the size in bytes of the value it carried, cut to
its first bytes so that the dead letter (with its reason) can still be written."""

DELIVERY_ID = "x-delivery-id"

TEST = "herald-test"
"""On a delivery record: a notifier test (`POST …/notifiers/{id}/test`). The sender makes one
attempt and writes its result; a failure is neither retried nor dead-lettered."""

HERALD_DELIVERY_ID = "X-Herald-Delivery-Id"
"""On every mail and chat request: the delivery's id, the same on every attempt, so that a
receiver (a self-hosted chat server behind a proxy, a mail filter) can drop repeats."""
HERALD_EVENT_ID = "X-Herald-Event-Id"
"""On every chat request: the id of the event delivered (a chat payload carries none)."""
HERALD_TRACEPARENT = "X-Herald-Traceparent"
"""On every mail: the delivery's W3C `traceparent` (mail has no standard trace header)."""

Headers = list[tuple[str, bytes]]


def text_value(text: str, limit: int = 1000) -> bytes:
    """`text` as a header value of at most `limit` bytes, never cutting a character in two. Pure."""
    return text.encode()[:limit].decode("utf-8", "ignore").encode()


def header(headers: Sequence[tuple[str, bytes]] | None, key: str) -> str | None:
    """The last value of `key` decoded as UTF-8, or None. Pure."""
    found = None
    for name, value in headers or ():
        if name == key:
            found = value.decode("utf-8", "replace")
    return found


def count(headers: Sequence[tuple[str, bytes]], key: str) -> int:
    """The header `key` as a count (`x-attempt`, `x-retries-from`): 0 when missing, malformed
    or negative. Pure."""
    try:
        return max(0, int(header(tuple(headers), key) or 0))
    except ValueError:
        return 0


def is_test(headers: Sequence[tuple[str, bytes]] | None) -> bool:
    """Whether a delivery record is a notifier test: `herald-test` with any value but 0/false/no.

    Pure.
    """
    value = header(tuple(headers or ()), TEST)
    return value is not None and value.strip().lower() not in ("0", "false", "no")


def cloudevent_headers(
    event_id: str,
    event_type: str,
    source: str,
    time_iso: str,
    traceparent: str | None = None,
    tracestate: str | None = None,
) -> Headers:
    """CloudEvents binary-mode attributes of a `notify.events` record, and its trace context.

    Pure.
    """
    headers = [
        (CE_ID, event_id.encode()),
        (CE_TYPE, event_type.encode()),
        (CE_SOURCE, f"/herald/{source}".encode()),
        (CE_TIME, time_iso.encode()),
        (CE_SPECVERSION, b"1.0"),
    ]
    if traceparent:
        headers.append((TRACEPARENT, traceparent.encode()))
        if tracestate:
            headers.append((TRACESTATE, tracestate.encode()))
    return headers
