"""What a PostgreSQL outage raises, for the services that keep data there (the API, the recorder).

A stopped, restarting or unreachable database is not a bad request nor a bug: the API answers
these with a 503 and `Retry-After`, and a consumer waits them out (`herald_runtime.outage`).
"""

from __future__ import annotations

import asyncpg

DATABASE_OUTAGE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connecting, waiting for a pooled connection, a statement timeout
    asyncpg.PostgresConnectionError,  # the connection went away
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.InterfaceError,  # a pooled connection that the server closed
)
