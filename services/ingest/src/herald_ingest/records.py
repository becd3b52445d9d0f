"""The records ingest writes, built purely from events and refusals."""

from __future__ import annotations

from herald_core import headers as h
from herald_core.errors import InvalidEvent
from herald_core.topics import EVENTS_DLQ
from herald_kafka.producer import OutgoingRecord, event_record, fitted

__all__ = ["dead_letter", "event_record"]  # event_record: herald_kafka's, kept importable here


def dead_letter(
    raw: bytes,
    error: InvalidEvent,
    *,
    source: str,
    key: bytes | None = None,
    original: list[tuple[str, bytes]] | None = None,
    max_record_bytes: int | None = None,
) -> OutgoingRecord:
    """The `notify.events.dlq` record: the bytes as received, the reason in headers; with
    `max_record_bytes`, cut to fit (`herald_kafka.producer.fitted`)."""
    headers = [
        *(original or []),
        (h.DLQ_REASON, error.reason.value.encode()),
        (h.DLQ_DETAIL, h.text_value(error.detail)),
        (h.DLQ_SOURCE, source.encode()),
    ]
    record = OutgoingRecord(EVENTS_DLQ, raw, key, headers)
    return record if max_record_bytes is None else fitted(record, max_record_bytes)
