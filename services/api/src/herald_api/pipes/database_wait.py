"""The api's consumers and a database outage: wait for the database, never skip the record.

The directory consumer (the platform's events → the directory) and the notifier-command consumer
(endpoint health's disables) apply each record to Postgres, and the consumer shell commits its
offset once the handler returned. A record given up on while the database is out would be lost
for good (an app renamed during the outage would keep its old name), so `applied` waits the
outage out (`herald_runtime.outage.wait_out`): the partition waits, as the recorder's history
does. A stop meanwhile raises `StoppedWaiting`, which the consumers' error handlers let through
(`herald_runtime.outage.let_through`): nothing is committed, and the record is read again at the
next start (applying a record twice changes nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from herald_runtime.database import DATABASE_OUTAGE
from herald_runtime.outage import wait_out

T = TypeVar("T")

TRANSIENT = DATABASE_OUTAGE
"""What a database outage raises (the HTTP side answers these with a 503)."""


async def applied(
    apply: Callable[[], Awaitable[T]], stop: asyncio.Event, *, what: str, first_pause_s: float = 0.5
) -> T:
    """`apply()`'s result once the database took it (see the module docstring).

    Raises:
        herald_runtime.outage.StoppedWaiting: when `stop` is set while the database is out.
    """
    return await wait_out(apply, stop, transient=TRANSIENT, what=what, first_pause_s=first_pause_s)
