"""A consumer and an outage of what it writes to: wait it out, never skip the record.

A consumer loop commits a record's offset once its handler returned, so a handler that gives
up on a record while its database is out loses the record for good. `wait_out` tries the work
again after each transient error (the caller says which), with a doubling pause of at most
`max_pause_s`, for as long as the outage lasts: the partition waits. When the service stops
meanwhile it raises `StoppedWaiting`, which the consumer's error handler lets through
(`let_through`): the loop ends with nothing committed and the record is read again at the
next start, so the work must be idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class StoppedWaiting(Exception):
    """The service is stopping while the outage lasts: the record was not handled."""


async def wait_out(
    work: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    *,
    transient: tuple[type[BaseException], ...],
    what: str,
    first_pause_s: float = 0.5,
    max_pause_s: float = 10.0,
) -> T:
    """`work()`'s result, tried again after each `transient` error until it succeeds.

    Raises:
        StoppedWaiting: when `stop` is set while the outage lasts.
        Exception: whatever else `work` raises, at once.
    """
    pause, waiting = first_pause_s, False
    while True:
        try:
            result = await work()
        except transient as error:
            if stop.is_set():
                raise StoppedWaiting(f"{what}: stopping during an outage") from error
            if not waiting:  # the outage is logged once, not at every try
                log.warning(
                    "outage_waiting",
                    what=what,
                    error=f"{type(error).__name__}: {error}"[:300],
                )
                waiting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(pause * 2, max_pause_s)
        else:
            if waiting:
                log.info("outage_over", what=what)
            return result


def let_through(error: Exception) -> None:
    """For a consumer's error handler: a stop during an outage ends the loop uncommitted
    instead of skipping the record."""
    if isinstance(error, StoppedWaiting):
        raise error
