"""Scalingo's legacy notifications API (docs/faces.md), on the one notifier model:

GET    /v1/apps/{app}/notifications        200 {"notifications": [...]}
POST   /v1/apps/{app}/notifications        201 {"notification": {...}, "secret": "whsec_…"}
PATCH  /v1/apps/{app}/notifications/{id}   200 {"notification": {...}}
DELETE /v1/apps/{app}/notifications/{id}   204

Each notification is a notifier (`herald_api.faces.scalingo.legacy_notifications`), stored,
published and routed like any other, and listed by `GET /v1/apps/{app}/notifiers` too. Changes emit
`notifier_added`, `notifier_edited` and `notifier_removed`, as the notifiers API does. A
`webhook` notification is signed like every webhook: its generated secret is shown once, as
`secret` beside the notification in the creation answer, and read again with
`GET /v1/apps/{app}/notifiers/{id}/secret`. The app's
row is locked while a change is checked against the app's other notifications, so two requests
cannot both enable a notification of one type.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry
from herald_core.notifiers import Notifier

from herald_api.faces.scalingo.legacy_notifications import (
    FACE,
    conflict,
    conflict_errors,
    is_legacy,
    notification_from_create,
    notification_patched,
    to_wire,
)
from herald_api.faces.scalingo.legacy_wire import (
    LegacyNotificationAnswer,
    LegacyNotificationCreateBody,
    LegacyNotificationList,
    LegacyNotificationPatchBody,
)
from herald_api.http.context import context
from herald_api.http.declare import FACES_NOTE, NO_CONTENT, PathScope, Route, ok_answer
from herald_api.http.resources import owned_or_404
from herald_api.http.scope import scoped_app
from herald_api.http.web import invalid, json_response, read_json, wrapped
from herald_api.model import notifier_changes
from herald_api.store import notifier_store


def _answer(
    notifier: Notifier, status: int = 200, generated_secret: str | None = None
) -> web.Response:
    body: dict[str, Any] = {"notification": to_wire(notifier)}
    if generated_secret is not None:  # beside the notification, whose shape stays Scalingo's
        body["secret"] = generated_secret
    return json_response(body, status=status)


async def _app_locked(connection: asyncpg.Connection, request: web.Request) -> AppEntry:
    """The path's app (`scope.scoped_app`), its row locked until the transaction ends: a change
    is checked against the app's other notifications while none can change."""
    app = scoped_app(request)
    await connection.execute("SELECT 1 FROM apps WHERE id = $1 FOR UPDATE", app.id)
    return app


async def _legacy_locked(connection: asyncpg.Connection, notifier_id: str) -> Notifier | None:
    notifier = await notifier_store.load(connection, notifier_id, lock=True)
    return notifier if notifier is not None and is_legacy(notifier) else None


async def _notification_of(
    connection: asyncpg.Connection, app: AppEntry, notification_id: str
) -> Notifier:
    load = partial(_legacy_locked, connection)
    return await owned_or_404(load, app, "notification", notification_id)


async def _refuse_a_second_enabled(
    connection: asyncpg.Connection, app: AppEntry, notifier: Notifier
) -> None:
    others = await notifier_store.list_by_face(connection, FACE, app_id=app.id)
    other = conflict(notifier, others)
    if other is not None:
        raise invalid(conflict_errors(notifier, other))


async def list_notifications(request: web.Request) -> web.Response:
    app = scoped_app(request)
    async with context(request).pool.acquire() as connection:
        notifiers = await notifier_store.list_by_face(connection, FACE, app_id=app.id)
    return json_response({"notifications": [to_wire(n) for n in notifiers if is_legacy(n)]})


async def create_notification(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "notification")
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await _app_locked(connection, request)
        now = ctx.clock()
        notifier, secret = notifier_changes.created(
            notification_from_create, body, app, now=now, settings=ctx.settings
        )
        await _refuse_a_second_enabled(connection, app, notifier)
        await notifier_changes.add(connection, app, notifier, now)
    return _answer(notifier, status=201, generated_secret=secret)


async def update_notification(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "notification")
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await _app_locked(connection, request)
        current = await _notification_of(connection, app, request.match_info["id"])
        now = ctx.clock()
        notifier = notifier_changes.patched(
            notification_patched, current, body, now=now, settings=ctx.settings
        )
        await _refuse_a_second_enabled(connection, app, notifier)
        await notifier_changes.edit(connection, app, notifier, now)
    return _answer(notifier)


async def delete_notification(request: web.Request) -> web.Response:
    ctx = context(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await _app_locked(connection, request)
        current = await _notification_of(connection, app, request.match_info["id"])
        await notifier_changes.remove(connection, app, current, ctx.clock())
    return web.Response(status=204)


ROUTES = (
    Route(
        "GET",
        "/v1/apps/{app}/notifications",
        "List an app's notifications (Scalingo's legacy API)",
        "notifications",
        {200: ok_answer(LegacyNotificationList)},
        description=FACES_NOTE + " Each notification is an app notifier, also listed by"
        " `GET /v1/apps/{app}/notifiers`.",
        scope=PathScope.APP,
        handler=list_notifications,
    ),
    Route(
        "POST",
        "/v1/apps/{app}/notifications",
        "Add a notification: deployment events to a webhook or a Slack channel",
        "notifications",
        {201: ok_answer(LegacyNotificationAnswer, "Created")},
        body=LegacyNotificationCreateBody,
        description="The type is read from `webhook_url` (a Slack incoming webhook makes `slack`,"
        " any other URL `webhook`). Enabled by default; a second enabled notification of one type"
        " is a 422. Only deployment events are sent: Scalingo's JSON to a webhook, a message to"
        " Slack. A `webhook` one is signed: its generated secret is the answer's `secret`,"
        " shown this once.",
        scope=PathScope.APP,
        handler=create_notification,
    ),
    Route(
        "PATCH",
        "/v1/apps/{app}/notifications/{id}",
        "Change a notification's URL or enable/disable it",
        "notifications",
        {200: ok_answer(LegacyNotificationAnswer, "Updated")},
        body=LegacyNotificationPatchBody,
        description="A URL of another type is refused (a `slack` notification takes Slack URLs"
        " only), and so is enabling a second notification of one type (422).",
        scope=PathScope.APP,
        handler=update_notification,
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/notifications/{id}",
        "Remove a notification",
        "notifications",
        {204: NO_CONTENT},
        scope=PathScope.APP,
        handler=delete_notification,
    ),
)
