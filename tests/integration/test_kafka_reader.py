"""`herald_kafka.reader.AssignedReader` against the real broker: every partition, no group,
positioned at the beginning, the end or given offsets, bounded reads, committed-only reads, a
missing topic, and a topic created just before the reader opens."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from herald_core.settings import KafkaSettings
from herald_kafka import TopicPartition
from herald_kafka.connection import client_options
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_kafka.reader import AssignedReader, Bounds

pytestmark = pytest.mark.integration

PARTITIONS = 3


async def _create(settings: KafkaSettings, name: str, partitions: int = PARTITIONS) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def _write(settings: KafkaSettings, topic: str, values: dict[int, list[bytes]]) -> None:
    """Write `values[p]` to partition p (the key picks nothing: one producer send per record)."""
    producer = idempotent_producer(settings)
    await producer.start()
    try:
        for partition, items in values.items():
            for value in items:
                await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()


async def _read_for(reader: AssignedReader, seconds: float) -> dict[int, list[bytes | None]]:
    got: dict[int, list[bytes | None]] = {}
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        for tp, records in (await reader.getmany(timeout_ms=200)).items():
            got.setdefault(tp.partition, []).extend(r.value for r in records)
    return got


async def _read_until_end(reader: AssignedReader) -> dict[int, list[bytes | None]]:
    got: dict[int, list[bytes | None]] = {}
    async for records in reader.read_until_end():
        for record in records:
            got.setdefault(record.partition, []).append(record.value)
    return got


def _tp(topic: str, partition: int) -> TopicPartition:
    return TopicPartition(topic, partition)


async def test_every_partition_from_the_beginning_up_to_the_end_seen_at_open(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.reader.all.{unique}"
    await _create(kafka_settings, topic)
    await _write(kafka_settings, topic, {0: [b"a0", b"a1"], 1: [], 2: [b"c0"]})
    async with AssignedReader(kafka_settings, [topic]) as reader:
        assert reader.partitions == [_tp(topic, p) for p in range(PARTITIONS)]
        assert reader.bounds == {
            _tp(topic, 0): Bounds(0, 2),
            _tp(topic, 1): Bounds(0, 0),
            _tp(topic, 2): Bounds(0, 1),
        }
        await _write(kafka_settings, topic, {1: [b"late"]})  # after open: not read
        assert await _read_until_end(reader) == {0: [b"a0", b"a1"], 2: [b"c0"]}
        assert await reader.caught_up()
        assert not await reader.caught_up(await reader.end_offsets())


async def test_at_the_end_only_what_is_written_after_open(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.reader.end.{unique}"
    await _create(kafka_settings, topic)
    await _write(kafka_settings, topic, {0: [b"old"], 2: [b"old"]})
    async with AssignedReader(kafka_settings, [topic], start="end") as reader:
        assert reader.starts == {_tp(topic, 0): 1, _tp(topic, 1): 0, _tp(topic, 2): 1}
        assert [record async for record in reader.read_until_end()] == []
        await _write(kafka_settings, topic, {1: [b"new-1"], 2: [b"new-2"]})
        got = await _read_for(reader, 3)
    assert got == {1: [b"new-1"], 2: [b"new-2"]}


async def test_given_offsets_and_a_planner_over_the_bounds(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.reader.offsets.{unique}"
    await _create(kafka_settings, topic)
    await _write(kafka_settings, topic, {0: [b"x0", b"x1", b"x2"], 1: [b"y0", b"y1"]})
    given = {_tp(topic, 0): 2}  # partitions 1 and 2 are not named: from their beginning
    async with AssignedReader(kafka_settings, [topic], start=given) as reader:
        assert await _read_until_end(reader) == {0: [b"x2"], 1: [b"y0", b"y1"]}

    def last_of_each(bounds: dict[TopicPartition, Bounds]) -> dict[TopicPartition, int]:
        return {tp: max(b.beginning, b.end - 1) for tp, b in bounds.items()}

    async with AssignedReader(kafka_settings, [topic], start=last_of_each) as reader:
        assert await _read_until_end(reader) == {0: [b"x2"], 1: [b"y1"]}


async def test_several_topics_and_only_committed_records(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    first, second = f"test.reader.one.{unique}", f"test.reader.two.{unique}"
    await _create(kafka_settings, first, 1)
    await _create(kafka_settings, second, 2)
    producer = idempotent_producer(kafka_settings, transactional_id=f"reader-{unique}")
    await producer.start()
    try:
        async with producer.transaction():
            await send_all(
                producer, [OutgoingRecord(first, b"kept"), OutgoingRecord(second, b"two", b"k")]
            )
        await producer.begin_transaction()
        await producer.send_and_wait(first, b"aborted")
        await producer.abort_transaction()
    finally:
        await producer.stop()
    async with AssignedReader(kafka_settings, [first, second], committed_only=True) as reader:
        assert {tp.topic for tp in reader.partitions} == {first, second}
        assert len(reader.partitions) == 3
        got = [r.value async for records in reader.read_until_end() for r in records]
    assert sorted(v or b"" for v in got) == [b"kept", b"two"]


async def test_a_missing_topic_is_a_lookup_error_and_is_not_created(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.reader.missing.{unique}"
    with pytest.raises(LookupError, match=topic):
        async with AssignedReader(kafka_settings, [topic]):
            pass
    admin = AIOKafkaAdminClient(**client_options(kafka_settings))
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


async def test_a_topic_created_just_before_opening_is_read(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.reader.fresh.{unique}"
    await _create(kafka_settings, topic)  # no wait for it to be visible: the reader polls
    async with AssignedReader(kafka_settings, [topic]) as reader:
        assert len(reader.partitions) == PARTITIONS
        await _write(kafka_settings, topic, {2: [b"first"]})
        assert await _read_for(reader, 2) == {2: [b"first"]}


def test_one_topic_name_is_not_a_list_of_topics(kafka_settings: KafkaSettings) -> None:
    with pytest.raises(TypeError):
        AssignedReader(kafka_settings, "notify.events")
