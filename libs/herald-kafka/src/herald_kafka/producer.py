"""Producer factories and the outgoing-record type.

Every Herald producer is idempotent (`enable_idempotence=True`, which forces `acks=all`), so a
retried send never duplicates a record in a partition. A transactional producer exists for the
few places that want atomic multi-topic writes; correctness never depends on it (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from herald_core import headers as h
from herald_core.envelope import Event
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS

from herald_kafka.batching import send_batched
from herald_kafka.connection import client_options

log = structlog.get_logger(__name__)

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class OutgoingRecord:
    """A record a handler wants written; the shell produces it and awaits the ack."""

    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: Headers = field(default_factory=list)


RECORD_OVERHEAD = 100
"""Bytes a record costs besides its key, value and headers, counted generously: the batch's
header (61 bytes for a batch of one) and the record's own lengths, offsets and times."""
HEADER_OVERHEAD = 10
"""Per header: the two lengths (varints)."""


def record_size(record: OutgoingRecord) -> int:
    """An upper bound of the bytes `record` takes in a produce request of its own. Pure."""
    headers = sum(HEADER_OVERHEAD + len(k.encode()) + len(v) for k, v in record.headers)
    return RECORD_OVERHEAD + len(record.key or b"") + len(record.value or b"") + headers


def fitted(record: OutgoingRecord, limit: int) -> OutgoingRecord:
    """`record` when it is at most `limit` bytes (`record_size`); else the same record with its
    value cut to its first bytes so that it fits, and `x-dlq-truncated` (the value's size) added.

    For dead letters, which must be written whatever they carry: the reason travels in the
    headers. Should the headers alone not fit, only Herald's own `x-` ones are kept. Pure.
    """
    if record_size(record) <= limit:
        return record
    value = record.value or b""
    mark = (h.DLQ_TRUNCATED, str(len(value)).encode())
    headers = [*record.headers, mark]
    room = limit - record_size(OutgoingRecord(record.topic, b"", record.key, headers))
    if room < 0:
        headers = [(k, v[:1000]) for k, v in record.headers if k.startswith("x-")] + [mark]
        room = limit - record_size(OutgoingRecord(record.topic, b"", record.key, headers))
    return OutgoingRecord(record.topic, value[: max(0, room)], record.key, headers)


def event_record(
    event: Event, traceparent: str | None = None, tracestate: str | None = None
) -> OutgoingRecord:
    """The `notify.events` record: keyed by app id (else owner id), CloudEvents binary headers.

    Pure. Shared by every writer of events: ingest, derive and alerter.
    """
    headers = h.cloudevent_headers(
        event.id, event.type, event.source, event.created_at.isoformat(), traceparent, tracestate
    )
    return OutgoingRecord(EVENTS, event.to_json(), event.key.encode(), headers)


def idempotent_producer(
    settings: KafkaSettings, *, linger_ms: int = 5, transactional_id: str | None = None
) -> AIOKafkaProducer:
    """An unstarted idempotent producer (acks=all). Pass `transactional_id` for transactions."""
    return AIOKafkaProducer(
        **client_options(
            settings,
            enable_idempotence=True,
            acks="all",
            linger_ms=linger_ms,
            transactional_id=transactional_id,
            max_request_size=2 * 1024 * 1024,
        )
    )


async def send_all(producer: AIOKafkaProducer, records: Iterable[OutgoingRecord]) -> None:
    """Send records and return only once the broker acknowledged every one of them: two or
    more as one batch per partition (`herald_kafka.batching`).

    Raises:
        aiokafka.errors.KafkaError: when any send failed; nothing is committed by callers then.
    """
    records = list(records)
    # (a unit test's stand-in for a producer has `send` only)
    if len(records) > 1 and isinstance(producer, AIOKafkaProducer):
        await send_batched(producer, records)
        return
    futures: Sequence[asyncio.Future[object]] = [
        await producer.send(r.topic, value=r.value, key=r.key, headers=r.headers) for r in records
    ]
    if futures:
        await asyncio.gather(*futures)


class BrokerTimeout(KafkaError):  # type: ignore[misc]  # aiokafka is untyped
    """The broker did not acknowledge within the time a caller can wait (`send_all_within`)."""


async def send_all_within(
    producer: AIOKafkaProducer, records: Iterable[OutgoingRecord], timeout_s: float
) -> None:
    """`send_all`, but a request handler's answer cannot wait for a broker that is away: give up
    after `timeout_s`. The sends go on in the background (the producer keeps what it holds), so
    a record given up on may still be written later: the caller answers "try again", and the
    record is idempotent (the same delivery id), never lost nor half-written.

    Raises:
        BrokerTimeout: no acknowledgement within `timeout_s` (a KafkaError).
        aiokafka.errors.KafkaError: when a send failed before that.
    """
    sending = asyncio.ensure_future(send_all(producer, records))
    sending.add_done_callback(_retrieve)
    try:
        await asyncio.wait_for(asyncio.shield(sending), timeout_s)
    except TimeoutError:
        raise BrokerTimeout(f"no acknowledgement from the broker within {timeout_s:g}s") from None


def _retrieve(task: asyncio.Future[None]) -> None:
    """A send given up on may fail later: read its outcome so it is logged, not warned about."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("late_send_failed", error=str(task.exception())[:300])


async def broker_reachable(producer: AIOKafkaProducer, timeout_s: float) -> None:
    """Ask the cluster for its metadata: returns when a broker answered within `timeout_s`.

    Raises:
        TimeoutError, aiokafka.errors.KafkaError: when no broker answered.
    """
    await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s)


async def stop_producer(producer: AIOKafkaProducer, timeout_s: float = 10.0) -> None:
    """Flush and close `producer`, but give up after `timeout_s`: with the broker down, aiokafka
    keeps retrying what it holds and a plain `stop()` would hold the service's shutdown until
    the orchestrator kills it. Nothing acknowledged is lost: what is left was never acked.

    Abandoning ends aiokafka's sender task (which fails the batches it holds), so that `stop()`
    goes on to close the connections instead of leaving a client retrying in the background
    (aiokafka offers no public way to do that; `_sender` is its own attribute)."""
    stopping = asyncio.ensure_future(producer.stop())
    try:
        await asyncio.wait_for(asyncio.shield(stopping), timeout_s)
        return
    except TimeoutError:
        log.warning("producer_stop_abandoned", timeout_s=timeout_s)
    sender_task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    if sender_task is not None:
        sender_task.cancel()
    try:
        await asyncio.wait_for(stopping, timeout_s)
    except (TimeoutError, KafkaError, OSError) as error:
        log.warning("producer_close_failed", error=f"{type(error).__name__}: {error}"[:300])
