"""Scalingo's notifiers API (docs/scalingo-compat.md §5):

GET    /v1/apps/{app}/notifiers          200 {"notifiers": [...], "meta": {"pagination": ...}}
POST   /v1/apps/{app}/notifiers          201 {"notifier": {...}}   (Idempotency-Key; a webhook
                                          created without a secret shows the generated one in
                                          `type_data.secret`, this once)
GET    /v1/apps/{app}/notifiers/{id}     200 {"notifier": {...}}   (ETag)
PATCH  /v1/apps/{app}/notifiers/{id}     200 {"notifier": {...}}   (If-Match)
DELETE /v1/apps/{app}/notifiers/{id}     204                       (If-Match)

The signing secret's own routes (read, rotate) are `notifier_secrets_api`.
"""

from __future__ import annotations

from functools import partial

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry
from herald_core.notifiers import Notifier

from herald_api.faces.scalingo.app_resource import create_once, scalingo_page
from herald_api.faces.scalingo.notifier_face import notifier_from_create, notifier_patched
from herald_api.http import wire_models as w
from herald_api.http.context import context
from herald_api.http.declare import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    NO_CONTENT,
    PAGE,
    PathScope,
    Route,
    ok_answer,
    problem_answer,
)
from herald_api.http.resources import check_version, owned_or_404, versioned_answer
from herald_api.http.scope import scoped_app
from herald_api.http.web import json_response, read_json, wrapped
from herald_api.model import notifier_changes
from herald_api.model.notifier_wire import to_wire
from herald_api.store import notifier_store

UNPAGED = 10_000  # Scalingo's clients read one page and send no `page`: all by default


def _answer(
    notifier: Notifier,
    status: int = 200,
    location: str | None = None,
    generated_secret: str | None = None,
) -> web.Response:
    wire = to_wire(notifier)
    if generated_secret is not None:  # shown once, in clear, where it lives; masked ever after
        wire["type_data"]["secret"] = generated_secret
    return versioned_answer("notifier", notifier, wire, status=status, location=location)


async def _notifier_of(
    connection: asyncpg.Connection, app: AppEntry, notifier_id: str, *, lock: bool = False
) -> Notifier:
    load = partial(notifier_store.load, connection, lock=lock)
    return await owned_or_404(load, app, "notifier", notifier_id)


async def list_notifiers(request: web.Request) -> web.Response:
    ctx = context(request)
    page = scalingo_page(request, unpaged=UNPAGED)
    app = scoped_app(request)
    async with ctx.pool.acquire() as connection:
        notifiers, total = await notifier_store.list_for_app(
            connection, app.id, offset=page.offset, limit=page.size
        )
    return json_response({"notifiers": [to_wire(n) for n in notifiers], "meta": page.meta(total)})


async def create_notifier(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "notifier")

    async def create(connection: asyncpg.Connection, app: AppEntry) -> web.Response:
        now = ctx.clock()
        notifier, secret = notifier_changes.created(
            notifier_from_create, body, app, now=now, settings=ctx.settings
        )
        await notifier_changes.add(connection, app, notifier, now)
        location = f"/v1/apps/{app.id}/notifiers/{notifier.id}"
        return _answer(notifier, status=201, location=location, generated_secret=secret)

    return await create_once(request, create)


async def get_notifier(request: web.Request) -> web.Response:
    app = scoped_app(request)
    async with context(request).pool.acquire() as connection:
        notifier = await _notifier_of(connection, app, request.match_info["id"])
    return _answer(notifier)


async def update_notifier(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "notifier")
    app = scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        current = await _notifier_of(connection, app, request.match_info["id"], lock=True)
        check_version(request, current)
        now = ctx.clock()
        notifier = notifier_changes.patched(
            notifier_patched, current, body, now=now, settings=ctx.settings
        )
        await notifier_changes.edit(connection, app, notifier, now)
    return _answer(notifier)


async def delete_notifier(request: web.Request) -> web.Response:
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        current = await _notifier_of(connection, app, request.match_info["id"], lock=True)
        check_version(request, current)
        await notifier_changes.remove(connection, app, current, ctx.clock())
    return web.Response(status=204)


ROUTES = (
    Route(
        "GET",
        "/v1/apps/{app}/notifiers",
        "List an app's notifiers",
        "notifiers",
        {200: ok_answer(w.NotifierList)},
        params=PAGE,
        scope=PathScope.APP,
        handler=list_notifiers,
    ),
    Route(
        "POST",
        "/v1/apps/{app}/notifiers",
        "Create a notifier",
        "notifiers",
        {
            201: ok_answer(w.NotifierAnswer, "Created", "ETag", "Location", "Idempotent-Replayed"),
            409: problem_answer("A request with this Idempotency-Key is still in progress"),
        },
        body=w.NotifierCreateBody,
        params=(IDEMPOTENCY_KEY,),
        description="A webhook created without `type_data.secret` gets a generated one, shown"
        " in clear in this answer's `type_data.secret` only (then masked; read it again at"
        " `…/notifiers/{id}/secret`).",
        scope=PathScope.APP,
        handler=create_notifier,
    ),
    Route(
        "GET",
        "/v1/apps/{app}/notifiers/{id}",
        "Show a notifier",
        "notifiers",
        {200: ok_answer(w.NotifierAnswer, "OK", "ETag")},
        scope=PathScope.APP,
        handler=get_notifier,
    ),
    Route(
        "PATCH",
        "/v1/apps/{app}/notifiers/{id}",
        "Update a notifier",
        "notifiers",
        {
            200: ok_answer(w.NotifierAnswer, "Updated", "ETag"),
            412: problem_answer("The notifier changed since the `If-Match` ETag"),
        },
        body=w.NotifierPatchBody,
        params=(IF_MATCH,),
        description="Absent members are unchanged; `type_data` is merged key by key.",
        scope=PathScope.APP,
        handler=update_notifier,
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/notifiers/{id}",
        "Delete a notifier",
        "notifiers",
        {204: NO_CONTENT, 412: problem_answer("The notifier changed since the `If-Match` ETag")},
        params=(IF_MATCH,),
        scope=PathScope.APP,
        handler=delete_notifier,
    ),
)
