"""Scalingo's notifiers API (docs/scalingo-compat.md §5):

GET    /v1/apps/{app}/notifiers          200 {"notifiers": [...], "meta": {"pagination": ...}}
POST   /v1/apps/{app}/notifiers          201 {"notifier": {...}}   (Idempotency-Key)
GET    /v1/apps/{app}/notifiers/{id}     200 {"notifier": {...}}   (ETag)
PATCH  /v1/apps/{app}/notifiers/{id}     200 {"notifier": {...}}   (If-Match)
DELETE /v1/apps/{app}/notifiers/{id}     204                       (If-Match)
"""

from __future__ import annotations

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry
from herald_core.notifiers import Notifier

from herald_api import idempotency, notifier_store
from herald_api.context import context, principal
from herald_api.directory_api import visible_app
from herald_api.notifier_face import (
    InvalidNotifier,
    new_notifier_id,
    notifier_from_create,
    notifier_patched,
    to_wire,
)
from herald_api.outbox import enqueue_event
from herald_api.platform_events import notifier_event
from herald_api.web import (
    ApiProblem,
    Page,
    check_if_match,
    etag,
    invalid,
    json_response,
    page_of,
    read_json,
    storable,
    wrapped,
)

UNPAGED = 10_000  # Scalingo's clients read one page and send no `page`: all by default


def _answer(notifier: Notifier, status: int = 200) -> web.Response:
    return json_response(
        {"notifier": to_wire(notifier)}, status=status, tag=etag(notifier.id, notifier.version)
    )


async def _notifier_of(
    connection: asyncpg.Connection, app: AppEntry, notifier_id: str, *, lock: bool = False
) -> Notifier:
    notifier = (
        await notifier_store.load(connection, notifier_id, lock=lock)
        if storable(notifier_id)
        else None
    )
    if notifier is None or notifier.app_id != app.id:
        raise ApiProblem(404, f"notifier {notifier_id} not found", kind="not-found").with_resource(
            "notifier"
        )
    return notifier


async def list_notifiers(request: web.Request) -> web.Response:
    ctx = context(request)
    explicit = "page" in request.query or "per_page" in request.query
    page = page_of(
        request.query,
        default_size=UNPAGED,
        max_size=UNPAGED if not explicit else ctx.settings.max_per_page,
    )
    if explicit and "per_page" not in request.query:
        page = Page(page.number, ctx.settings.default_per_page)
    async with ctx.pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        notifiers, total = await notifier_store.list_for_app(
            connection, app.id, offset=page.offset, limit=page.size
        )
    return json_response({"notifiers": [to_wire(n) for n in notifiers], "meta": page.meta(total)})


async def create_notifier(request: web.Request) -> web.Response:
    ctx, caller = context(request), principal(request)
    raw = await request.read()
    body = wrapped(await read_json(request), "notifier")
    key = request.headers.get(idempotency.HEADER)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        if key is not None:
            replay = await idempotency.claim(
                connection, caller, key, request, raw, ctx.settings.idempotency_ttl_s
            )
            if replay is not None:
                return replay
        now = ctx.clock()
        try:
            notifier = notifier_from_create(
                body,
                notifier_id=new_notifier_id(),
                app_id=app.id,
                owner_id=app.owner_id,
                now=now,
                allow_loopback=ctx.settings.allow_loopback_targets,
                chat_hosts=ctx.settings.chat_hosts,
            )
        except InvalidNotifier as error:
            raise invalid(error.errors) from None
        await notifier_store.insert(connection, notifier)
        await enqueue_event(
            connection,
            notifier_event(
                "notifier_added", notifier, now=now, owner_id=app.owner_id, app_name=app.name
            ),
        )
        response = _answer(notifier, status=201)
        response.headers["Location"] = f"/v1/apps/{app.id}/notifiers/{notifier.id}"
        if key is not None:
            await idempotency.remember(connection, caller, key, response)
    return response


async def get_notifier(request: web.Request) -> web.Response:
    async with context(request).pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        notifier = await _notifier_of(connection, app, request.match_info["id"])
    return _answer(notifier)


async def update_notifier(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "notifier")
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        current = await _notifier_of(connection, app, request.match_info["id"], lock=True)
        check_if_match(request, etag(current.id, current.version))
        now = ctx.clock()
        try:
            notifier = notifier_patched(
                current,
                body,
                now=now,
                allow_loopback=ctx.settings.allow_loopback_targets,
                chat_hosts=ctx.settings.chat_hosts,
            )
        except InvalidNotifier as error:
            raise invalid(error.errors) from None
        await notifier_store.update(connection, notifier)
        await enqueue_event(
            connection,
            notifier_event(
                "notifier_edited", notifier, now=now, owner_id=app.owner_id, app_name=app.name
            ),
        )
    return _answer(notifier)


async def delete_notifier(request: web.Request) -> web.Response:
    ctx = context(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        current = await _notifier_of(connection, app, request.match_info["id"], lock=True)
        check_if_match(request, etag(current.id, current.version))
        await notifier_store.delete(connection, current.id)
        await enqueue_event(
            connection,
            notifier_event(
                "notifier_removed",
                current,
                now=ctx.clock(),
                owner_id=app.owner_id,
                app_name=app.name,
            ),
        )
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/apps/{app}/notifiers", list_notifiers)
    app.router.add_post("/v1/apps/{app}/notifiers", create_notifier)
    app.router.add_get("/v1/apps/{app}/notifiers/{id}", get_notifier)
    app.router.add_patch("/v1/apps/{app}/notifiers/{id}", update_notifier)
    app.router.add_delete("/v1/apps/{app}/notifiers/{id}", delete_notifier)
