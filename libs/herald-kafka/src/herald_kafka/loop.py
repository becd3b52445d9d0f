"""What the three commit-after-ack consumer loops share (`ConsumerLoop`, `DelayedConsumerLoop`,
`PipelinedConsumerLoop`): the guarded handler, the rebalance listener, the commit-or-rewind.

    handle    `handle_guarded`: a record whose handler raises becomes `on_error`'s outputs (a
              dead letter with the reason), so one bad record never blocks its partition; so
              does a record whose outputs would be larger than `max_record_bytes` (reason
              `too_large`), and a dead letter that large is cut to fit: the broker would refuse
              it, and aiokafka's idempotent producer, once a send failed for good, fails every
              later send to that partition (its sequence numbers are not reset)
    commit    `_commit_after_acks`: produce the outputs, await every ack, commit; if producing or
              committing fails, rewind each partition to its first uncommitted record and pause
              `retry_pause_s` (at-least-once, never a loss)
    rebalance `RebalanceListener`: on revoke, wait until the work in flight is committed
              (`drain`), then forget the revoked partitions' state; on assign, reset state

A loop says what its state is by overriding `_forget` (revoked partitions), `_reset_on_assign`
and `_abandon_in_flight` (before a rewind); the rest is here, once.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from herald_core import headers as h
from herald_core.errors import RecordTooLarge

from herald_kafka.producer import OutgoingRecord, fitted, record_size, send_all
from herald_kafka.records import Record

log = structlog.get_logger(__name__)

RecordHandler = Callable[[Record], Awaitable[Sequence[OutgoingRecord]]]
ErrorHandler = Callable[[Record, Exception], Sequence[OutgoingRecord]]


async def handle_guarded(
    handle: RecordHandler,
    on_error: ErrorHandler,
    record: Record,
    max_record_bytes: int | None = None,
) -> Sequence[OutgoingRecord]:
    """Run the handler; a record it cannot handle becomes `on_error`'s outputs (a dead letter).

    With `max_record_bytes`, a record with an output larger than that (a dead letter aside) is
    given to `on_error` too, as a `RecordTooLarge`, and any output still larger is cut to fit
    (`herald_kafka.producer.fitted`): nothing the broker would refuse is ever sent.

    This is the only place a bare `except Exception` is allowed: a poison record must never
    block its partition. Cancellation passes through.
    """
    try:
        outputs = await handle(record)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        _log_failed(record, exc)
        outputs = on_error(record, exc)
        return outputs if max_record_bytes is None else _fit(outputs, max_record_bytes)
    if max_record_bytes is None:
        return outputs
    large = [o for o in outputs if record_size(o) > max_record_bytes and not _is_dead_letter(o)]
    if large:
        too_large = RecordTooLarge(
            f"its output to {large[0].topic} would be {record_size(large[0])} bytes, more than "
            f"the {max_record_bytes} Herald writes"
        )
        _log_failed(record, too_large)
        outputs = on_error(record, too_large)
    return _fit(outputs, max_record_bytes)


async def fetch_or_stop(
    consumer: AIOKafkaConsumer,
    *stops: asyncio.Event,
    timeout_ms: int,
    max_records: int | None = None,
) -> dict[TopicPartition, list[Record]]:
    """`consumer.getmany(...)`, or nothing once one of `stops` is set before it returned (the
    fetch is cancelled: what it had not handed over is fetched again by whoever reads next)."""
    if any(stop.is_set() for stop in stops):
        # yield all the same: a loop that fetches again at once (its drain not resumed yet)
        # must not spin without letting the drain run and clear its event
        await asyncio.sleep(0)
        return {}
    fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=timeout_ms, max_records=max_records))
    stopped = [asyncio.ensure_future(stop.wait()) for stop in stops]
    try:
        await asyncio.wait((fetch, *stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in stopped:
            waiter.cancel()
        if not fetch.done():
            fetch.cancel()
            await asyncio.wait((fetch,))  # its cancellation runs to the end (fetch context left)
    if fetch.cancelled():
        return {}
    batches: dict[TopicPartition, list[Record]] = fetch.result()
    return batches


def _is_dead_letter(output: OutgoingRecord) -> bool:
    return any(key == h.DLQ_REASON for key, _ in output.headers)


def _fit(outputs: Sequence[OutgoingRecord], limit: int) -> Sequence[OutgoingRecord]:
    if all(record_size(o) <= limit for o in outputs):
        return outputs
    return [fitted(o, limit) for o in outputs]


def _log_failed(record: Record, exc: Exception) -> None:
    log.warning(
        "record_failed",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        error_type=type(exc).__name__,
        error=str(exc)[:500],
    )


class RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit on revoke (wait for the loop to drain), reset the loop's state on assign."""

    def __init__(self, loop: LoopBase) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._loop.drain()
        self._loop._forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._loop._reset_on_assign()
        log.info(
            "partitions_assigned",
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )


