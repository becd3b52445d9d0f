"""The api's consumers and a database outage: wait for the database, never skip the record.

The directory consumer (the platform's events → the directory) and the notifier-command consumer
(endpoint health's disables) apply each record to Postgres, and the consumer shell commits its
offset once the handler returned. A record given up on while the database is out is therefore
lost for good (an app renamed during the outage keeps its old name), so `applied` tries again
on a transient error, with a doubling pause of at most `max_pause_s`, for as long as the
database stays out: the partition waits, as the recorder's history does. When the service
stops meanwhile it raises `DatabaseUnavailable`, which the consumers' error handlers let
through (`let_through`): the loop ends with nothing committed, and the record is read again at
the next start (applying a record twice changes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connecting, or waiting for a pooled connection
    asyncpg.PostgresConnectionError,  # the connection went away
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # a pooled connection that the server closed
)
"""What a database outage raises (the HTTP side answers these with a 503)."""


class DatabaseUnavailable(Exception):
    """The service is stopping and the database is still out: the record was not applied."""


async def applied(
    apply: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    *,
    what: str,
    first_pause_s: float = 0.5,
    max_pause_s: float = 10.0,
) -> T:
    """`apply()`'s result, tried again after each transient error until the database answers.

    Raises:
        DatabaseUnavailable: when `stop` is set while the database is still out.
        Exception: whatever else `apply` raises, at once.
    """
    pause, waiting = first_pause_s, False
    while True:
        try:
            result = await apply()
        except TRANSIENT as error:
            if stop.is_set():
                raise DatabaseUnavailable(f"{what}: stopping with the database out") from error
            if not waiting:  # the outage is logged once, not at every try
                log.warning(
                    "database_unavailable_waiting",
                    what=what,
                    error=f"{type(error).__name__}: {error}"[:300],
                )
                waiting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, max_pause_s)
        else:
            if waiting:
                log.info("database_back", what=what)
            return result


def let_through(error: Exception) -> None:
    """For a consumer's error handler: a stop with the database out ends the loop uncommitted
    instead of skipping the record."""
    if isinstance(error, DatabaseUnavailable):
        raise error
