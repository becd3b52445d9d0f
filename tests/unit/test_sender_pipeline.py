"""The sender's pipelined consumer loop (`herald_kafka.pipelined`), with a fake consumer and
producer (no broker): no barrier between fetches, commits only over finished prefixes, each
key in order, outputs in offset order, a rewind when producing fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from herald_kafka.pipelined import PipelinedConsumerLoop
from herald_kafka.producer import OutgoingRecord

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = b""
    timestamp: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class FakeConsumer:
    batches: list[dict[TopicPartition, list[FakeRecord]]]
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)
    seeks: list[tuple[TopicPartition, int]] = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int):
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets) -> None:
        self.commits.append({tp: o.offset for tp, o in offsets.items()})

    def seek(self, tp, offset) -> None:
        self.seeks.append((tp, offset))

    def committed(self, tp: TopicPartition) -> int:
        return max((c[tp] for c in self.commits if tp in c), default=0)


@dataclass
class FakeProducer:
    sent: list[bytes] = field(default_factory=list)
    fail: int = 0

    async def send(self, topic, value, key, headers):
        if self.fail:
            self.fail -= 1
            raise KafkaTimeoutError()
        self.sent.append(value)
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def recs(tp: TopicPartition, keys: list[bytes | None], first: int = 0) -> list[FakeRecord]:
    return [FakeRecord(tp.topic, tp.partition, first + i, k) for i, k in enumerate(keys)]


async def until(condition, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def make_loop(consumer, producer, handle, **options) -> PipelinedConsumerLoop:
    return PipelinedConsumerLoop(
        consumer=consumer,
        producer=producer,
        handle=handle,
        on_error=lambda record, exc: [],
        topics=["t"],
        poll_timeout_ms=20,
        commit_interval_s=0.01,
        retry_pause_s=0.01,
        **options,
    )


def output(record) -> list[OutgoingRecord]:
    return [OutgoingRecord("out", f"{record.partition}:{record.offset}".encode(), record.key)]


async def test_a_slow_record_holds_back_its_partitions_commit_not_the_other_records():
    release = asyncio.Event()
    handled: list[tuple[int, int]] = []

    async def handle(record):
        if (record.partition, record.offset) == (0, 0):
            await release.wait()
        handled.append((record.partition, record.offset))
        return output(record)

    consumer = FakeConsumer(
        [
            {P0: recs(P0, [b"slow", b"a", b"b"])},
            {P0: recs(P0, [b"c"], first=3), P1: recs(P1, [b"d", b"e"])},
        ]
    )
    producer = FakeProducer()
    loop = make_loop(consumer, producer, handle, concurrency=8)
    stop = asyncio.Event()
    running = asyncio.create_task(loop.run(stop))

    await until(lambda: consumer.committed(P1) == 2)  # the second fetch went on
    assert set(handled) == {(0, 1), (0, 2), (0, 3), (1, 0), (1, 1)}
    assert consumer.committed(P0) == 0  # nothing before the slow record is done
    release.set()
    await until(lambda: consumer.committed(P0) == 4)
    stop.set()
    await running
    p0 = [v for v in producer.sent if v.startswith(b"0:")]
    assert p0 == [b"0:0", b"0:1", b"0:2", b"0:3"]  # outputs in offset order
    assert loop.processed == 6


async def test_each_key_in_order_and_at_most_concurrency_at_once():
    running = peak = 0
    per_key: dict[bytes, list[int]] = {}
    busy: set[bytes] = set()

    async def handle(record):
        nonlocal running, peak
        assert record.key not in busy, "two records of one key at once"
        busy.add(record.key)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        per_key.setdefault(record.key, []).append(record.offset)
        running -= 1
        busy.discard(record.key)
        return []

    keys = [f"k{i % 10}".encode() for i in range(60)]
    consumer = FakeConsumer([{P0: recs(P0, keys[:30])}, {P0: recs(P0, keys[30:], first=30)}])
    loop = make_loop(consumer, FakeProducer(), handle, concurrency=4)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: consumer.committed(P0) == 60)
    stop.set()
    await task
    assert peak == 4
    for offsets in per_key.values():
        assert offsets == sorted(offsets)


async def test_fetching_stops_at_max_pending():
    release = asyncio.Event()

    async def handle(record):
        await release.wait()
        return []

    consumer = FakeConsumer([{P0: recs(P0, [None] * 5)}, {P0: recs(P0, [None] * 5, first=5)}])
    loop = make_loop(consumer, FakeProducer(), handle, concurrency=2, max_pending=5)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: loop.in_flight == 5)
    await asyncio.sleep(0.05)
    assert len(consumer.batches) == 1  # the second batch was not fetched
    release.set()
    await until(lambda: consumer.committed(P0) == 10)
    stop.set()
    await task


async def test_finished_records_behind_a_stuck_one_do_not_stop_the_fetch():
    release = asyncio.Event()

    async def handle(record):
        if record.offset == 0:
            await release.wait()
        return []

    batches = [{P0: recs(P0, [f"k{i}".encode() for i in range(5)], first=5 * n)} for n in range(4)]
    consumer = FakeConsumer(batches)
    loop = make_loop(
        consumer, FakeProducer(), handle, concurrency=2, max_pending=5, max_uncommitted=15
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    # One record unfinished, 14 finished behind it: held up to max_uncommitted, not max_pending.
    await until(lambda: loop.in_flight == 15)
    await asyncio.sleep(0.05)
    assert len(consumer.batches) == 1  # the fourth batch waits for room
    assert consumer.committed(P0) == 0
    release.set()
    await until(lambda: consumer.committed(P0) == 20)
    stop.set()
    await task


async def test_a_failed_produce_rewinds_to_the_first_uncommitted_record():
    async def handle(record):
        return output(record)

    consumer = FakeConsumer([{P0: recs(P0, [b"a", b"b"], first=7)}])
    producer = FakeProducer(fail=1)
    loop = make_loop(consumer, producer, handle)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: consumer.seeks)
    stop.set()
    await task
    assert consumer.seeks[0] == (P0, 7)
    assert consumer.commits == []


async def test_drain_returns_once_everything_in_flight_is_committed():
    release = asyncio.Event()

    async def handle(record):
        await release.wait()
        return []

    consumer = FakeConsumer([{P0: recs(P0, [b"a", b"b"])}])
    loop = make_loop(consumer, FakeProducer(), handle)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: loop.in_flight == 2)
    drained = asyncio.create_task(loop.drain())
    await asyncio.sleep(0.03)
    assert not drained.done()
    release.set()
    await asyncio.wait_for(drained, 2)
    assert consumer.committed(P0) == 2
    stop.set()
    await task


def test_settings_must_be_positive():
    with pytest.raises(ValueError, match="concurrency"):
        make_loop(None, None, None, concurrency=0)


async def test_records_waiting_for_admission_hold_no_slot():
    gate = asyncio.Event()
    handled: list[bytes] = []

    class Admission:
        def __init__(self, record) -> None:
            self.record = record

        async def __aenter__(self):
            if self.record.key.startswith(b"busy"):
                await gate.wait()

        async def __aexit__(self, *exc):
            return None

    async def handle(record):
        handled.append(record.key)
        return []

    keys = [b"busy-1", b"busy-2", b"busy-3", b"free-1", b"free-2"]
    consumer = FakeConsumer([{P0: recs(P0, keys)}])
    loop = make_loop(consumer, FakeProducer(), handle, concurrency=1, admit=Admission)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: len(handled) == 2)
    assert handled == [b"free-1", b"free-2"]
    assert consumer.committed(P0) == 0  # the busy records come first in the partition
    gate.set()
    await until(lambda: consumer.committed(P0) == 5)
    stop.set()
    await task