class LoopBase(ABC):
    """The shared shell of a group consumer loop; subclasses implement `run`.

    A loop that hands records to a handler one at a time is a `RecordLoop`; a loop that works
    on whole batches itself (the alerter's) derives from this class directly."""

    rewind_event = "batch_failed_rewinding"

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        topics: Sequence[str],
        max_records: int,
        poll_timeout_ms: int,
        retry_pause_s: float,
        max_record_bytes: int | None = None,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._topics = list(topics)
        self._max_records = max_records
        self._poll_timeout_ms = poll_timeout_ms
        self._retry_pause_s = retry_pause_s
        self._max_record_bytes = max_record_bytes
        self._idle = asyncio.Event()  # set while nothing fetched is left uncommitted
        self._idle.set()
        self._draining = 0  # rebalances waiting in `drain`
        self._drain_requested = asyncio.Event()  # set while `_draining`: a fetch gives up

    def subscribe(self) -> None:
        """Subscribe with the rebalance listener; call once, after the consumer started."""
        self._consumer.subscribe(self._topics, listener=RebalanceListener(self))

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, then finish and commit what is in flight."""

    async def drain(self) -> None:
        """Return once everything fetched is committed (a rebalance waits here).

        A fetch in progress is given up first: once a rebalance has begun, aiokafka's
        `getmany` waits for the new assignment, which waits for this revoke callback, which
        waits for the loop to commit what it holds (the pipelined loop holds records across
        fetches): without this, the three would wait on each other for ever.
        """
        self._draining += 1
        self._drain_requested.set()
        try:
            await self._idle.wait()
        finally:
            self._draining -= 1
            if not self._draining:
                self._drain_requested.clear()

    async def _fetch(
        self, stop: asyncio.Event, *, timeout_ms: int, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        """`getmany`, given up (nothing returned) when `stop` is set or a rebalance asks the
        loop to drain meanwhile: aiokafka's `getmany` waits for a group assignment in progress
        without any timeout, so with the broker gone mid-join it would never return, and in a
        rebalance it would wait for the very drain that waits for this loop (`drain`)."""
        return await fetch_or_stop(
            self._consumer,
            stop,
            self._drain_requested,
            timeout_ms=timeout_ms,
            max_records=max_records,
        )

    def _forget(self, revoked: list[TopicPartition]) -> None:  # noqa: B027 - an optional hook
        """Drop what the loop keeps about partitions it lost (after `drain`)."""

    def _reset_on_assign(self) -> None:  # noqa: B027 - an optional hook
        """Reset what an assignment invalidates (aiokafka resumes every assigned partition)."""

    def _abandon_in_flight(self) -> None:  # noqa: B027 - an optional hook
        """Before a rewind: drop the work fetched and not committed (it will be read again)."""

    async def _commit_after_acks(
        self,
        outputs: Sequence[OutgoingRecord],
        commits: Mapping[TopicPartition, int],
        rewind_to: Callable[[], Mapping[TopicPartition, int]],
    ) -> bool:
        """Produce `outputs`, await every ack, then commit `commits` (partition → next offset).

        On a `KafkaError` the partitions are sought back to `rewind_to()` (called before
        `_abandon_in_flight`), the loop pauses `retry_pause_s`, and the answer is False.
        """
        try:
            await send_all(self._producer, outputs)
            if commits:
                await self._consumer.commit(
                    {tp: OffsetAndMetadata(offset, "") for tp, offset in commits.items()}
                )
        except KafkaError as exc:
            log.warning(self.rewind_event, error=str(exc), retry_in_s=self._retry_pause_s)
            starts = dict(rewind_to())
            self._abandon_in_flight()
            for tp, offset in starts.items():
                self._consumer.seek(tp, offset)
            await asyncio.sleep(self._retry_pause_s)
            return False
        return True


class RecordLoop(LoopBase):
    """A loop that hands each record to `handle`, a failure to `on_error` (`handle_guarded`)."""

    def __init__(self, *, handle: RecordHandler, on_error: ErrorHandler, **base: Any) -> None:
        super().__init__(**base)
        self._handle = handle
        self._on_error = on_error

    async def _handle_one(self, record: Record) -> Sequence[OutgoingRecord]:
        return await handle_guarded(self._handle, self._on_error, record, self._max_record_bytes)
