"""Consumer-group lag, measured from the broker: how many records a group has still to commit.

    lag(group) = Σ over every partition of the group's topics of
                 end offset - committed offset (the partition's low watermark when the group
                 has committed nothing there yet)

Read with the admin client (`list_consumer_group_offsets`) and one no-group consumer
(`beginning_offsets`, `end_offsets`); nothing is committed or joined. Operators and the chaos
tests use it to know when a pipeline has caught up: every group at zero means every record
written so far has been handled and its outputs acknowledged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from herald_core.settings import KafkaSettings

from herald_kafka.admin import admin_client
from herald_kafka.closing import close_consumer
from herald_kafka.connection import client_options, start_client
from herald_kafka.reader import topic_partitions


def group_lag(
    partitions: Sequence[TopicPartition],
    committed: Mapping[TopicPartition, int],
    beginnings: Mapping[TopicPartition, int],
    ends: Mapping[TopicPartition, int],
) -> int:
    """The records of `partitions` between the group's commits and the ends. Pure.

    A partition without a commit (or with a negative one: none) counts from its beginning.
    """
    lag = 0
    for tp in partitions:
        start = committed.get(tp, -1)
        if start < 0:
            start = beginnings.get(tp, 0)
        lag += max(0, ends.get(tp, 0) - start)
    return lag


async def consumer_lags(
    kafka: KafkaSettings, groups: Mapping[str, Sequence[str]]
) -> dict[str, int]:
    """Each group's lag over its topics (`groups`: group id → the topics it reads).

    Raises:
        aiokafka.errors.KafkaError, OSError: when the broker cannot be reached.
        LookupError: when a topic does not exist.
    """
    consumer = AIOKafkaConsumer(**client_options(kafka, enable_auto_commit=False))
    try:
        await start_client(consumer, kafka)
        topics = sorted({topic for names in groups.values() for topic in names})
        every = await topic_partitions(consumer, kafka, topics)
        beginnings = await consumer.beginning_offsets(every)
        ends = await consumer.end_offsets(every)
        async with admin_client(kafka) as admin:
            committed = {
                group: {
                    tp: meta.offset
                    for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                }
                for group in groups
            }
    finally:
        await close_consumer(consumer)
    return {
        group: group_lag(
            [tp for tp in every if tp.topic in names], committed[group], beginnings, ends
        )
        for group, names in groups.items()
    }
