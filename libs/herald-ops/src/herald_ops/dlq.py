"""Dead letters as plain values: which DLQ a name means, filters, stats, safe views, replay plans.

Pure: no I/O, no clock (the caller passes `now`). `herald_ops.replay` reads and writes Kafka.

A channel DLQ (`notify.deliveries.<channel>.dlq`) holds delivery records keyed by
notifier id, with the sender's retry state and `x-dlq-reason` in headers. The events DLQ
(`notify.events.dlq`) holds the bytes ingest refused, with `x-dlq-reason/-detail/-source`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from herald_core import headers as h
from herald_core.errors import InvalidEvent
from herald_core.intake import parse_event
from herald_core.topics import (
    EVENTS,
    EVENTS_DLQ,
    Channel,
    deliveries_topic,
    delivery_dlq_topic,
    parse_duration_ms,
)
from herald_core.urlpolicy import redact_url
from herald_kafka.producer import OutgoingRecord

EVENTS_NAME = "events"  # `--channel events` names notify.events.dlq
UNKNOWN_REASON = "unknown"
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def dlq_names() -> list[str]:
    """Every name `--channel` accepts: the channels, then `events`."""
    return [c.value for c in Channel] + [EVENTS_NAME]


def dlq_topic(name: str) -> str:
    """The DLQ topic of a channel name or `events`. Pure.

    Raises:
        ValueError: for a name that is neither.
    """
    if name == EVENTS_NAME:
        return EVENTS_DLQ
    try:
        return delivery_dlq_topic(Channel(name))
    except ValueError:
        raise ValueError(f"unknown channel {name!r}; use one of {', '.join(dlq_names())}") from None


def replay_topic(name: str) -> str:
    """Where a replayed dead letter of `name`'s DLQ goes: its deliveries topic, or notify.events."""
    return EVENTS if name == EVENTS_NAME else deliveries_topic(Channel(name))


@dataclass(frozen=True)
class DeadLetter:
    """One record read from a DLQ."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def reason(self) -> str:
        return h.header(self.headers, h.DLQ_REASON) or UNKNOWN_REASON

    @property
    def notifier_id(self) -> str | None:
        """The notifier of a delivery dead letter (its key); None on the events DLQ."""
        if self.topic == EVENTS_DLQ or self.key is None:
            return None
        return self.key.decode("utf-8", "replace")

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)


def parse_time(text: str, now: datetime) -> datetime:
    """`2026-11-23T10:00:00Z`, `2026-11-23` (UTC) or a duration ago (`30m`, `2h`, `7d`). Pure.

    Raises:
        ValueError: on anything else.
    """
    try:
        return now - timedelta(milliseconds=parse_duration_ms(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (use RFC 3339, a date, or e.g. 2h for 2h ago)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DlqFilter:
    """Which dead letters a command acts on; an unset field matches everything."""

    reasons: frozenset[str] = frozenset()
    notifier_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """True when `letter` passes every set criterion. Pure."""
        return (
            (not self.reasons or letter.reason in self.reasons)
            and (self.notifier_id is None or letter.notifier_id == self.notifier_id)
            and (self.since is None or letter.at >= self.since)
            and (self.until is None or letter.at < self.until)
        )


@dataclass
class StatRow:
    """Dead letters of one DLQ and one reason."""

    dlq: str
    reason: str
    count: int
    oldest: datetime
    newest: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "dlq": self.dlq,
            "reason": self.reason,
            "count": self.count,
            "oldest": self.oldest.isoformat(),
            "newest": self.newest.isoformat(),
        }


def summarize(name: str, letters: Iterable[DeadLetter]) -> list[StatRow]:
    """Count `letters` of DLQ `name` by reason, with oldest/newest times, sorted by reason. Pure."""
    rows: dict[str, StatRow] = {}
    for letter in letters:
        row = rows.get(letter.reason)
        if row is None:
            rows[letter.reason] = StatRow(name, letter.reason, 1, letter.at, letter.at)
            continue
        row.count += 1
        row.oldest = min(row.oldest, letter.at)
        row.newest = max(row.newest, letter.at)
    return [rows[reason] for reason in sorted(rows)]


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted to scheme, host and port. Pure."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def _payload_summary(letter: DeadLetter) -> dict[str, Any]:
    """Identifying fields of the payload; `type_data` as its keys only (it holds secrets)."""
    try:
        document = json.loads(letter.value or b"")
    except ValueError:
        return {"unreadable": f"{len(letter.value or b'')} bytes, not JSON"}
    if not isinstance(document, Mapping):
        return {"unreadable": f"JSON {type(document).__name__}, not an object"}
    if letter.topic == EVENTS_DLQ:
        return _event_summary(document)
    notifier = document.get("notifier")
    event = document.get("event")
    summary: dict[str, Any] = {"delivery_id": document.get("id")}
    if isinstance(event, Mapping):
        summary["event"] = _event_summary(event)
    if isinstance(notifier, Mapping):
        summary["notifier"] = {
            "id": notifier.get("id"),
            "name": notifier.get("name"),
            "type_data_keys": _keys(notifier.get("type_data")),
        }
    return summary


def _event_summary(event: Mapping[str, Any]) -> dict[str, Any]:
    fields = ("id", "type", "source", "app_id", "owner_id", "created_at")
    return {k: event.get(k) for k in fields} | {"type_data_keys": _keys(event.get("type_data"))}


def _keys(value: Any) -> list[str]:
    return sorted(str(k) for k in value) if isinstance(value, Mapping) else []


def describe(letter: DeadLetter) -> dict[str, Any]:
    """A view of `letter` safe to print: headers with URLs redacted, no payload values. Pure."""
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "at": letter.at.isoformat(),
        "key": letter.key.decode("utf-8", "replace") if letter.key is not None else None,
        "reason": letter.reason,
        "headers": {k: redact_text(v.decode("utf-8", "replace")) for k, v in letter.headers},
        "payload": _payload_summary(letter),
    }


def fresh_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The headers of a replayed delivery. Pure.

    Herald's `x-` retry and DLQ state is dropped, except what the replay goes on from: the
    delivery id (the receiver's idempotency key), the recipients already delivered to, and the
    attempts made. Attempts go on counting (the history keeps a row per attempt number, so a
    replay numbered from 1 again would be lost there) while `x-retries-from` starts the retry
    schedule over: the replay has every tier ahead of it.
    """
    listed = tuple(headers)
    delivery_id = h.header(listed, h.DELIVERY_ID)
    done = h.header(listed, h.RECIPIENTS_DONE)
    attempts = h.count(listed, h.ATTEMPT)
    return [
        *[(k, v) for k, v in headers if not k.startswith("x-")],
        *([(h.DELIVERY_ID, delivery_id.encode())] if delivery_id else []),
        *([(h.RECIPIENTS_DONE, done.encode())] if done else []),
        *([(h.ATTEMPT, str(attempts).encode())] if attempts else []),
        *([(h.RETRIES_FROM, str(attempts).encode())] if attempts else []),
    ]


