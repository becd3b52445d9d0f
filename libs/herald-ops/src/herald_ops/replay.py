"""The Kafka side of `herald-ops dlq`: read a DLQ, replay it, purge it.

Reads are bounded: every command takes a DLQ's end offsets when it starts and reads from the
beginning up to them, with no consumer group and no commits, so a DLQ that grows meanwhile never
makes a command run forever, and an operator's read leaves no trace on the broker. Purge deletes
up to those same end offsets: a dead letter that arrives during a purge is kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType

from herald_core.settings import KafkaSettings
from herald_kafka import TopicPartition
from herald_kafka.admin import delete_records_before
from herald_kafka.connection import start_client
from herald_kafka.producer import idempotent_producer
from herald_kafka.reader import AssignedReader

from herald_ops.dlq import (
    DeadLetter,
    DlqFilter,
    ReplaySummary,
    Skipped,
    StatRow,
    TokenBucket,
    dlq_topic,
    plan_replay,
    summarize,
)

ACK_BATCH = 500  # sends in flight before awaiting their acks: bounds memory on a large DLQ
Progress = Callable[[int], None]  # called with the number of records just read


class DlqReader:
    """An async context manager over one DLQ topic, bounded by its end offsets at start."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._reader = AssignedReader(settings, [topic], start="beginning", committed_only=True)
        self.bounds: dict[TopicPartition, tuple[int, int]] = {}

    async def __aenter__(self) -> DlqReader:
        """Raises LookupError when the broker does not know the topic."""
        await self._reader.start()
        self.bounds = {tp: (b.beginning, b.end) for tp, b in self._reader.bounds.items()}
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._reader.stop()

    @property
    def total(self) -> int:
        """Records in the bounded range (an upper bound: transaction markers take offsets too)."""
        return sum(end - start for start, end in self.bounds.values())

    async def letters(self, progress: Progress | None = None) -> AsyncGenerator[DeadLetter, None]:
        """Every record from the low watermark up to the end offsets seen at start."""
        async with aclosing(self._reader.read_until_end()) as batches:
            async for records in batches:
                for record in records:
                    yield DeadLetter(
                        record.topic,
                        record.partition,
                        record.offset,
                        record.timestamp,
                        record.key,
                        record.value,
                        tuple(record.headers),
                    )
                if progress is not None:
                    progress(len(records))


async def collect_stats(settings: KafkaSettings, names: list[str]) -> list[StatRow]:
    """Stats rows of the DLQs `names` (channel names or `events`); a missing topic is skipped."""
    rows: list[StatRow] = []
    for name in names:
        try:
            async with DlqReader(settings, dlq_topic(name)) as reader:
                rows.extend(summarize(name, [letter async for letter in reader.letters()]))
        except LookupError:
            continue
    return rows


async def read_letters(
    settings: KafkaSettings, name: str, selection: DlqFilter, limit: int
) -> list[DeadLetter]:
    """The first `limit` dead letters of DLQ `name` that match `selection`, oldest first."""
    found: list[DeadLetter] = []
    async with DlqReader(settings, dlq_topic(name)) as reader, aclosing(reader.letters()) as scan:
        async for letter in scan:
            if selection.matches(letter):
                found.append(letter)
                if len(found) >= limit:
                    break
    return found


@dataclass
class ReplayOptions:
    """How `replay` paces and reports itself."""

    dry_run: bool = False
    rate: float | None = None  # records per second; None: as fast as the broker acks
    on_total: Callable[[int], None] | None = None
    on_progress: Progress | None = None


async def replay(
    settings: KafkaSettings, name: str, selection: DlqFilter, options: ReplayOptions
) -> ReplaySummary:
    """Re-produce the matching dead letters of DLQ `name` (see `plan_replay`) and await the acks.

    Raises:
        LookupError: when the DLQ topic does not exist.
        aiokafka.errors.KafkaError: when a send failed (records already acked stay replayed;
            the sender's idempotency key makes replaying them again harmless).
    """
    summary = ReplaySummary(dry_run=options.dry_run)
    bucket = TokenBucket(options.rate) if options.rate else None
    producer = None if options.dry_run else idempotent_producer(settings)
    if producer is not None:
        await start_client(producer, settings)
    try:
        async with DlqReader(settings, dlq_topic(name)) as reader:
            if options.on_total is not None:
                options.on_total(reader.total)
            acks: list[asyncio.Future[object]] = []
            async for letter in reader.letters(options.on_progress):
                summary.scanned += 1
                if not selection.matches(letter):
                    continue
                summary.matched += 1
                plan = plan_replay(name, letter)
                if isinstance(plan, Skipped):
                    summary.skip(plan.why)
                    continue
                if producer is None:
                    continue
                if bucket is not None:
                    await asyncio.sleep(bucket.reserve(time.monotonic()))
                acks.append(
                    await producer.send(plan.topic, plan.value, plan.key, headers=plan.headers)
                )
                summary.produced += 1
                if len(acks) >= ACK_BATCH:
                    await asyncio.gather(*acks)
                    acks.clear()
            await asyncio.gather(*acks)
    finally:
        if producer is not None:
            await producer.stop()
    return summary


async def purge(settings: KafkaSettings, name: str) -> dict[int, tuple[int, int]]:
    """Delete the records of DLQ `name` up to its end offsets seen now.

    Returns `{partition: (records deleted, new low watermark)}`.

    Raises:
        LookupError: when the DLQ topic does not exist.
        aiokafka.errors.KafkaError: when the broker refused.
    """
    async with DlqReader(settings, dlq_topic(name)) as reader:
        bounds = dict(reader.bounds)
    low = await delete_records_before(
        settings, {tp: end for tp, (start, end) in bounds.items() if start < end}
    )
    return {
        tp.partition: (low.get(tp, start) - start, low.get(tp, start))
        for tp, (start, _end) in bounds.items()
    }
