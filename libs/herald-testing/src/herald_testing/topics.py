"""Read a topic from the beginning until a record matches: for DLQ and result assertions."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from herald_core.topics import load_topic_file


async def find_record(
    bootstrap_servers: str,
    topic: str,
    match: Callable[[ConsumerRecord[bytes, bytes]], bool],
    *,
    timeout_s: float = 20.0,
) -> ConsumerRecord[bytes, bytes]:
    """The first record of `topic` (any partition) for which `match` is true.

    Raises:
        AssertionError: when none arrives within `timeout_s`.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if match(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout_s}s")
    finally:
        await consumer.stop()


def headers_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers}


async def records_for_key(
    bootstrap_servers: str,
    topic: str,
    key: bytes,
    count: int,
    *,
    timeout_s: float = 20.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first `count` records of `topic` with `key`, in offset order (one key, one partition).

    Raises:
        AssertionError: when fewer arrive within `timeout_s`.
    """
    found: list[ConsumerRecord[bytes, bytes]] = []
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(found) < count:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(r for r in records if r.key == key)
        if len(found) < count:
            raise AssertionError(f"{len(found)} of {count} records for key {key!r} on {topic}")
        return sorted(found, key=lambda r: r.offset)[:count]
    finally:
        await consumer.stop()


async def commit_at_end(bootstrap_servers: str, group_id: str, topics: list[str]) -> None:
    """Commit `group_id`'s offsets at the current end of `topics`, so that a consumer of that
    group starts after what earlier tests left there (several tests share a channel's topics)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        counts = {spec.name: spec.partitions for spec in load_topic_file()}
        partitions = [TopicPartition(topic, p) for topic in topics for p in range(counts[topic])]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()
