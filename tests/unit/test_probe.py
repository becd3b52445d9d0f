"""Readiness probes: three misses in a row make a dependency unreachable, one answer clears it."""

from __future__ import annotations

import asyncio

import pytest
from herald_runtime.probe import DependencyProbe
from herald_testing.polling import eventually


async def never() -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize(
    ("outcomes", "ok"),
    [
        ([], True),  # checked at start-up
        ([False], True),
        ([False, False], True),
        ([False, False, False], False),
        ([False, False, False, True], True),
        ([False, False, True, False, False], True),  # not three in a row
        ([True, False, False, False, False], False),
    ],
)
def test_three_misses_in_a_row(outcomes, ok):
    probe = DependencyProbe("database", never)
    for outcome in outcomes:
        probe.observe(outcome)
    assert probe.ok is ok


async def test_the_probe_loop_follows_the_dependency():
    up = asyncio.Event()
    seen = asyncio.Event()
    calls = 0

    async def check() -> None:
        nonlocal calls
        calls += 1
        if calls >= 3:
            seen.set()
        if not up.is_set():
            raise ConnectionRefusedError

    stop = asyncio.Event()
    probe = DependencyProbe("broker", check, every_s=0.001, misses=3)
    running = asyncio.create_task(probe.run(stop))
    await asyncio.wait_for(seen.wait(), 5)
    await eventually(lambda: not probe.ok, interval_s=0.001, what="unreachable")
    up.set()
    await eventually(lambda: probe.ok, interval_s=0.001, what="reachable again")
    stop.set()
    await asyncio.wait_for(running, 5)


async def test_a_check_that_hangs_counts_as_a_miss():
    async def hang() -> None:
        await asyncio.sleep(60)

    stop = asyncio.Event()
    probe = DependencyProbe("database", hang, every_s=0.005, misses=1)
    running = asyncio.create_task(probe.run(stop))
    await eventually(lambda: not probe.ok, interval_s=0.005, what="a hanging check is a miss")
    stop.set()
    await asyncio.wait_for(running, 5)
