"""herald_kafka.loop.fetch_or_stop: a fetch that never returns (aiokafka's `getmany` waiting for
a group assignment while the broker is gone) does not keep a loop from seeing its stop event."""

from __future__ import annotations

import asyncio
from typing import Any

from herald_kafka.consumer import ConsumerLoop
from herald_kafka.loop import fetch_or_stop


class Consumer:
    """`getmany` as aiokafka's behaves: returns what it has, or blocks (`hang`)."""

    def __init__(self, batches: dict[Any, list[Any]] | None = None, *, hang: bool = False):
        self.batches = batches or {}
        self.hang = hang
        self.cancelled = False
        self.calls: list[tuple[int, int | None]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int | None = None) -> Any:
        self.calls.append((timeout_ms, max_records))
        if self.hang:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled = True
                raise
        return self.batches


def loop_on(consumer: Consumer) -> ConsumerLoop:
    """A batch loop on `consumer`; only its fetch and drain are exercised."""
    return ConsumerLoop(
        consumer=consumer,  # type: ignore[arg-type]
        producer=None,  # type: ignore[arg-type]
        handle=None,  # type: ignore[arg-type]
        on_error=None,  # type: ignore[arg-type]
        topics=["t"],
        max_records=10,
        poll_timeout_ms=50,
        retry_pause_s=0.1,
    )


async def test_a_fetch_returns_its_batches() -> None:
    consumer = Consumer({"tp": [1, 2]})
    got = await fetch_or_stop(consumer, asyncio.Event(), timeout_ms=50, max_records=7)  # type: ignore[arg-type]
    assert got == {"tp": [1, 2]}
    assert consumer.calls == [(50, 7)]


async def test_a_hanging_fetch_is_given_up_when_stop_is_set() -> None:
    consumer = Consumer(hang=True)
    stop = asyncio.Event()
    fetching = asyncio.create_task(fetch_or_stop(consumer, stop, timeout_ms=50))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not fetching.done()
    stop.set()
    assert await asyncio.wait_for(fetching, 2) == {}
    assert consumer.cancelled


async def test_nothing_is_fetched_once_stopped() -> None:
    consumer = Consumer({"tp": [1]})
    stop = asyncio.Event()
    stop.set()
    assert await fetch_or_stop(consumer, stop, timeout_ms=50) == {}  # type: ignore[arg-type]
    assert consumer.calls == []


async def test_cancelling_the_caller_cancels_the_fetch() -> None:
    consumer = Consumer(hang=True)
    fetching = asyncio.create_task(fetch_or_stop(consumer, asyncio.Event(), timeout_ms=50))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    fetching.cancel()
    await asyncio.gather(fetching, return_exceptions=True)
    await asyncio.sleep(0)
    assert consumer.cancelled


async def test_any_of_several_events_gives_the_fetch_up() -> None:
    consumer = Consumer(hang=True)
    stop, drain = asyncio.Event(), asyncio.Event()
    fetching = asyncio.create_task(fetch_or_stop(consumer, stop, drain, timeout_ms=50))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    drain.set()
    assert await asyncio.wait_for(fetching, 2) == {}
    assert consumer.cancelled
    assert not stop.is_set()


async def test_a_rebalance_drain_gives_up_the_loops_fetch() -> None:
    """The deadlock it breaks: a fetch waiting for the new assignment, the revoke callback
    (`drain`) waiting for the loop, the loop waiting in its fetch."""
    consumer = Consumer(hang=True)
    loop = loop_on(consumer)
    loop._idle.clear()  # records in flight (the pipelined loop holds them across fetches)
    stop = asyncio.Event()
    fetching = asyncio.create_task(loop._fetch(stop, timeout_ms=50))
    await asyncio.sleep(0.05)
    draining = asyncio.create_task(loop.drain())
    assert await asyncio.wait_for(fetching, 2) == {}
    assert consumer.cancelled
    loop._idle.set()  # the loop committed what it held
    await asyncio.wait_for(draining, 2)
    assert not loop._drain_requested.is_set()


async def test_a_loop_fetching_while_a_drain_waits_lets_the_drain_finish() -> None:
    """A batch loop that goes idle while a rebalance waits fetches again at once: with the
    drain's event still set the fetch returns nothing, and must yield so that the drain runs
    (a loop spinning without awaiting anything would freeze the process)."""
    loop = loop_on(Consumer({}))
    loop._idle.clear()  # a batch being processed
    draining = asyncio.create_task(loop.drain())
    await asyncio.sleep(0)
    stop = asyncio.Event()

    async def batch_done_then_fetch() -> None:
        loop._idle.set()  # the batch committed; in the same step the loop fetches again
        while not draining.done():
            await loop._fetch(stop, timeout_ms=50)

    await asyncio.wait_for(batch_done_then_fetch(), 2)
    assert not loop._drain_requested.is_set()
