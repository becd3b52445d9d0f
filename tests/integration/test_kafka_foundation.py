"""The Kafka 4.x behaviours Herald builds on, proven against the real broker (pitfalls in
docs/contributing.md)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from herald_core.settings import KafkaSettings
from herald_kafka.config_view import MaterializedView
from herald_kafka.connection import client_options
from herald_kafka.consumer import ConsumerLoop, group_consumer
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_testing.polling import eventually

pytestmark = pytest.mark.integration


async def _create(settings: KafkaSettings, name: str, partitions: int = 1, **config: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config)])
        await eventually(lambda: _listed(admin, name), what=f"topic {name} visible")
    finally:
        await admin.close()


async def _listed(admin: AIOKafkaAdminClient, name: str) -> bool:
    return name in await admin.list_topics()


async def _read_all(
    settings: KafkaSettings, topic: str, *, committed_only: bool = False
) -> list[bytes | None]:
    consumer = AIOKafkaConsumer(
        **client_options(
            settings,
            group_id=None,
            auto_offset_reset="earliest",
            isolation_level="read_committed" if committed_only else "read_uncommitted",
            enable_auto_commit=False,
        )
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes | None] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values.extend(r.value for r in records)
        return values
    finally:
        await consumer.stop()


async def test_idempotent_producer_writes_each_record_once(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.idempotent.{unique}"
    await _create(kafka_settings, topic)
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    try:
        await send_all(producer, [OutgoingRecord(topic, f"v{i}".encode(), b"k") for i in range(50)])
        # InitProducerId succeeded: the broker gave this producer an id (it hangs on Kafka 4 when
        # the transaction-state replication settings do not fit a single node).
        assert producer._txn_manager is not None
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()
    assert await _read_all(kafka_settings, topic) == [f"v{i}".encode() for i in range(50)]


async def test_transactional_producer_commits_and_aborts(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.txn.{unique}"
    await _create(kafka_settings, topic)
    producer = idempotent_producer(kafka_settings, transactional_id=f"herald-test-{unique}")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-1")
            await producer.send_and_wait(topic, b"committed-2")
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted")
        await producer.abort_transaction()
    finally:
        await producer.stop()
    assert await _read_all(kafka_settings, topic, committed_only=True) == [
        b"committed-1",
        b"committed-2",
    ]
    assert b"aborted" in await _read_all(
        kafka_settings, topic
    )  # written, but invisible when committed-only


async def _run_loop_until(
    settings: KafkaSettings,
    group: str,
    source: str,
    sink: str,
    expected_total: int,
    seen: list[bytes],
) -> None:
    consumer = group_consumer(settings, group)
    producer = idempotent_producer(settings)
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()

    async def copy(record: object) -> list[OutgoingRecord]:
        value = record.value  # type: ignore[attr-defined]
        seen.append(value)
        return [OutgoingRecord(sink, value)]

    loop = ConsumerLoop(
        consumer=consumer, producer=producer, handle=copy, on_error=lambda r, e: [], topics=[source]
    )
    loop.subscribe()
    task = asyncio.create_task(loop.run(stop))
    try:
        await eventually(
            lambda: len(seen) >= expected_total, what=f"{expected_total} records handled"
        )
    finally:
        stop.set()
        await task
        await producer.stop()
        await consumer.stop()


async def test_consumer_group_commits_and_resumes_after_restart(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    source, sink, group = (
        f"test.group.in.{unique}",
        f"test.group.out.{unique}",
        f"test-group-{unique}",
    )
    await _create(kafka_settings, source, partitions=3)
    await _create(kafka_settings, sink)
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    try:
        await send_all(
            producer, [OutgoingRecord(source, f"a{i}".encode(), str(i).encode()) for i in range(30)]
        )
        first: list[bytes] = []
        await _run_loop_until(kafka_settings, group, source, sink, 30, first)
        await send_all(
            producer, [OutgoingRecord(source, f"b{i}".encode(), str(i).encode()) for i in range(10)]
        )
    finally:
        await producer.stop()
    second: list[bytes] = []
    await _run_loop_until(kafka_settings, group, source, sink, 10, second)
    assert sorted(first) == sorted(f"a{i}".encode() for i in range(30))
    assert sorted(second) == sorted(f"b{i}".encode() for i in range(10)), (
        "resumed from the committed offsets"
    )
    assert len(await _read_all(kafka_settings, sink)) == 40


async def test_view_catches_up_on_compacted_topic_with_tombstones(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.compacted.{unique}"
    await _create(
        kafka_settings,
        topic,
        partitions=3,
        **{
            "cleanup.policy": "compact",
            "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "100",
        },
    )
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    records = [OutgoingRecord(topic, f"{k}-v1".encode(), k.encode()) for k in "abcdef"]
    records += [
        OutgoingRecord(topic, b"b-v2", b"b"),
        OutgoingRecord(topic, None, b"c"),
        OutgoingRecord(topic, b"not-json-but-kept-raw", b"g"),
        OutgoingRecord(topic, None, b"a"),
    ]
    await send_all(producer, records)

    changes: list[tuple[str, str | None]] = []
    view: MaterializedView[str] = MaterializedView(
        kafka_settings,
        {topic: lambda raw: raw.decode()},
        on_change=lambda _t, key, _old, new: changes.append((key, new)),
    )
    stop = asyncio.Event()
    await view.start()
    task = asyncio.create_task(view.run(stop))
    try:
        await view.wait_ready(30)
        assert dict(view.table(topic)) == {
            "b": "b-v2",
            "d": "d-v1",
            "e": "e-v1",
            "f": "f-v1",
            "g": "not-json-but-kept-raw",
        }
        await send_all(
            producer, [OutgoingRecord(topic, None, b"d"), OutgoingRecord(topic, b"h-v1", b"h")]
        )
        await eventually(
            lambda: "d" not in view.table(topic) and view.table(topic).get("h") == "h-v1",
            what="follow-up records applied",
        )
        assert ("d", None) in changes
        await eventually(lambda: view.lag == 0, what="no config lag once everything is applied")
    finally:
        stop.set()
        await task
        await view.stop()
        await producer.stop()


async def test_view_skips_records_its_decoder_refuses(
    kafka_settings: KafkaSettings, unique: str
) -> None:
    topic = f"test.view.bad.{unique}"
    await _create(kafka_settings, topic, **{"cleanup.policy": "compact"})
    producer = idempotent_producer(kafka_settings)
    await producer.start()
    await send_all(
        producer,
        [
            OutgoingRecord(topic, b"1", b"x"),
            OutgoingRecord(topic, b"oops", b"x"),
            OutgoingRecord(topic, b"2", b"y"),
        ],
    )
    await producer.stop()
    view: MaterializedView[int] = MaterializedView(kafka_settings, {topic: lambda raw: int(raw)})
    stop = asyncio.Event()
    await view.start()
    task = asyncio.create_task(view.run(stop))
    try:
        await view.wait_ready(30)
        assert dict(view.table(topic)) == {"x": 1, "y": 2}
        assert view.rejected == 1
    finally:
        stop.set()
        await task
        await view.stop()