@dataclass(frozen=True)
class Skipped:
    """A dead letter that is not replayed, and why."""

    letter: DeadLetter
    why: str


def plan_replay(name: str, letter: DeadLetter) -> OutgoingRecord | Skipped:
    """The record that replays `letter` of DLQ `name`, or why it cannot be replayed. Pure.

    A delivery goes back to its deliveries topic as it was (same key, value and delivery id).
    A refused event is parsed again (the catalog may have learnt its type since): a valid one
    goes to notify.events with fresh CloudEvents headers, a still invalid one is skipped.
    """
    if name != EVENTS_NAME:
        return OutgoingRecord(
            replay_topic(name), letter.value, letter.key, fresh_headers(letter.headers)
        )
    try:
        event = parse_event(letter.value or b"")
    except InvalidEvent as error:
        return Skipped(letter, f"still invalid: {error.reason.value}")
    traceparent = h.header(letter.headers, h.TRACEPARENT)
    headers = h.cloudevent_headers(
        event.id, event.type, event.source, event.created_at.isoformat(), traceparent
    )
    return OutgoingRecord(EVENTS, event.to_json(), event.key.encode(), headers)


@dataclass
class ReplaySummary:
    """What a replay did (or, dry, would do)."""

    scanned: int = 0
    matched: int = 0
    produced: int = 0
    dry_run: bool = False
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


class TokenBucket:
    """A token bucket for `--rate` (aiolimiter is not a workspace dependency, so a small one).

    Pure: the caller passes the monotonic time and sleeps as long as `reserve` says.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate / 10)
        self.tokens = self.capacity
        self.updated: float | None = None

    def reserve(self, now: float) -> float:
        """Take one token and return how many seconds to wait before using it (0: at once).

        Tokens may go below zero: callers that wait as told never exceed `rate` on average.
        """
        if self.updated is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return max(0.0, -self.tokens / self.rate)
