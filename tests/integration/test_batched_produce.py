"""`send_all` writes two records or more as one batch per partition (herald_kafka.batching):
each record lands where `AIOKafkaProducer.send` would have put it, in order, with its key and
headers; unkeyed and oversized records still go through; a transactional producer's batches
commit and abort with its transaction."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import MessageSizeTooLargeError
from herald_core.settings import KafkaSettings
from herald_kafka.connection import client_options
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_testing.polling import eventually

pytestmark = pytest.mark.integration

PARTITIONS = 6


async def _create(settings: KafkaSettings, *names: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])

        async def listed() -> bool:
            return set(names) <= set(await admin.list_topics())

        await eventually(listed, what="topics visible")
    finally:
        await admin.close()


async def _read(
    settings: KafkaSettings, topic: str, *, committed_only: bool = False
) -> dict[int, list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]]:
    """Partition → (key, value, headers) in offset order."""
    consumer = AIOKafkaConsumer(
        **client_options(
            settings,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed" if committed_only else "read_uncommitted",
        )
    )
    await consumer.start()
    found: dict[int, list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                found.setdefault(tp.partition, []).extend(
                    (r.key, r.value, list(r.headers)) for r in records
                )
    finally:
        await consumer.stop()
    return found


async def test_batches_land_where_send_puts_each_record_in_order(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    batched, single = f"test.batched.{unique}", f"test.single.{unique}"
    other = f"test.batched-other.{unique}"
    await _create(kafka_settings, batched, single, other)
    records = [
        OutgoingRecord(
            batched if i % 3 else other,
            f"v{i}".encode() * (i % 7 + 1),
            f"notifier-{i % 23}".encode(),
            [("x-seq", str(i).encode()), ("ce_id", b"evt")],
        )
        for i in range(600)
    ]
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    try:
        await send_all(producer, records)
        for r in records:  # the same records one by one, through aiokafka's own partitioner
            if r.topic == batched:
                await send_all(producer, [OutgoingRecord(single, r.value, r.key, r.headers)])
    finally:
        await producer.stop()
    written, expected = await _read(kafka_settings, batched), await _read(kafka_settings, single)
    assert written == expected
    assert sum(len(v) for v in written.values()) == 400
    assert len(written) > 1  # spread over partitions, not one batch
    in_other = await _read(kafka_settings, other)
    assert sum(len(v) for v in in_other.values()) == 200
    for partition in in_other.values():  # each partition in the order given
        seqs = [int(dict(h)["x-seq"]) for _, _, h in partition]
        assert seqs == sorted(seqs)


async def test_unkeyed_and_oversized_records_go_through(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.batched-odd.{unique}"
    await _create(kafka_settings, topic)
    big = b"x" * 100_000  # larger than a batch (16 KiB), smaller than a request (2 MiB)
    records = [
        OutgoingRecord(topic, b"a", b"k1"),
        OutgoingRecord(topic, big, b"k1"),
        OutgoingRecord(topic, b"b", b"k1"),
        OutgoingRecord(topic, b"unkeyed", None),
    ]
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    try:
        await send_all(producer, records)
        with pytest.raises(MessageSizeTooLargeError):  # refused as `send` refuses it
            await send_all(producer, [records[0], OutgoingRecord(topic, b"y" * 3_000_000, b"k1")])
    finally:
        await producer.stop()
    written = await _read(kafka_settings, topic)
    values = [v for partition in written.values() for _, v, _ in partition]
    # of the refused pair, the record before the refused one is written, as `send` wrote it
    assert sorted(values) == sorted([b"a", big, b"b", b"unkeyed", b"a"])
    k1 = next(p for p in written.values() if any(k == b"k1" for k, _, _ in p))
    assert [v for k, v, _ in k1 if k == b"k1"][:3] == [b"a", big, b"b"]


async def test_a_transactional_producers_batches_follow_its_transaction(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.batched-txn.{unique}"
    await _create(kafka_settings, topic)
    producer: AIOKafkaProducer = idempotent_producer(
        kafka_settings, transactional_id=f"test-batched-{unique}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await send_all(producer, [OutgoingRecord(topic, b"kept", b"k%d" % i) for i in range(5)])
        await producer.begin_transaction()
        await send_all(producer, [OutgoingRecord(topic, b"dropped", b"k%d" % i) for i in range(5)])
        await producer.abort_transaction()
    finally:
        await producer.stop()
    written = await _read(kafka_settings, topic, committed_only=True)
    values = [v for partition in written.values() for _, v, _ in partition]
    assert values == [b"kept"] * 5
