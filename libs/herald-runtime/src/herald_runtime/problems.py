"""RFC 9457 problem details for every 4xx/5xx a Herald HTTP server answers.

`problem_middleware` turns aiohttp's own HTTP errors (404, 405, 413…) and any unhandled exception
into `application/problem+json`, so no client ever gets an HTML error page or a bare 500.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://herald.dev/problems/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(
    status: int, detail: str, *, kind: str | None = None, **extensions: Any
) -> web.Response:
    """A problem+json response; `kind` names the problem type (`invalid-event`, …)."""
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail,
        "error": detail,  # Scalingo's clients show `error` for every 4xx; RFC 9457 allows members
        **extensions,
    }
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_JSON)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every error as problem+json."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return problem(exc.status, exc.text or exc.reason, instance=request.path)
    except Exception:  # the HTTP shell: log it, never leak internals to the client
        log.exception("request_failed", method=request.method, path=request.path)
        return problem(500, "internal error; it was logged", instance=request.path)
