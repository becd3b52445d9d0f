"""The consumer loop's concurrent mode, with a fake consumer and producer (no broker).

What must hold: records of one key are handled in order and never overlap; records of other
keys do overlap; at most `concurrency` handlers run at once; outputs are produced in the order
of the records; the commit comes after every output was acknowledged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from aiokafka import TopicPartition
from herald_kafka.consumer import ConsumerLoop, ordering_chains
from herald_kafka.producer import OutgoingRecord


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
    stop: asyncio.Event
    log: list[str]
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int):
        if not self.batches:
            self.stop.set()
            return {}
        return self.batches.pop(0)

    async def commit(self, offsets) -> None:
        self.log.append("commit")
        self.commits.append({tp: o.offset for tp, o in offsets.items()})

    def seek(self, tp, offset) -> None:  # pragma: no cover - only on produce failures
        raise AssertionError("no rewind expected")


@dataclass
class FakeProducer:
    log: list[str]
    sent: list[bytes] = field(default_factory=list)

    async def send(self, topic, value, key, headers):
        self.sent.append(value)
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def batch_of(records: list[FakeRecord]) -> dict[TopicPartition, list[FakeRecord]]:
    batch: dict[TopicPartition, list[FakeRecord]] = {}
    for record in records:
        batch.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
    return batch


async def run_loop(records, handle, concurrency):
    stop, log = asyncio.Event(), []
    consumer = FakeConsumer([batch_of(records)], stop, log)
    producer = FakeProducer(log)
    loop = ConsumerLoop(
        consumer=consumer,
        producer=producer,
        handle=handle,
        on_error=lambda record, exc: [],
        topics=["t"],
        concurrency=concurrency,
    )
    await loop.run(stop)
    return consumer, producer, loop


def records(keys: list[bytes | None], partition: int = 0) -> list[FakeRecord]:
    return [FakeRecord("t", partition, offset, key) for offset, key in enumerate(keys)]


async def test_each_key_is_handled_in_order_and_keys_overlap():
    batch = records([b"a", b"b", b"a", b"c", b"a", b"b"])
    running: dict[bytes, int] = {}
    order: list[tuple[bytes, int]] = []
    peak = 0

    async def handle(record):
        nonlocal peak
        running[record.key] = running.get(record.key, 0) + 1
        assert running[record.key] == 1, "two records of one key at once"
        peak = max(peak, sum(running.values()))
        await asyncio.sleep(0.01)
        order.append((record.key, record.offset))
        running[record.key] -= 1
        return [OutgoingRecord("out", str(record.offset).encode(), record.key)]

    consumer, producer, loop = await run_loop(batch, handle, concurrency=8)

    assert [o for k, o in order if k == b"a"] == [0, 2, 4]
    assert [o for k, o in order if k == b"b"] == [1, 5]
    assert peak == 3  # three keys side by side
    assert producer.sent == [str(i).encode() for i in range(6)]  # outputs in record order
    assert consumer.commits == [{TopicPartition("t", 0): 6}]
    assert loop.processed == 6


async def test_at_most_concurrency_handlers_run_at_once():
    batch = records([f"k{i}".encode() for i in range(20)])
    running = peak = 0

    async def handle(record):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        return []

    await run_loop(batch, handle, concurrency=4)
    assert peak == 4


async def test_the_commit_waits_for_every_record_of_the_batch():
    batch = records([b"slow", b"fast"])
    log: list[str] = []

    async def handle(record):
        await asyncio.sleep(0.05 if record.key == b"slow" else 0)
        log.append(f"handled {record.key.decode()}")
        return []

    consumer, _, _ = await run_loop(batch, handle, concurrency=2)
    assert log == ["handled fast", "handled slow"]
    assert consumer.log == ["commit"]


async def test_a_failing_record_becomes_its_error_outputs_and_the_batch_commits():
    batch = records([b"a", b"b"])

    async def handle(record):
        if record.key == b"a":
            raise RuntimeError("boom")
        return [OutgoingRecord("out", b"ok", record.key)]

    consumer, producer, _ = await run_loop(batch, handle, concurrency=2)
    assert producer.sent == [b"ok"]
    assert consumer.commits == [{TopicPartition("t", 0): 2}]


def test_ordering_chains_group_by_partition_and_key():
    batch = [
        *records([b"a", None, b"a", None], partition=0),
        FakeRecord("t", 1, 0, b"a"),
    ]
    chains = list(ordering_chains(batch).values())
    assert chains == [[0, 2], [1], [3], [4]]


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError, match="concurrency"):
        ConsumerLoop(
            consumer=None,
            producer=None,
            handle=None,
            on_error=None,
            topics=[],
            concurrency=0,
        )
