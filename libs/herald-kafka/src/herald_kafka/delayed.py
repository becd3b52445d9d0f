"""A consumer loop for records that must not be handled before their due time (retry tiers).

    read a batch → per partition, handle records while they are due
                 → at the first record not yet due: seek back to it and pause its partition
                 → produce the outputs, await every ack, commit up to the last handled record
    each poll    → resume the partitions whose head record has come due

A paused partition returns nothing from `getmany` while the others keep flowing, and the
consumer keeps polling, so the group membership and heartbeats stay alive however long a tier's
delay is. Nothing is held in memory that Kafka does not also hold but one time per partition:
the due time is read from the record (`due_at`), and the pause is only an optimisation of "seek
back and wait". A rebalance forgets pauses (aiokafka resets them); the loop re-pauses when it
meets the head record again, since it was never committed.

Clocks. A due time is a wall-clock time of the process that wrote the record, compared here
with this process's clock: if the writer's clock ran ahead (a skewed host, a clock stepped back
since), the record would wait the difference on top of its delay. With `wait_of` (the delay the
writer meant: its due time minus its write time, a duration whatever its clock), the loop
keeps, per partition, the last record it met and the local due time it gave it, and a record
met for the first time is due at the earliest of

    due_at                                   the writer's word, where clocks agree
    now + wait_of                            its delay, from the first time this loop meets it
    last local due + (due_at - last due_at)  as far after the record before it as its writer
                                             meant (so records queued behind a held one do
                                             not wait their delay again, one after the other)

Where the clocks agree the first is the earliest, so nothing changes; where the writer's clock
is behind, the record comes due early by the difference, as it did before; where it is ahead,
the record waits its delay, not the difference on top.

Failure handling and the rebalance listener are `herald_kafka.loop.LoopBase`'s: a handler that
raises is turned into outputs by `on_error`; a failed produce or commit rewinds the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from herald_core.settings import KafkaSettings

from herald_kafka.consumer import run_group
from herald_kafka.loop import ErrorHandler, RecordHandler, RecordLoop
from herald_kafka.producer import OutgoingRecord
from herald_kafka.records import Record

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch (`time.time`); a parameter so tests can move time."""
DueAt = Callable[[Record], float | None]
"""When a record may be handled, in epoch seconds; None means now."""
WaitOf = Callable[[Record], float | None]
"""How long the writer meant a record to wait, in seconds; None when it does not say."""


