"""503 with `Retry-After` when the database or the broker cannot be reached, never a 500.

A request that meets a stopped, restarting or unreachable Postgres (refused or reset
connections, an administrator's shutdown, "the database system is starting up", a timeout) or
a broker that does not answer is not the client's fault and not a bug: it gets
`503 Service Unavailable` with `Retry-After`, and the client may send the same request again
(with its `Idempotency-Key` when it wants one answer). `/readyz` turns false on its own probe.
"""

from __future__ import annotations

import structlog
from aiohttp import ClientError, web
from herald_kafka import KafkaError
from herald_runtime.database import DATABASE_OUTAGE
from herald_runtime.problems import Handler, problem

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5

UNAVAILABLE: tuple[type[BaseException], ...] = (*DATABASE_OUTAGE, KafkaError)


def unavailable_response(request: web.Request, error: BaseException) -> web.Response:
    """The 503 answer for `error`. Pure (but for the log line)."""
    what = "broker" if isinstance(error, KafkaError) else "database"
    log.warning(
        "request_unavailable",
        method=request.method,
        path=request.path,
        dependency=what,
        error=f"{type(error).__name__}: {error}"[:300],
    )
    response = problem(
        503,
        f"the {what} is unavailable; try again in {RETRY_AFTER_S} s",
        kind="unavailable",
        instance=request.path,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


@web.middleware
async def unavailable_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ClientError:
        raise  # a call the handler made elsewhere (a chat service, an OAuth provider)
    except UNAVAILABLE as error:
        return unavailable_response(request, error)
