"""Produce many records as one batch per partition (`send_all`'s path for two records or more).

`AIOKafkaProducer.send` does per record what a batch does once: it awaits the topic's metadata,
hashes the key (murmur2, in pure Python), looks up the partition's batch and appends to it
through two coroutines. For a consumer loop writing hundreds of records per fetch, that is most
of the producing cost. Here the records are grouped by topic and partition (the partition worked
out as `send` does, with the producer's own partitioner, and kept per key), appended to one
`BatchBuilder` per partition, and each builder is handed over with `send_batch`. Order within a
partition is the order of `records`. A record that does not fit in an empty batch goes through
`send`, which accepts it or refuses it as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

if TYPE_CHECKING:
    from herald_kafka.producer import OutgoingRecord

_PARTITIONER = DefaultPartitioner()
_KEPT = 100_000


class PartitionOf:
    """Key → partition for a topic of `count` partitions: murmur2 as the producer hashes it,
    computed once per key (notifier and app ids repeat from fetch to fetch)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, bytes], int] = {}

    def __call__(self, topic: str, partitions: list[int], key: bytes) -> int:
        found = self._known.get((topic, len(partitions), key))
        if found is None:
            if len(self._known) >= _KEPT:
                self._known.clear()
            found = _PARTITIONER(key, partitions, partitions)
            self._known[(topic, len(partitions), key)] = found
        return found


PARTITION_OF = PartitionOf()


async def by_partition(
    producer: AIOKafkaProducer, records: Sequence[OutgoingRecord]
) -> tuple[dict[tuple[str, int], list[OutgoingRecord]], list[OutgoingRecord]]:
    """Records grouped by (topic, partition) in their order, and the unkeyed ones (which the
    partitioner spreads at random: left to `send`)."""
    grouped: dict[tuple[str, int], list[OutgoingRecord]] = {}
    unkeyed: list[OutgoingRecord] = []
    partitions: dict[str, list[int]] = {}
    for record in records:
        if record.key is None:
            unkeyed.append(record)
            continue
        topic = record.topic
        if topic not in partitions:
            partitions[topic] = list(await producer.partitions_for(topic))
        partition = PARTITION_OF(topic, partitions[topic], record.key)
        grouped.setdefault((topic, partition), []).append(record)
    return grouped, unkeyed


async def send_batched(producer: AIOKafkaProducer, records: Sequence[OutgoingRecord]) -> None:
    """Send `records` and return once the broker acknowledged every one of them.

    Raises:
        aiokafka.errors.KafkaError: when any send failed.
    """
    grouped, unkeyed = await by_partition(producer, records)
    futures: list[asyncio.Future[Any]] = []
    for (topic, partition), group in grouped.items():
        batch = producer.create_batch()
        for record in group:
            if _append(batch, record):
                continue
            if batch.record_count():
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                if _append(batch, record):
                    continue
            # larger than a batch: `send` takes it alone, or refuses it as it always did
            futures.append(await _send(producer, record))
            batch = producer.create_batch()  # the refusing append closed the empty one
        if batch.record_count():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
    for record in unkeyed:
        futures.append(await _send(producer, record))
    if futures:
        await asyncio.gather(*futures)


async def _send(producer: AIOKafkaProducer, record: OutgoingRecord) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = await producer.send(
        record.topic, value=record.value, key=record.key, headers=record.headers
    )
    return future


def _append(batch: Any, record: OutgoingRecord) -> bool:
    return (
        batch.append(timestamp=None, key=record.key, value=record.value, headers=record.headers)
        is not None
    )
