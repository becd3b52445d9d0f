"""The steps that the handlers of a resource an app owns share (notifiers, alerts, notifications).

Scalingo's lists answer everything on one page unless the client asks for pages; an item is
found only under its own app (another app's is a 404, like a missing one); a versioned item is
answered with its ETag and changed only if `If-Match` (when sent) names that version; a POST with
an `Idempotency-Key` creates once and replays its first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry

from herald_api.http import idempotency
from herald_api.http.context import context, principal
from herald_api.http.visibility import visible_app
from herald_api.http.web import (
    Page,
    check_if_match,
    etag,
    json_response,
    not_found,
    page_of,
    storable,
)


class Owned(Protocol):
    """An item of one app."""

    @property
    def app_id(self) -> str | None: ...


class Versioned(Protocol):
    """An item whose every change has a new version, its ETag."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


Item = TypeVar("Item", bound=Owned)


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


async def owned_or_404(
    load: Callable[[str], Awaitable[Item | None]], app: AppEntry, what: str, item_id: str
) -> Item:
    """The app's item of that id, loaded only when the id is text Postgres can store.

    Raises:
        ApiProblem: 404 (`what` its resource) when there is none or it is another app's.
    """
    item = await load(item_id) if storable(item_id) else None
    if item is None or item.app_id != app.id:
        raise not_found(f"{what} {item_id}")
    return item


def check_version(request: web.Request, item: Versioned) -> None:
    """Raises ApiProblem 412 when the request's `If-Match` does not name the item's version."""
    check_if_match(request, etag(item.id, item.version))


def versioned_answer(
    name: str, item: Versioned, wire: Any, *, status: int = 200, location: str | None = None
) -> web.Response:
    """`{name: wire}` with the item's ETag, and a `Location` when given (a created item's)."""
    response = json_response({name: wire}, status=status, tag=etag(item.id, item.version))
    if location is not None:
        response.headers["Location"] = location
    return response


async def create_once(
    request: web.Request,
    create: Callable[[asyncpg.Connection, AppEntry], Awaitable[web.Response]],
) -> web.Response:
    """Run `create` in one transaction with the request's visible app, once per
    `Idempotency-Key` (when sent): a repeated key with the same body replays the first answer.

    Raises:
        ApiProblem: 404 for an app the caller may not see, 400/422 for a bad or reused key, and
            what `create` raises.
    """
    ctx, caller = context(request), principal(request)
    raw = await request.read()
    key = request.headers.get(idempotency.HEADER)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
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
