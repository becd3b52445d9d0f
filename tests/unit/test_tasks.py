"""Supervised tasks: the loops that must outlive faults are started again, with a backoff."""

from __future__ import annotations

import asyncio

import pytest
from herald_runtime.tasks import Backoff, TaskSupervisor, is_fatal
from prometheus_client import CollectorRegistry

BACKOFF = Backoff(initial_s=0.5, max_s=30, healthy_s=60)


@pytest.mark.parametrize(
    ("previous_s", "ran_s", "expected_s"),
    [
        (None, 0.0, 0.5),  # the first failure
        (0.5, 1.0, 1.0),  # failing again soon: twice as long
        (16.0, 1.0, 30.0),  # capped
        (30.0, 1.0, 30.0),
        (30.0, 60.0, 0.5),  # after a healthy minute, the delays start over
        (4.0, 59.9, 8.0),
    ],
)
def test_backoff(previous_s, ran_s, expected_s):
    assert BACKOFF.after(previous_s, ran_s) == expected_s


async def test_a_failing_loop_is_started_again_until_it_runs():
    registry = CollectorRegistry()
    tasks = TaskSupervisor(registry, backoff=Backoff(initial_s=0.001, max_s=0.004))
    stop = asyncio.Event()
    runs: list[int] = []
    running = asyncio.Event()

    async def loop() -> None:
        runs.append(len(runs))
        if len(runs) <= 3:
            raise ConnectionResetError("the database went away")
        running.set()
        await stop.wait()

    tasks.keep_running(loop, "relay", stop)
    await asyncio.wait_for(running.wait(), 5)
    stop.set()
    await tasks.join()
    assert runs == [0, 1, 2, 3]
    assert tasks.restarts == {"relay": 3}
    assert registry.get_sample_value("herald_task_restarts_total", {"task": "relay"}) == 3
    assert tasks.alive  # restarted tasks are not failures


async def test_a_loop_that_ends_early_is_started_again_and_stop_ends_it():
    tasks = TaskSupervisor(backoff=Backoff(initial_s=0.001))
    stop = asyncio.Event()
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            stop.set()

    await tasks.keep_running(loop, "consumer", stop)
    assert runs == 2
    assert tasks.restarts == {"consumer": 1}


async def test_stop_during_the_backoff_ends_the_task_at_once():
    tasks = TaskSupervisor(backoff=Backoff(initial_s=60))
    stop = asyncio.Event()

    async def loop() -> None:
        raise OSError("refused")

    task = tasks.keep_running(loop, "probe", stop)
    await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert tasks.restarts == {"probe": 1}


async def test_a_one_shot_task_that_fails_is_reported_to_livez():
    tasks = TaskSupervisor()

    async def boom() -> None:
        raise RuntimeError("faust crashed")

    tasks.start(boom(), "faust-app")
    await tasks.join()
    assert not tasks.alive
    assert tasks.failure == "faust-app: RuntimeError: faust crashed"


class Refused(ConnectionError):
    """What a client raises for a wrong password: retrying cannot help."""

    fatal = True


async def test_a_fatal_error_is_not_retried_and_is_the_failure():
    tasks = TaskSupervisor(backoff=Backoff(initial_s=0.001))
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        raise Refused("SASL authentication failed: check the username and password")

    with pytest.raises(Refused):
        await tasks.keep_running(loop, "consumer", asyncio.Event())
    assert (runs, tasks.restarts) == (1, {})
    assert tasks.failure is not None
    assert "SASL authentication failed" in tasks.failure
    assert not tasks.alive


@pytest.mark.parametrize(
    ("error", "fatal"),
    [(Refused("x"), True), (ConnectionResetError("x"), False), (ValueError("x"), False)],
)
def test_is_fatal(error, fatal):
    assert is_fatal(error) is fatal


async def test_join_cancels_a_task_still_blocked_after_the_grace():
    """A loop that ignores the stop event (blocked on a broker that is down) is cancelled."""
    tasks = TaskSupervisor()
    stop = asyncio.Event()
    cancelled = asyncio.Event()

    async def blocked() -> None:
        try:
            await asyncio.Event().wait()  # never set: waits for what will not come
        except asyncio.CancelledError:
            cancelled.set()
            raise

    quick_runs = 0

    async def quick() -> None:
        nonlocal quick_runs
        quick_runs += 1
        await stop.wait()

    tasks.keep_running(blocked, "consumer", stop)
    tasks.keep_running(quick, "relay", stop)
    await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(tasks.join(grace_s=0.2), 5)
    assert cancelled.is_set()
    assert quick_runs == 1
    assert tasks.alive  # cancelled at stop is no failure


async def test_join_waits_for_tasks_that_finish_within_the_grace():
    tasks = TaskSupervisor()
    stop = asyncio.Event()
    finished = asyncio.Event()

    async def draining() -> None:
        await stop.wait()
        await asyncio.sleep(0.1)  # the batch in flight committed
        finished.set()

    tasks.keep_running(draining, "consumer", stop)
    await asyncio.sleep(0.01)
    stop.set()
    await tasks.join(grace_s=5)
    assert finished.is_set()
