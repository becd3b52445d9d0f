"""The steps that the handlers of a resource an app owns share (notifiers, alerts, notifications).

Scalingo's lists answer everything on one page unless the client asks for pages; a POST with
an `Idempotency-Key` creates once and replays its first answer. Finding an item under its own
app and honouring `If-Match` are `herald_api.http.resources`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry

from herald_api.http import idempotency
from herald_api.http.context import context, principal
from herald_api.http.scope import scoped_app
from herald_api.http.web import Page, page_of


def scalingo_page(request: web.Request, *, unpaged: int) -> Page:
    """The page a Scalingo list asks for: all (up to `unpaged`) when it names neither `page` nor
    `per_page`, as Scalingo's clients read one page; else pages of the configured sizes.

    Raises:
        ApiProblem: 422 on a bad `page` or `per_page`.
    """
    settings = context(request).settings
    query = request.query
    explicit = "page" in query or "per_page" in query
    page = page_of(
        query,
        default_size=unpaged,
        max_size=unpaged if not explicit else settings.max_per_page,
    )
    if explicit and "per_page" not in query:
        page = Page(page.number, settings.default_per_page)
    return page


async def create_once(
    request: web.Request,
    create: Callable[[asyncpg.Connection, AppEntry], Awaitable[web.Response]],
) -> web.Response:
    """Run `create` in one transaction with the request's app (`scope.scoped_app`), once per
    `Idempotency-Key` (when sent): a repeated key with the same body replays the first answer.

    Raises:
        ApiProblem: 404 for an app the caller may not see, 400/422 for a bad or reused key, and
            what `create` raises.
    """
    ctx, caller = context(request), principal(request)
    raw = await request.read()
    key = request.headers.get(idempotency.HEADER)
    app = scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        if key is not None:
            replay = await idempotency.claim(
                connection, caller, key, request, raw, ctx.settings.idempotency_ttl_s
            )
            if replay is not None:
                return replay
        response = await create(connection, app)
        if key is not None:
            await idempotency.remember(connection, caller, key, response)
    return response
