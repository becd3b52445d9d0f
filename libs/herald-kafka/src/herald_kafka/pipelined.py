"""A commit-after-ack consumer loop that keeps many records in flight, with no batch barrier.

`ConsumerLoop(concurrency=n)` handles a batch concurrently but waits for its slowest record
before it fetches again, so one slow receiver stalls every other. This loop slides instead:

    fetch   while fewer than `max_pending` records are unfinished (handled or waiting to be)
            and fewer than `max_uncommitted` are held (finished ones awaiting the commit of an
            earlier record included): getmany, and start a task
            per record; at most `concurrency` handlers run at once (a semaphore), and a record
            starts only once the previous record of its key on its partition has finished
            (records of one key stay in order; a record without a key orders nothing); with
            `admit`, a record also enters `admit(record)` before it takes a slot (a sender waits
            for its endpoint's limits there, so a busy endpoint's queue holds no slot)
    flush   every `commit_interval_s`: per partition, take the longest run of finished records
            at the head of its queue (offset order), produce their outputs in that order, await
            every ack, then commit offset+1 of the last one

So an offset is committed only once every record up to it has its outputs on Kafka, as in
`ConsumerLoop`; a slow record holds back its partition's commit, not the handling of the
records after it: finished records wait behind it (up to `max_uncommitted`, 10 x `max_pending`
by default, which is what a hanging receiver's timeout needs to ride out at full speed) while
the fetch goes on. Handlers keep running while a flush awaits its acks.

Failures: a handler that raises becomes `on_error`'s outputs (`handle_guarded`). If producing
or committing fails, every task in flight is cancelled, each partition is rewound to its first
uncommitted record and the loop pauses `retry_pause_s`: at-least-once, never a loss.
Rebalances (`herald_kafka.loop.RebalanceListener`, shared with the other loops): the revoke
listener's `drain` stops the fetching and waits until every record in flight is
flushed and committed (the loop keeps flushing meanwhile), then lets the partitions go. Stop:
fetching stops, the records in flight are finished and committed, the loop returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from herald_kafka.loop import ErrorHandler, RecordHandler, RecordLoop
from herald_kafka.producer import OutgoingRecord
from herald_kafka.records import Record

log = structlog.get_logger(__name__)

ChainKey = tuple[str, int, bytes | int]
Admission = Callable[[Record], AbstractAsyncContextManager[object]]
"""Entered before a record takes a concurrency slot, held until it is handled; must not raise."""


@dataclass(frozen=True, slots=True)
class _Slot:
    record: Record
    task: asyncio.Task[Sequence[OutgoingRecord]]


class PipelinedConsumerLoop(RecordLoop):
    """Consume, handle many at once, produce, await acks, commit in order; until `stop`."""

    rewind_event = "flush_failed_rewinding"

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        handle: RecordHandler,
        on_error: ErrorHandler,
        topics: Sequence[str],
        concurrency: int = 64,
        max_records: int = 500,
        max_pending: int | None = None,
        max_uncommitted: int | None = None,
        poll_timeout_ms: int = 200,
        commit_interval_s: float = 0.05,
        retry_pause_s: float = 1.0,
        max_record_bytes: int | None = None,
        admit: Admission | None = None,
    ) -> None:
        if concurrency < 1 or max_records < 1:
            raise ValueError("concurrency and max_records must be >= 1")
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
        self._concurrency = concurrency
        self._max_pending = max_pending or max(2 * max_records, 4 * concurrency)
        self._max_uncommitted = max(max_uncommitted or 10 * self._max_pending, self._max_pending)
        self._commit_interval_s = commit_interval_s
        self._admit = admit
        self._limit = asyncio.Semaphore(concurrency)
        self._queues: dict[TopicPartition, deque[_Slot]] = {}
        self._chains: dict[ChainKey, asyncio.Task[Sequence[OutgoingRecord]]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._in_flight = 0
        self._unfinished = 0
        self._progress = asyncio.Event()
        self.processed = 0
        self.commits = 0

    @property
    def in_flight(self) -> int:
        """Records fetched and not yet committed."""
        return self._in_flight

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; the records in flight are finished and committed first."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                await self._loop(stop)
            finally:
                self._cancel_all()
                self._group = None

    async def _loop(self, stop: asyncio.Event) -> None:
        last_flush = time.monotonic()
        while not (stop.is_set() and self._in_flight == 0):
            fetching = not stop.is_set() and not self._draining
            room = min(
                self._max_records,
                self._max_pending - self._unfinished,
                self._max_uncommitted - self._in_flight,
            )
            if fetching and room > 0:
                timeout_ms = self._poll_timeout_ms if self._in_flight == 0 else 10
                self._start(await self._fetch(stop, timeout_ms=timeout_ms, max_records=room))
            else:
                await self._wait_progress(self._poll_timeout_ms / 1000)
            hurry = stop.is_set() or self._draining or room <= 0
            if hurry or time.monotonic() - last_flush >= self._commit_interval_s:
                await self._flush()
                last_flush = time.monotonic()

    def _start(self, batches: dict[TopicPartition, list[Record]]) -> None:
        assert self._group is not None
        for tp, records in batches.items():
            queue = self._queues.setdefault(tp, deque())
            for record in records:
                key: ChainKey = (
                    tp.topic,
                    tp.partition,
                    record.key if record.key is not None else record.offset,
                )
                task = self._group.create_task(self._run_one(record, self._chains.get(key)))
                self._chains[key] = task
                task.add_done_callback(functools.partial(self._finished, key))
                queue.append(_Slot(record, task))
                self._in_flight += 1
                self._unfinished += 1
        if self._in_flight:
            self._idle.clear()

    async def _run_one(
        self, record: Record, previous: asyncio.Task[Sequence[OutgoingRecord]] | None
    ) -> Sequence[OutgoingRecord]:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # its order, without its outcome or cancellation
        if self._admit is None:
            async with self._limit:
                return await self._handle_one(record)
        async with self._admit(record), self._limit:
            return await self._handle_one(record)

    def _finished(self, key: ChainKey, task: asyncio.Task[Sequence[OutgoingRecord]]) -> None:
        if self._chains.get(key) is task:
            del self._chains[key]
        self._unfinished -= 1
        self._progress.set()

    async def _wait_progress(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._progress.wait(), timeout_s)
        self._progress.clear()

    async def _flush(self) -> None:
        """Produce and commit every partition's finished head; rewind everything on failure."""
        outputs: list[OutgoingRecord] = []
        commits: dict[TopicPartition, int] = {}
        firsts: dict[TopicPartition, int] = {}
        for tp, queue in self._queues.items():
            while queue and queue[0].task.done():
                slot = queue.popleft()
                outputs.extend(slot.task.result())
                firsts.setdefault(tp, slot.record.offset)
                commits[tp] = slot.record.offset + 1
        if not commits:
            return
        if not await self._commit_after_acks(outputs, commits, lambda: self._rewind_to(firsts)):
            return
        self.commits += 1
        self._recount()

    def _recount(self) -> None:
        before = self._in_flight
        self._in_flight = sum(len(queue) for queue in self._queues.values())
        self.processed += before - self._in_flight
        if self._in_flight == 0:
            self._idle.set()

    def _rewind_to(self, firsts: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        """Each partition's first uncommitted record: the flushed ones, else its queue's head."""
        starts = dict(firsts)
        for tp, queue in self._queues.items():
            if queue and tp not in starts:
                starts[tp] = queue[0].record.offset
        return starts

    def _abandon_in_flight(self) -> None:
        self._cancel_all()
        self._in_flight = 0
        self._idle.set()

    def _cancel_all(self) -> None:
        for queue in self._queues.values():
            for slot in queue:
                slot.task.cancel()
        self._queues.clear()
        self._chains.clear()
