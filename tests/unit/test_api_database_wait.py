"""The api's consumers wait a database outage out (herald_api.pipes.database_wait): a record is
never skipped because the database was down; a stop meanwhile ends the loop uncommitted."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from herald_api.pipes.database_wait import DatabaseUnavailable, applied, let_through


def failing(times: int, error: Exception) -> tuple[list[int], object]:
    calls: list[int] = []

    async def apply() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "applied"

    return calls, apply


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
        asyncpg.InterfaceError("pool closed"),
    ],
)
async def test_an_outage_is_waited_out_however_many_tries_it_takes(error):
    calls, apply = failing(12, error)  # far beyond any fixed budget of tries
    answer = await applied(apply, asyncio.Event(), what="t", first_pause_s=0.001, max_pause_s=0.002)
    assert (answer, len(calls)) == ("applied", 13)


async def test_other_errors_are_not_tried_again():
    calls, apply = failing(1, asyncpg.exceptions.UniqueViolationError("duplicate"))
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        await applied(apply, asyncio.Event(), what="t", first_pause_s=0.001)
    assert len(calls) == 1


async def test_a_stop_during_the_outage_raises_database_unavailable():
    stop = asyncio.Event()
    calls, apply = failing(10**6, ConnectionRefusedError("refused"))
    waiting = asyncio.create_task(applied(apply, stop, what="t", first_pause_s=30))
    await asyncio.sleep(0.05)  # one try, then the pause (cut short by the stop)
    stop.set()
    with pytest.raises(DatabaseUnavailable, match="stopping with the database out"):
        await asyncio.wait_for(waiting, 5)
    assert len(calls) == 2


def test_the_error_handlers_let_database_unavailable_through_only():
    with pytest.raises(DatabaseUnavailable):
        let_through(DatabaseUnavailable("stopping"))
    let_through(ValueError("a bad record"))  # logged and skipped by the caller