class DelayedConsumerLoop(RecordLoop):
    """Handle each record once it is due, pausing partitions whose head is not; until `stop`."""

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        handle: RecordHandler,
        on_error: ErrorHandler,
        topics: Sequence[str],
        due_at: DueAt,
        wait_of: WaitOf | None = None,
        clock: Clock = time.time,
        max_records: int = 100,
        poll_timeout_ms: int = 200,
        retry_pause_s: float = 1.0,
        max_record_bytes: int | None = None,
    ) -> None:
        super().__init__(
            consumer=consumer,
            producer=producer,
            handle=handle,
            on_error=on_error,
            topics=topics,
            max_records=max_records,
            poll_timeout_ms=poll_timeout_ms,
            retry_pause_s=retry_pause_s,
            max_record_bytes=max_record_bytes,
        )
        self._due_at = due_at
        self._wait_of = wait_of
        self._clock = clock
        self._paused: dict[TopicPartition, float] = {}
        self._heads: dict[TopicPartition, tuple[int, float, float]] = {}
        """Per partition, the last record met: its offset, `due_at` and local due time."""
        self.processed = 0
        self.pauses = 0

    @property
    def paused(self) -> dict[TopicPartition, float]:
        """The partitions this loop paused, with the due time of their head record."""
        return dict(self._paused)

    def _forget(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self._paused.pop(tp, None)
            self._heads.pop(tp, None)

    def _reset_on_assign(self) -> None:
        # aiokafka resumes every newly assigned partition, so what we paused is forgotten too;
        # but the loop may already have paused a partition of the new assignment (a batch read
        # while the coordinator was between assigning and calling us): keep what is paused.
        still = self._consumer.paused()
        self._paused = {tp: due for tp, due in self._paused.items() if tp in still}

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; the batch in flight is finished and committed first."""
        while not stop.is_set():
            self._resume_due()
            batches = await self._fetch(
                stop, timeout_ms=self._poll_ms(), max_records=self._max_records
            )
            if not batches:
                continue
            self._idle.clear()
            try:
                await self._process(batches)
            finally:
                self._idle.set()

    def _poll_ms(self) -> int:
        if not self._paused:
            return self._poll_timeout_ms
        until_next = (min(self._paused.values()) - self._clock()) * 1000
        return max(1, min(self._poll_timeout_ms, int(until_next) + 1))

    def _resume_due(self) -> None:
        # A partition paused without a due time known here would stay paused for good: resume
        # it, and its head record is read (and paused again if not due) on the next poll.
        orphans = self._consumer.paused() - self._paused.keys()
        if orphans:
            self._consumer.resume(*orphans)
        now = self._clock()
        due = [tp for tp, at in self._paused.items() if at <= now]
        if not due:
            return
        assigned = self._consumer.assignment()
        for tp in due:
            del self._paused[tp]
        self._consumer.resume(*[tp for tp in due if tp in assigned])

    async def _process(self, batches: dict[TopicPartition, list[Record]]) -> None:
        outputs: list[OutgoingRecord] = []
        commits: dict[TopicPartition, int] = {}
        handled = 0
        for tp, records in batches.items():
            for record in records:
                due = self.due(tp, record)
                if due is not None and due > self._clock():
                    self._pause(tp, record.offset, due)
                    break
                outputs.extend(await self._handle_one(record))
                handled += 1
                commits[tp] = record.offset + 1
        committed = await self._commit_after_acks(
            outputs, commits, lambda: {tp: recs[0].offset for tp, recs in batches.items()}
        )
        if committed:
            self.processed += handled

    def due(self, tp: TopicPartition, record: Record) -> float | None:
        """When `record` (of partition `tp`) may be handled: its `due_at`, or with `wait_of`,
        the earliest of the three times of Clocks above."""
        due = self._due_at(record)
        wait = None if due is None or self._wait_of is None else self._wait_of(record)
        if due is None or wait is None:
            return due
        last = self._heads.get(tp)
        if last is not None and last[0] == record.offset:
            return last[2]
        local = min(due, self._clock() + max(0.0, wait))
        if last is not None:
            local = min(local, last[2] + (due - last[1]))
        self._heads[tp] = (record.offset, due, local)
        return local

    def _pause(self, tp: TopicPartition, offset: int, due: float) -> None:
        """Park `tp` on its head record: read it again once it is due, not before."""
        self._consumer.seek(tp, offset)
        self._consumer.pause(tp)
        self._paused[tp] = due
        self.pauses += 1
        log.debug("partition_paused", partition=f"{tp.topic}:{tp.partition}", offset=offset)


async def run_delayed_group(
    settings: KafkaSettings,
    group_id: str,
    topics: Sequence[str],
    *,
    producer: AIOKafkaProducer,
    handle: RecordHandler,
    on_error: ErrorHandler,
    due_at: DueAt,
    stop: asyncio.Event,
    on_subscribed: Callable[[], None] | None = None,
    **loop_options: Any,
) -> None:
    """The whole life of a delayed consumer: `run_group` with a `DelayedConsumerLoop`."""
    await run_group(
        settings,
        group_id,
        topics,
        producer=producer,
        handle=handle,
        on_error=on_error,
        stop=stop,
        on_subscribed=on_subscribed,
        loop_class=DelayedConsumerLoop,
        due_at=due_at,
        **loop_options,
    )
