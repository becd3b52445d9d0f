"""A retry written by a process whose clock runs ahead waits its delay, not the clocks'
difference on top (`DelayedConsumerLoop.due` with `wait_of`; `herald_core.retry.retry_wait_s`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from herald_core import headers as h
from herald_core.retry import retry_wait_s
from herald_kafka.delayed import DelayedConsumerLoop

TP0, TP1 = TopicPartition("t", 0), TopicPartition("t", 1)


@dataclass
class Rec:
    offset: int
    timestamp: int
    """Its writer's clock at writing, in ms."""
    due_s: float
    """`x-due-at` by the same writer's clock, in seconds."""
    topic: str = "t"
    partition: int = 0
    key: bytes | None = None
    value: bytes | None = None
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.headers = [(h.DUE_AT, str(round(self.due_s * 1000)).encode())]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def loop(clock: Clock, *, bounded: bool = True) -> DelayedConsumerLoop:
    async def handle(record: Any) -> list[Any]:
        return []

    return DelayedConsumerLoop(
        consumer=None,  # type: ignore[arg-type]
        producer=None,  # type: ignore[arg-type]
        handle=handle,
        on_error=lambda record, exc: [],
        topics=["t"],
        due_at=lambda record: int(record.headers[0][1]) / 1000,
        wait_of=(lambda r: retry_wait_s(r.headers, r.timestamp)) if bounded else None,
        clock=clock,
    )


def written(offset: int, writer_now: float, delay_s: float) -> Rec:
    return Rec(offset, round(writer_now * 1000), writer_now + delay_s)


def test_where_clocks_agree_the_due_time_is_the_records() -> None:
    clock = Clock(1000.0)
    record = written(5, writer_now=999.5, delay_s=4.0)
    assert loop(clock).due(TP0, record) == 1003.5


def test_a_writer_ten_minutes_ahead_is_bounded_by_its_delay_from_first_sight() -> None:
    clock = Clock(1000.0)
    delayed = loop(clock)
    record = written(5, writer_now=1600.0, delay_s=4.0)  # the writer's clock: +600 s
    assert delayed.due(TP0, record) == 1004.0
    clock.now = 1003.0  # read again while paused: still counted from the first sight
    assert delayed.due(TP0, record) == 1004.0
    assert loop(clock, bounded=False).due(TP0, record) == 1604.0  # without it: 10 min more


def test_a_writer_behind_makes_the_record_due_early_as_before() -> None:
    record = written(5, writer_now=400.0, delay_s=4.0)  # the writer's clock: -600 s
    assert loop(Clock(1000.0)).due(TP0, record) == 404.0


def test_records_queued_behind_a_held_one_keep_their_spacing_not_their_delay_again() -> None:
    clock = Clock(1000.0)
    delayed = loop(clock)
    dues = []
    for k in range(50):  # written a second apart by a writer 10 min ahead, 8 s delay each
        record = written(k, writer_now=1600.0 + k, delay_s=8.0)
        dues.append(delayed.due(TP0, record))
        clock.now = dues[-1]  # handled when due; the next one is met then, for the first time
    assert dues == [1008.0 + k for k in range(50)]


def test_each_partition_is_timed_on_its_own_and_a_revoked_one_afresh() -> None:
    clock = Clock(1000.0)
    delayed = loop(clock)
    assert delayed.due(TP0, written(5, 1600.0, 4.0)) == 1004.0
    clock.now = 1010.0
    assert delayed.due(TP0, written(6, 1600.0, 8.0)) == 1008.0
    assert delayed.due(TP1, written(5, 1600.0, 2.0)) == 1012.0
    delayed._forget([TP0])
    clock.now = 1020.0
    assert delayed.due(TP0, written(6, 1600.0, 8.0)) == 1028.0


def test_where_clocks_agree_queued_records_keep_their_own_due_times() -> None:
    clock = Clock(1000.0)
    delayed = loop(clock)
    for k in range(20):
        record = written(k, writer_now=990.0 + k, delay_s=16.0)
        assert delayed.due(TP0, record) == 1006.0 + k
        clock.now += 0.5


def test_the_writers_wait_is_due_minus_write_time_and_none_when_unknown() -> None:
    headers = [(h.DUE_AT, b"1604000")]
    assert retry_wait_s(headers, 1600000) == 4.0
    assert retry_wait_s(headers, 1605000) == 0.0
    assert retry_wait_s([], 1600000) is None
    assert retry_wait_s(headers, None) is None
    assert retry_wait_s(headers, -1) is None
