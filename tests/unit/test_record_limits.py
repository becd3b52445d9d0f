"""No record larger than Herald writes reaches the producer (herald_kafka.producer.record_size,
fitted; herald_kafka.loop.handle_guarded; ingest's triage): a record with an output too large is
dead-lettered with reason `too_large`, and a dead letter too large is cut to fit."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from herald_core import headers as h
from herald_core.errors import FailureReason, InvalidEvent, RecordTooLarge
from herald_core.topics import EVENTS, EVENTS_DLQ
from herald_ingest.dedup import RecentIds
from herald_ingest.intake import Limits, Status, triage
from herald_kafka.loop import handle_guarded
from herald_kafka.producer import (
    HEADER_OVERHEAD,
    RECORD_OVERHEAD,
    OutgoingRecord,
    fitted,
    record_size,
)


@dataclass(frozen=True)
class FakeRecord:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = "notify.events"
    partition: int = 0
    offset: int = 3
    key: bytes | None = b"app-1"
    timestamp: int = 0


def letter(value: bytes, *extra: tuple[str, bytes]) -> OutgoingRecord:
    return OutgoingRecord(EVENTS_DLQ, value, b"k", [*extra, (h.DLQ_REASON, b"invalid_json")])


def test_record_size_counts_key_value_headers_and_overhead():
    record = OutgoingRecord("t", b"v" * 10, b"key", [("ce_id", b"abc"), ("x-a", b"")])
    expected = RECORD_OVERHEAD + 3 + 10 + (HEADER_OVERHEAD + 5 + 3) + (HEADER_OVERHEAD + 3)
    assert record_size(record) == expected
    assert record_size(OutgoingRecord("t", None)) == RECORD_OVERHEAD


def test_a_record_that_fits_is_left_alone():
    record = letter(b"x" * 100)
    assert fitted(record, record_size(record)) is record


def test_a_record_too_large_keeps_its_head_and_says_how_large_it_was():
    record = letter(b"0123456789" * 1000)
    cut = fitted(record, 2000)
    assert record_size(cut) <= 2000
    assert 1000 < len(cut.value or b"") < 2000
    assert (record.value or b"").startswith(cut.value or b"")
    assert h.header(cut.headers, h.DLQ_TRUNCATED) == "10000"
    assert h.header(cut.headers, h.DLQ_REASON) == "invalid_json"
    assert (cut.topic, cut.key) == (record.topic, record.key)


def test_when_headers_alone_are_too_large_only_heralds_own_are_kept():
    record = letter(b"v" * 5000, ("ce_subject", b"s" * 5000))
    cut = fitted(record, 2000)
    assert record_size(cut) <= 2000
    assert [k for k, _ in cut.headers] == [h.DLQ_REASON, h.DLQ_TRUNCATED]


def dead_letter_of(record, exc):
    reason = exc.reason.value if isinstance(exc, RecordTooLarge | InvalidEvent) else "internal"
    return [
        letter(record.value or b"", (h.DLQ_DETAIL, str(exc).encode()[:100])),
        OutgoingRecord("seen", reason.encode()),
    ]


async def test_an_output_too_large_turns_the_record_into_a_dead_letter():
    async def handle(record):
        return [OutgoingRecord("notify.deliveries.webhook", b"d" * 5000, b"n-1")]

    outputs = await handle_guarded(handle, dead_letter_of, FakeRecord(b"{}"), max_record_bytes=4000)
    assert [o.topic for o in outputs] == [EVENTS_DLQ, "seen"]
    assert outputs[1].value == b"too_large"
    assert b"notify.deliveries.webhook would be" in dict(outputs[0].headers)[h.DLQ_DETAIL]


async def test_without_a_limit_nothing_is_checked():
    async def handle(record):
        return [OutgoingRecord(EVENTS, b"d" * 5000)]

    outputs = await handle_guarded(handle, dead_letter_of, FakeRecord(b"{}"))
    assert [o.topic for o in outputs] == [EVENTS]


@pytest.mark.parametrize("raises", [False, True])
async def test_a_dead_letter_too_large_is_cut_to_fit_and_keeps_its_reason(raises):
    big = b"{" + b"x" * 9000

    async def handle(record):
        if raises:
            raise ValueError("unreadable")
        return [letter(record.value)]  # a handler's own dead letter: not routed again

    outputs = await handle_guarded(handle, dead_letter_of, FakeRecord(big), max_record_bytes=3000)
    assert all(record_size(o) <= 3000 for o in outputs)
    [dlq] = [o for o in outputs if o.topic == EVENTS_DLQ]
    assert h.header(dlq.headers, h.DLQ_TRUNCATED) == str(len(big))
    assert h.header(dlq.headers, h.DLQ_REASON) == "invalid_json"
    assert [o.value for o in outputs if o.topic == "seen"] == ([b"internal"] if raises else [])


def an_event(size_of_padding: int) -> dict:
    return {
        "id": "ev-1",
        "type": "app_deployed",
        "created_at": "2026-03-12T17:05:14+01:00",
        "app_id": "app-1",
        "type_data": {"status": "success", "padding": "p" * size_of_padding},
    }


@pytest.mark.parametrize("raw", [False, True])
def test_ingest_refuses_an_event_over_its_limit_with_reason_too_large(raw):
    event = an_event(3000)
    body = json.dumps(event).encode()
    verdict, out = triage(
        None if raw else event,
        RecentIds(10, 60),
        0.0,
        source="test",
        raw=body if raw else None,
        limits=Limits(event_bytes=2048, record_bytes=1500),
    )
    assert verdict.status is Status.REJECTED
    assert verdict.error is not None
    assert verdict.error.reason is FailureReason.TOO_LARGE
    assert "more than the 2048 accepted" in verdict.error.detail
    assert out is not None
    assert out.topic == EVENTS_DLQ
    assert record_size(out) <= 1500
    assert h.header(out.headers, h.DLQ_REASON) == "too_large"
    assert h.header(out.headers, h.DLQ_TRUNCATED) is not None


def test_ingest_accepts_an_event_within_its_limit():
    verdict, out = triage(
        an_event(100), RecentIds(10, 60), 0.0, source="test", limits=Limits(event_bytes=2048)
    )
    assert verdict.status is Status.ACCEPTED
    assert out is not None
    assert out.topic == EVENTS
