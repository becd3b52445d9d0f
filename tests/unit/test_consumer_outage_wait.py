"""Consumers wait a database outage out (herald_runtime.outage, with the transient errors of
herald_api.pipes.database_wait and the recorder's audit log and health tracker): a record is
never skipped because the database was down; a stop meanwhile ends the loop uncommitted."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from herald_api.pipes.database_wait import TRANSIENT as API_TRANSIENT
from herald_api.pipes.database_wait import applied
from herald_recorder.audit import TRANSIENT as AUDIT_TRANSIENT
from herald_recorder.tracker import TRANSIENT as TRACKER_TRANSIENT
from herald_runtime.outage import StoppedWaiting, let_through, wait_out

OUTAGE = [
    ConnectionRefusedError("refused"),
    TimeoutError(),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection"),
    asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
    asyncpg.InterfaceError("pool closed"),
]


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return calls, work


@pytest.mark.parametrize("error", OUTAGE)
async def test_an_outage_is_waited_out_however_many_tries_it_takes(error):
    calls, work = failing(12, error)  # far beyond any fixed budget of tries
    answer = await wait_out(
        work,
        asyncio.Event(),
        transient=API_TRANSIENT,
        what="t",
        first_pause_s=0.001,
        max_pause_s=0.002,
    )
    assert (answer, len(calls)) == ("done", 13)


@pytest.mark.parametrize("transient", [API_TRANSIENT, AUDIT_TRANSIENT, TRACKER_TRANSIENT])
@pytest.mark.parametrize("error", OUTAGE)
def test_every_consumer_counts_the_same_errors_as_an_outage(transient, error):
    assert isinstance(error, transient)


async def test_the_apis_consumers_wait_through_applied():
    calls, work = failing(3, asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert await applied(work, asyncio.Event(), what="t", first_pause_s=0.001) == "done"
    assert len(calls) == 4


async def test_other_errors_are_not_tried_again():
    calls, work = failing(1, asyncpg.exceptions.UniqueViolationError("duplicate"))
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        await applied(work, asyncio.Event(), what="t", first_pause_s=0.001)
    assert len(calls) == 1


async def test_a_stop_during_the_outage_raises_stopped_waiting():
    stop = asyncio.Event()
    calls, work = failing(10**6, ConnectionRefusedError("refused"))
    waiting = asyncio.create_task(applied(work, stop, what="t", first_pause_s=30))
    await asyncio.sleep(0.05)  # one try, then the pause (cut short by the stop)
    stop.set()
    with pytest.raises(StoppedWaiting, match="stopping during an outage"):
        await asyncio.wait_for(waiting, 5)
    assert len(calls) == 2


def test_the_error_handlers_let_stopped_waiting_through_only():
    with pytest.raises(StoppedWaiting):
        let_through(StoppedWaiting("stopping"))
    let_through(ValueError("a bad record"))  # logged and skipped by the caller
