"""`DelayedConsumerLoop` on the real broker with a hand-moved clock: a partition whose head record
is not due is paused while the others flow, commits stop before the head, the partition
resumes once the clock passes the due time, and a new member re-pauses at the same head.

Each test reads a topic of its own (3 partitions, created for it) with its own consumer group.
Not a real retry tier: another test's real retry record, due in real time, would sit at the
head of a partition for good under the hand-moved clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import TopicPartition
from herald_core import headers as h
from herald_core.retry import due_at_ms
from herald_core.settings import KafkaSettings
from herald_core.topics import TopicSpec
from herald_kafka.admin import admin_client, apply_topics
from herald_kafka.consumer import group_consumer
from herald_kafka.delayed import DelayedConsumerLoop
from herald_testing.polling import eventually

pytestmark = pytest.mark.integration

NOW = 1_000.0
LATER = 2_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def due_at(record: Any) -> float | None:
    due_ms = due_at_ms(record.headers)
    return None if due_ms is None else due_ms / 1000


async def put(
    producer: Any, topic: str, marker: str, name: str, partition: int, due: float | None
) -> int:
    headers = [] if due is None else [(h.DUE_AT, str(int(due * 1000)).encode())]
    metadata = await producer.send_and_wait(
        topic, f"{marker}:{name}".encode(), partition=partition, headers=headers
    )
    return int(metadata.offset)


class Running:
    """One loop member of `group`, recording the names it handled (of this test's marker)."""

    def __init__(
        self, settings: KafkaSettings, topic: str, group: str, marker: str, clock: Clock
    ) -> None:
        self.topic = topic
        # A generous session: on a loaded machine (the whole suite on 2 cores) a heartbeat can
        # be late, and each spurious rebalance makes these timing-sensitive tests wait for a
        # group to settle again.
        self.consumer = group_consumer(
            settings, group, session_timeout_ms=30_000, heartbeat_interval_ms=3_000
        )
        self.marker = marker
        self.clock = clock
        self.handled: list[str] = []
        self.stop = asyncio.Event()
        self.loop: DelayedConsumerLoop | None = None
        self.task: asyncio.Task[None] | None = None

    async def handle(self, record: Any) -> list[Any]:
        marker, _, name = (record.value or b"").decode().partition(":")
        if marker == self.marker:
            self.handled.append(name)
        return []

    async def start(self, producer: Any) -> Running:
        await self.consumer.start()
        self.loop = DelayedConsumerLoop(
            consumer=self.consumer,
            producer=producer,
            handle=self.handle,
            on_error=lambda record, exc: [],
            topics=[self.topic],
            due_at=due_at,
            clock=self.clock,
            poll_timeout_ms=50,
        )
        self.loop.subscribe()
        self.task = asyncio.create_task(self.loop.run(self.stop))
        return self

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.consumer.stop()


@pytest.fixture
async def topic(kafka_settings: KafkaSettings, unique: str) -> str:
    name = f"test.delayed.{unique}"
    async with admin_client(kafka_settings) as admin:
        await apply_topics(admin, [TopicSpec(name, 3, 1)])
    return name


@pytest.fixture
async def members(kafka_settings: KafkaSettings) -> AsyncIterator[list[Running]]:
    started: list[Running] = []
    yield started
    for member in started:
        await member.close()


async def test_a_partition_waits_for_its_head_while_the_others_flow(
    kafka_settings, producer, members, unique, topic
) -> None:
    clock = Clock()
    offsets = {
        "a": await put(producer, topic, unique, "a", 0, NOW),
        "b": await put(producer, topic, unique, "b", 0, LATER),
        "c": await put(producer, topic, unique, "c", 0, NOW),  # due, but queued behind b
        "d": await put(producer, topic, unique, "d", 1, None),
        "e": await put(producer, topic, unique, "e", 2, NOW - 5),
    }
    member = await Running(kafka_settings, topic, f"delayed-{unique}", unique, clock).start(
        producer
    )
    members.append(member)
    tp0 = TopicPartition(topic, 0)

    await eventually(lambda: sorted(member.handled) == ["a", "d", "e"], what="a, d, e handled")
    assert member.loop is not None
    await eventually(lambda: member.loop.paused.get(tp0) == LATER, what="partition 0 paused")
    assert await member.consumer.committed(tp0) == offsets["b"]
    await asyncio.sleep(0.3)  # the paused partition must stay paused while time stands still
    assert "b" not in member.handled

    clock.now = LATER + 0.001
    await eventually(lambda: member.handled[-2:] == ["b", "c"], what="b then c handled")
    assert member.loop.paused == {}
    await eventually(lambda: _committed(member, tp0, offsets["c"] + 1), what="committed past c")


async def test_a_new_member_pauses_again_at_the_uncommitted_head(
    kafka_settings, producer, members, unique, topic
) -> None:
    clock = Clock()
    group = f"delayed-{unique}"
    await put(producer, topic, unique, "ready", 1, NOW)
    await put(producer, topic, unique, "later", 1, LATER)
    tp1 = TopicPartition(topic, 1)
    first = await Running(kafka_settings, topic, group, unique, clock).start(producer)
    members.append(first)
    assert first.loop is not None
    await eventually(lambda: tp1 in first.loop.paused, what="first member paused")
    assert first.handled == ["ready"]
    await first.close()
    members.remove(first)

    second = await Running(kafka_settings, topic, group, unique, clock).start(producer)
    members.append(second)
    assert second.loop is not None
    await eventually(lambda: tp1 in second.loop.paused, what="second member paused again")
    assert second.handled == []  # "ready" was committed by the first member, "later" is not due
    clock.now = LATER
    await eventually(lambda: second.handled == ["later"], what="later handled once due")


async def test_a_rebalance_forgets_the_pause_and_the_head_is_paused_again(
    kafka_settings, producer, members, unique, topic
) -> None:
    clock = Clock()
    group = f"delayed-{unique}"
    await put(producer, topic, unique, "later", 1, LATER)
    tp1 = TopicPartition(topic, 1)
    first = await Running(kafka_settings, topic, group, unique, clock).start(producer)
    members.append(first)
    assert first.loop is not None
    await eventually(lambda: tp1 in first.loop.paused, what="first member paused")
    pauses_before = first.loop.pauses

    second = await Running(kafka_settings, topic, group, unique, clock).start(producer)
    members.append(second)
    assert second.loop is not None
    await eventually(
        lambda: second.consumer.assignment() and len(first.consumer.assignment()) < 3,
        timeout_s=30,
        what="the group rebalanced over two members",
    )
    owner = first if tp1 in first.consumer.assignment() else second
    assert owner.loop is not None
    await eventually(
        lambda: tp1 in owner.loop.paused and owner.consumer.paused() >= {tp1},
        what="the owner of partition 1 paused it again",
    )
    assert owner is second or first.loop.pauses > pauses_before
    assert first.handled == second.handled == []

    clock.now = LATER
    # On a loaded machine the group may rebalance once more (a missed heartbeat) and move the
    # partition again: whoever owns it then handles "later", once.
    await eventually(
        lambda: (first.handled + second.handled) == ["later"],
        timeout_s=60,
        what="later handled once due",
    )


async def _committed(member: Running, tp: TopicPartition, offset: int) -> bool:
    return bool(await member.consumer.committed(tp) == offset)
