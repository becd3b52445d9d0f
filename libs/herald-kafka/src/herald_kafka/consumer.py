"""The commit-after-ack consumer shell (docs/contributing.md).

    read a batch → handle each record → produce its outputs → await every ack → commit offset+1

With `concurrency` above 1 the records of a batch are handled concurrently (a sender waiting on
slow receivers): records with the same key on the same partition stay in order, one after the
other, in a chain of their own; chains run side by side, at most `concurrency` handlers at once
(an `asyncio.Semaphore`). Outputs are still produced in the records' order, once the whole
batch is handled, and the commit still comes after every ack, so an offset is only committed
when every record up to it has its outputs on Kafka. The price of this simple design is
head-of-line blocking between batches: the next batch waits for the slowest record of this
one (bounded by the handler's own timeouts). A key's order holds across batches too, since
batches never overlap. `herald_kafka.pipelined.PipelinedConsumerLoop` removes that barrier
(the sender uses it).

Failures and rebalances are `herald_kafka.loop.LoopBase`'s, shared by the three loops: a record
whose handler raises is given to `on_error`, which turns it into outputs of its own (a dead
letter with the reason), so one bad record never blocks its partition. If producing or
committing fails, the batch's partitions are rewound to the first uncommitted record and the batch
is tried again after a pause: at-least-once, never a loss. A rebalance waits for the batch in
flight to be committed before the partitions go (the listener waits on an idle flag; a fetch in
progress is given up when it starts waiting, so a rebalance cannot deadlock on aiokafka's
`getmany`, which waits for the new assignment).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from herald_core.settings import KafkaSettings

from herald_kafka.closing import close_consumer
from herald_kafka.connection import client_options, start_client
from herald_kafka.lag import OWN_LAG_EVERY_S, LagReport, sample_own_lag
from herald_kafka.loop import ErrorHandler, RecordHandler, RecordLoop, handle_guarded
from herald_kafka.producer import OutgoingRecord
from herald_kafka.reader import topic_partitions
from herald_kafka.records import Record

__all__ = [
    "ConsumerFactory",
    "ConsumerLoop",
    "ErrorHandler",
    "GroupLoop",
    "Record",
    "RecordHandler",
    "commit_at_end",
    "group_consumer",
    "handle_guarded",
    "ordering_chains",
    "run_group",
]

log = structlog.get_logger(__name__)


ConsumerFactory = Callable[[KafkaSettings, str], AIOKafkaConsumer]
"""Builds the unstarted group consumer of `run_group` (a benchmark passes its own)."""


def group_consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> AIOKafkaConsumer:
    """An unstarted group consumer with manual commits, reading from the earliest offset.

    It subscribes to nothing: `ConsumerLoop.subscribe` does, with its rebalance listener.
    (Subscribing twice changes the assignment under aiokafka's running fetcher and kills it.)
    """
    options = client_options(
        settings,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_partition_fetch_bytes=settings.max_partition_fetch_bytes,
    )
    options.update(overrides)
    return AIOKafkaConsumer(**options)


class ConsumerLoop(RecordLoop):
    """Consume, handle, produce, await acks, commit; until `stop` is set."""

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        handle: RecordHandler,
        on_error: ErrorHandler,
        topics: Sequence[str],
        max_records: int = 500,
        poll_timeout_ms: int = 200,
        retry_pause_s: float = 1.0,
        max_record_bytes: int | None = None,
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
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
        self.processed = 0
        self.batches = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; the batch in flight is finished and committed first."""
        while not stop.is_set():
            batches = await self._fetch(
                stop, timeout_ms=self._poll_timeout_ms, max_records=self._max_records
            )
            if not batches:
                continue
            self._idle.clear()
            try:
                await self._process(batches)
            finally:
                self._idle.set()

    async def _process(self, batches: dict[TopicPartition, list[Record]]) -> None:
        records = [record for recs in batches.values() for record in recs]
        if self._concurrency == 1:
            outputs: list[OutgoingRecord] = []
            for record in records:
                outputs.extend(await self._handle_one(record))
        else:
            outputs = await self._handle_concurrently(records)
        committed = await self._commit_after_acks(
            outputs,
            {tp: recs[-1].offset + 1 for tp, recs in batches.items()},
            lambda: {tp: recs[0].offset for tp, recs in batches.items()},
        )
        if committed:
            self.processed += len(records)
            self.batches += 1

    async def _handle_concurrently(self, records: Sequence[Record]) -> list[OutgoingRecord]:
        """Handle `records`, each key's in order, up to `concurrency` at once; outputs in order."""
        results: list[Sequence[OutgoingRecord]] = [()] * len(records)
        limit = asyncio.Semaphore(self._concurrency)

        async def run_chain(indexes: list[int]) -> None:
            for index in indexes:
                async with limit:
                    results[index] = await self._handle_one(records[index])

        async with asyncio.TaskGroup() as group:
            for indexes in ordering_chains(records).values():
                group.create_task(run_chain(indexes))
        return [output for outputs in results for output in outputs]


def ordering_chains(records: Sequence[Record]) -> dict[tuple[str, int, bytes | int], list[int]]:
    """The positions of `records` grouped into chains that must run in order. Pure.

    Records with the same key on the same partition form one chain, in offset order; a record
    without a key is a chain of its own (nothing orders it against the others).
    """
    chains: dict[tuple[str, int, bytes | int], list[int]] = {}
    for index, record in enumerate(records):
        key = record.key if record.key is not None else record.offset
        chains.setdefault((record.topic, record.partition, key), []).append(index)
    return chains


class GroupLoop(Protocol):
    """What `run_group` needs of a consumer loop."""

    def subscribe(self) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...


async def run_group(
    settings: KafkaSettings,
    group_id: str,
    topics: Sequence[str],
    *,
    producer: AIOKafkaProducer,
    handle: RecordHandler | None = None,
    on_error: ErrorHandler | None = None,
    stop: asyncio.Event,
    on_subscribed: Callable[[], None] | None = None,
    loop_class: Callable[..., GroupLoop] | None = None,
    consumer_factory: ConsumerFactory = group_consumer,
    on_lag: LagReport | None = None,
    lag_every_s: float = OWN_LAG_EVERY_S,
    **loop_options: Any,
) -> None:
    """The whole life of a service's consumer: start, subscribe, run until `stop`, close.

    `on_subscribed` runs once the group subscription is made (services flip readiness there).
    `loop_class` is `ConsumerLoop` unless given (the retry consumer passes its delayed loop).
    `handle` and `on_error` go to the loop when given; a loop that works on whole batches itself
    (the alerter's, a `LoopBase` that is no `RecordLoop`) takes neither.
    `consumer_factory` builds the unstarted consumer (`group_consumer` unless a service is given
    another, e.g. a benchmark that keeps a handle on it). The loop writes no record larger than
    `settings.max_record_bytes` unless `loop_options` say otherwise (`handle_guarded`).
    `on_lag`, when given, gets the consumer's own lag per topic every `lag_every_s` seconds
    while the loop runs (`herald_kafka.lag.sample_own_lag`).
    """
    consumer = consumer_factory(settings, group_id)
    try:
        # inside: a start that fails (no broker) still closes its client
        await start_client(consumer, settings)
        handlers = {} if handle is None else {"handle": handle, "on_error": on_error}
        loop = (loop_class or ConsumerLoop)(
            consumer=consumer,
            producer=producer,
            topics=topics,
            **{"max_record_bytes": settings.max_record_bytes, **handlers, **loop_options},
        )
        loop.subscribe()
        if on_subscribed is not None:
            on_subscribed()
        if on_lag is None:
            await loop.run(stop)
        else:
            await _run_sampling_lag(loop, consumer, stop, on_lag, lag_every_s)
    finally:
        await close_consumer(consumer)


async def _run_sampling_lag(
    loop: GroupLoop,
    consumer: AIOKafkaConsumer,
    stop: asyncio.Event,
    on_lag: LagReport,
    every_s: float,
) -> None:
    """Run `loop` until `stop`, sampling the consumer's own lag beside it; a loop that ends
    (or fails) ends the sampling too."""
    sampling_stop = asyncio.Event()
    sampler = asyncio.create_task(sample_own_lag(consumer, on_lag, sampling_stop, every_s))
    try:
        await loop.run(stop)
    finally:
        sampling_stop.set()
        await sampler


async def commit_at_end(settings: KafkaSettings, group_id: str, topics: Sequence[str]) -> None:
    """Commit `group_id`'s offsets at the current end of every partition of `topics`, so that a
    consumer of that group starts after what is there now (tests sharing topics use it).

    Raises:
        LookupError: when a topic does not exist.
        aiokafka.errors.KafkaError: when the broker refused.
    """
    consumer = group_consumer(settings, group_id)
    try:
        await start_client(consumer, settings)
        partitions = await topic_partitions(consumer, settings, topics)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await close_consumer(consumer)
