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

A record whose handler raises is given to `on_error`, which turns it into outputs of its own
(a dead letter with the reason), so one bad record never blocks its partition. If producing or
committing fails, the batch's partitions are rewound to the first uncommitted record and the batch
is tried again after a pause: at-least-once, never a loss. A rebalance waits for the batch in
flight to be committed before the partitions go (the listener waits on an idle flag that is never
held across `getmany`, so it cannot deadlock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata
from herald_core.settings import KafkaSettings

from herald_kafka.producer import OutgoingRecord, send_all

log = structlog.get_logger(__name__)


class Record(Protocol):
    """The fields of an aiokafka `ConsumerRecord` that Herald reads (aiokafka ships no types)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


RecordHandler = Callable[[Record], Awaitable[Sequence[OutgoingRecord]]]
ConsumerFactory = Callable[[KafkaSettings, str], AIOKafkaConsumer]
ErrorHandler = Callable[[Record, Exception], Sequence[OutgoingRecord]]


def group_consumer(settings: KafkaSettings, group_id: str, **overrides: Any) -> AIOKafkaConsumer:
    """An unstarted group consumer with manual commits, reading from the earliest offset.

    It subscribes to nothing: `ConsumerLoop.subscribe` does, with its rebalance listener.
    (Subscribing twice changes the assignment under aiokafka's running fetcher and kills it.)
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "request_timeout_ms": settings.request_timeout_ms,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_partition_fetch_bytes": settings.max_partition_fetch_bytes,
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)


async def handle_guarded(
    handle: RecordHandler, on_error: ErrorHandler, record: Record
) -> Sequence[OutgoingRecord]:
    """Run the handler; a record it cannot handle becomes `on_error`'s outputs (a dead letter).

    This is the only place a bare `except Exception` is allowed: a poison record must never
    block its partition. Cancellation passes through.
    """
    try:
        return await handle(record)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning(
            "record_failed",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error_type=type(exc).__name__,
            error=str(exc)[:500],
        )
        return on_error(record, exc)


class _DrainOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, idle: asyncio.Event) -> None:
        self._idle = idle

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._idle.wait()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info(
            "partitions_assigned",
            partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned),
        )


class ConsumerLoop:
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
        concurrency: int = 1,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self._consumer = consumer
        self._producer = producer
        self._handle = handle
        self._on_error = on_error
        self._topics = list(topics)
        self._max_records = max_records
        self._poll_timeout_ms = poll_timeout_ms
        self._retry_pause_s = retry_pause_s
        self._concurrency = concurrency
        self._idle = asyncio.Event()
        self._idle.set()
        self.processed = 0
        self.batches = 0

    def subscribe(self) -> None:
        """Subscribe with the draining rebalance listener; call once, after the consumer started."""
        self._consumer.subscribe(self._topics, listener=_DrainOnRevoke(self._idle))

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set; the batch in flight is finished and committed first."""
        while not stop.is_set():
            batches = await self._consumer.getmany(
                timeout_ms=self._poll_timeout_ms, max_records=self._max_records
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
        try:
            await send_all(self._producer, outputs)
            await self._consumer.commit(
                {tp: OffsetAndMetadata(recs[-1].offset + 1, "") for tp, recs in batches.items()}
            )
        except KafkaError as exc:
            log.warning("batch_failed_rewinding", error=str(exc), retry_in_s=self._retry_pause_s)
            for tp, recs in batches.items():
                self._consumer.seek(tp, recs[0].offset)
            await asyncio.sleep(self._retry_pause_s)
            return
        self.processed += sum(len(r) for r in batches.values())
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

    async def _handle_one(self, record: Record) -> Sequence[OutgoingRecord]:
        return await handle_guarded(self._handle, self._on_error, record)


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
    handle: RecordHandler,
    on_error: ErrorHandler,
    stop: asyncio.Event,
    on_subscribed: Callable[[], None] | None = None,
    loop_class: Callable[..., GroupLoop] | None = None,
    consumer_factory: ConsumerFactory = group_consumer,
    **loop_options: Any,
) -> None:
    """The whole life of a service's consumer: start, subscribe, run until `stop`, close.

    `on_subscribed` runs once the group subscription is made (services flip readiness there).
    `loop_class` is `ConsumerLoop` unless given (the retry consumer passes its delayed loop).
    `consumer_factory` builds the unstarted consumer (`group_consumer` unless a service is given
    another, e.g. a benchmark that keeps a handle on it).
    """
    consumer = consumer_factory(settings, group_id)
    await consumer.start()
    try:
        loop = (loop_class or ConsumerLoop)(
            consumer=consumer,
            producer=producer,
            handle=handle,
            on_error=on_error,
            topics=topics,
            **loop_options,
        )
        loop.subscribe()
        if on_subscribed is not None:
            on_subscribed()
        await loop.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
