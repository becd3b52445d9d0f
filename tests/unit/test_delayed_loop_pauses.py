"""The delayed loop's pause bookkeeping against a scripted consumer (no broker).

A partition the consumer holds paused must always be one the loop will resume: otherwise its
head record would wait for ever. Two ways it could be lost: the coordinator calls the rebalance
listener after the loop already paused a partition of the new assignment, or anything else left
a partition paused.
"""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from herald_kafka.delayed import DelayedConsumerLoop

TP0, TP1 = TopicPartition("t", 0), TopicPartition("t", 1)


class ScriptedConsumer:
    def __init__(self) -> None:
        self._paused: set[TopicPartition] = set()
        self.resumed: list[TopicPartition] = []

    def paused(self) -> set[TopicPartition]:
        return set(self._paused)

    def pause(self, *tps: TopicPartition) -> None:
        self._paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self._paused -= set(tps)
        self.resumed.extend(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        pass

    def assignment(self) -> set[TopicPartition]:
        return {TP0, TP1}


def loop(consumer: ScriptedConsumer, now: float = 100.0) -> DelayedConsumerLoop:
    async def handle(record: Any) -> list[Any]:
        return []

    return DelayedConsumerLoop(
        consumer=consumer,  # type: ignore[arg-type]
        producer=None,  # type: ignore[arg-type]
        handle=handle,
        on_error=lambda record, exc: [],
        topics=["t"],
        due_at=lambda record: None,
        clock=lambda: now,
    )


def test_a_pause_made_before_the_listener_ran_is_kept():
    consumer = ScriptedConsumer()
    delayed = loop(consumer)
    delayed._pause(TP1, 0, due=200.0)  # in the new assignment, before on_partitions_assigned
    delayed._reset_on_assign()
    assert delayed.paused == {TP1: 200.0}
    assert consumer.paused() == {TP1}


def test_a_reset_assignment_forgets_what_the_consumer_no_longer_pauses():
    consumer = ScriptedConsumer()
    delayed = loop(consumer)
    delayed._pause(TP1, 0, due=200.0)
    consumer._paused.clear()  # aiokafka's new assignment: every partition resumed
    delayed._reset_on_assign()
    assert delayed.paused == {}


def test_a_partition_paused_without_a_due_time_is_resumed():
    consumer = ScriptedConsumer()
    delayed = loop(consumer)
    consumer.pause(TP0)
    delayed._resume_due()
    assert consumer.paused() == set()
    assert consumer.resumed == [TP0]


def test_a_due_partition_is_resumed_and_one_not_due_stays_paused():
    consumer = ScriptedConsumer()
    delayed = loop(consumer, now=150.0)
    delayed._pause(TP0, 0, due=120.0)
    delayed._pause(TP1, 0, due=200.0)
    delayed._resume_due()
    assert consumer.paused() == {TP1}
    assert delayed.paused == {TP1: 200.0}
