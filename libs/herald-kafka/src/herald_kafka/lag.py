"""Consumer-group lag, measured from the broker: how many records a group has still to commit.

    lag(group) = Σ over every partition of the group's topics of
                 end offset - committed offset (the partition's low watermark when the group
                 has committed nothing there yet)

Read with the admin client (`list_consumer_group_offsets`) and one no-group consumer
(`beginning_offsets`, `end_offsets`); nothing is committed or joined. Operators and the chaos
tests use it to know when a pipeline has caught up: every group at zero means every record
written so far has been handled and its outputs acknowledged.

A running consumer also measures its own lag, without asking the broker anything
(`sample_own_lag`, run by `herald_kafka.consumer.run_group` when given `on_lag`):

    own lag(topic) = Σ over the partitions assigned to it of
                     high watermark (from its last fetch) - position (the next record it takes)

Services export it as `herald_consumer_lag_records{group,topic}` (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from herald_core.settings import KafkaSettings

from herald_kafka.admin import admin_client
from herald_kafka.closing import close_consumer
from herald_kafka.connection import client_options, start_client
from herald_kafka.reader import topic_partitions

log = structlog.get_logger(__name__)

LagReport = Callable[[Mapping[str, int]], None]
"""Given each sample of a consumer's own lag: topic → records behind, over its assignment."""

OWN_LAG_EVERY_S = 5.0


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


def lag_by_topic(
    partitions: Iterable[TopicPartition],
    highwaters: Mapping[TopicPartition, int | None],
    positions: Mapping[TopicPartition, int | None],
) -> dict[str, int]:
    """Records behind per topic: high watermark minus position, summed over `partitions`. Pure.

    A partition not fetched yet (no high watermark) or without a position counts 0, but its
    topic is still in the answer.
    """
    lags: dict[str, int] = {}
    for tp in partitions:
        high, position = highwaters.get(tp), positions.get(tp)
        behind = max(0, high - position) if high is not None and position is not None else 0
        lags[tp.topic] = lags.get(tp.topic, 0) + behind
    return lags


async def own_lag(consumer: AIOKafkaConsumer, timeout_s: float = 1.0) -> dict[str, int]:
    """A group consumer's lag per topic over the partitions assigned to it now.

    The high watermarks are the ones its fetches brought back (no request of their own); a
    position not known yet is looked up with `timeout_s`, and counts 0 if that runs out.
    """
    assigned = sorted(consumer.assignment())
    highwaters = {tp: consumer.highwater(tp) for tp in assigned}
    positions: dict[TopicPartition, int | None] = {}
    for tp in assigned:
        try:
            positions[tp] = await asyncio.wait_for(consumer.position(tp), timeout_s)
        except (TimeoutError, IllegalStateError):  # revoked meanwhile, or no position yet
            positions[tp] = None
    return lag_by_topic(assigned, highwaters, positions)


async def sample_own_lag(
    consumer: AIOKafkaConsumer,
    report: LagReport,
    stop: asyncio.Event,
    every_s: float = OWN_LAG_EVERY_S,
) -> None:
    """Give `report` the consumer's own lag every `every_s` seconds until `stop` is set.

    A sample that fails (a rebalance under way) is skipped: the next one comes `every_s` later.
    Measuring must never stop consuming, so no error ends the sampling.
    """
    while not stop.is_set():
        try:
            report(await own_lag(consumer))
        except KafkaError as error:
            log.debug("own_lag_skipped", error=f"{type(error).__name__}: {error}"[:200])
        except Exception as error:  # a bug here must not take the consumer loop down
            log.warning("own_lag_failed", error=f"{type(error).__name__}: {error}"[:200])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


def depth_by_topic(
    beginnings: Mapping[TopicPartition, int], ends: Mapping[TopicPartition, int]
) -> dict[str, int]:
    """Records each topic holds: end minus beginning offset, summed over its partitions. Pure."""
    depths: dict[str, int] = {}
    for tp, end in ends.items():
        depths[tp.topic] = depths.get(tp.topic, 0) + max(0, end - beginnings.get(tp, 0))
    return depths


async def topic_depths(kafka: KafkaSettings, topics: Sequence[str]) -> dict[str, int]:
    """How many records each of `topics` holds now (retention and purges moved its beginning).

    One no-group consumer, closed on the way out: nothing is joined or committed.

    Raises:
        aiokafka.errors.KafkaError, OSError: when the broker cannot be reached.
        LookupError: when a topic does not exist.
    """
    probe = DepthProbe(kafka)
    try:
        return await probe.depths(topics)
    finally:
        await probe.close()


class DepthProbe:
    """`topic_depths` for a sampler: one no-group consumer kept between samples (started on
    first use, dropped after a failure and started again on the next), so that sampling every
    few seconds opens no new connection each time."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._kafka = kafka
        self._consumer: AIOKafkaConsumer | None = None

    async def depths(self, topics: Sequence[str]) -> dict[str, int]:
        """As `topic_depths`; the same errors."""
        try:
            if self._consumer is None:
                consumer = AIOKafkaConsumer(**client_options(self._kafka, enable_auto_commit=False))
                self._consumer = consumer
                await start_client(consumer, self._kafka)
            every = await topic_partitions(self._consumer, self._kafka, topics)
            beginnings = await self._consumer.beginning_offsets(every)
            ends = await self._consumer.end_offsets(every)
        except BaseException:
            await self.close()
            raise
        return {topic: 0 for topic in topics} | depth_by_topic(beginnings, ends)

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await close_consumer(consumer)
