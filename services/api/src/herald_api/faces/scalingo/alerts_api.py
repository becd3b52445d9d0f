"""Scalingo's alerts API (docs/alerts.md), on the shape of the notifiers API:

GET    /v1/apps/{app}/alerts          200 {"alerts": [...], "meta": {"pagination": ...}}
POST   /v1/apps/{app}/alerts          201 {"alert": {...}}   (Idempotency-Key)
GET    /v1/apps/{app}/alerts/{id}     200 {"alert": {...}}   (ETag)
PATCH  /v1/apps/{app}/alerts/{id}     200 {"alert": {...}}   (If-Match; PUT is the same)
DELETE /v1/apps/{app}/alerts/{id}     204                    (If-Match)

Each change locks the app's row, stores the rule and, in the same transaction, republishes all
of the app's rules to `notify.config.alerts`; creating and deleting also emit `alert_added` and
`alert_deleted` to `notify.events`.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import asyncpg
from aiohttp import web
from herald_core.alerts import AlertRule
from herald_core.directory import AppEntry

from herald_api.faces.scalingo.alert_face import (
    InvalidAlert,
    alert_from_create,
    alert_patched,
    event_data,
    new_alert_id,
    to_wire,
)
from herald_api.faces.scalingo.alert_wire import (
    AlertAnswer,
    AlertCreateBody,
    AlertList,
    AlertPatchBody,
)
from herald_api.faces.scalingo.app_resource import create_once, scalingo_page
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
from herald_api.http.web import invalid, json_response, not_found, read_json, wrapped
from herald_api.model.platform_events import platform_event
from herald_api.store import alert_store
from herald_api.store.outbox import enqueue_event


def _answer(rule: AlertRule, status: int = 200, location: str | None = None) -> web.Response:
    return versioned_answer("alert", rule, to_wire(rule), status=status, location=location)


async def _alert_of(connection: asyncpg.Connection, app: AppEntry, alert_id: str) -> AlertRule:
    return await owned_or_404(partial(alert_store.load, connection), app, "alert", alert_id)


async def _lock(connection: asyncpg.Connection, app: AppEntry) -> None:
    """Take the app's lock; 404 when the app went away since the access middleware read it
    (`scope`): a change of the app's alerts holds its row until the transaction ends."""
    if not await alert_store.lock_app(connection, app.id):
        raise not_found(f"app {app.id}")


async def _emit(
    connection: asyncpg.Connection, event_type: str, rule: AlertRule, app: AppEntry, now: datetime
) -> None:
    await enqueue_event(
        connection,
        platform_event(
            event_type,
            now=now,
            app_id=app.id,
            owner_id=app.owner_id,
            app_name=app.name,
            type_data=event_data(rule),
        ),
    )


async def list_alerts(request: web.Request) -> web.Response:
    ctx = context(request)
    page = scalingo_page(request, unpaged=alert_store.MAX_PER_APP)
    app = scoped_app(request)
    async with ctx.pool.acquire() as connection:
        rules, total = await alert_store.list_for_app(
            connection, app.id, offset=page.offset, limit=page.size
        )
    return json_response({"alerts": [to_wire(r) for r in rules], "meta": page.meta(total)})


async def create_alert(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "alert")

    async def create(connection: asyncpg.Connection, app: AppEntry) -> web.Response:
        await _lock(connection, app)
        now = ctx.clock()
        try:
            rule = alert_from_create(
                body,
                alert_id=new_alert_id(),
                app_id=app.id,
                known_notifiers=await alert_store.app_notifier_ids(connection, app.id),
                now=now,
            )
        except InvalidAlert as error:
            raise invalid(error.errors) from None
        if await alert_store.count_for_app(connection, app.id) >= alert_store.MAX_PER_APP:
            raise invalid({"alert": [f"an app has at most {alert_store.MAX_PER_APP} alerts"]})
        await alert_store.insert(connection, rule)
        await alert_store.publish(connection, app)
        await _emit(connection, "alert_added", rule, app, now)
        return _answer(rule, status=201, location=f"/v1/apps/{app.id}/alerts/{rule.id}")

    return await create_once(request, create)


async def get_alert(request: web.Request) -> web.Response:
    app = scoped_app(request)
    async with context(request).pool.acquire() as connection:
        rule = await _alert_of(connection, app, request.match_info["id"])
    return _answer(rule)


async def update_alert(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "alert")
    app = scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        await _lock(connection, app)
        current = await _alert_of(connection, app, request.match_info["id"])
        check_version(request, current)
        try:
            rule = alert_patched(
                current,
                body,
                known_notifiers=await alert_store.app_notifier_ids(connection, app.id),
                now=ctx.clock(),
            )
        except InvalidAlert as error:
            raise invalid(error.errors) from None
        await alert_store.update(connection, rule)
        await alert_store.publish(connection, app)
    return _answer(rule)


async def delete_alert(request: web.Request) -> web.Response:
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        await _lock(connection, app)
        current = await _alert_of(connection, app, request.match_info["id"])
        check_version(request, current)
        await alert_store.delete(connection, current.id)
        await alert_store.publish(connection, app)
        await _emit(connection, "alert_deleted", current, app, ctx.clock())
    return web.Response(status=204)


ROUTES = (
    Route(
        "GET",
        "/v1/apps/{app}/alerts",
        "List an app's alerts",
        "alerts",
        {200: ok_answer(AlertList)},
        params=PAGE,
        description="Without `page` or `per_page`, every alert of the app (at most 100).",
        scope=PathScope.APP,
        handler=list_alerts,
    ),
    Route(
        "POST",
        "/v1/apps/{app}/alerts",
        "Create an alert",
        "alerts",
        {
            201: ok_answer(AlertAnswer, "Created", "ETag", "Location", "Idempotent-Replayed"),
            409: problem_answer("A request with this Idempotency-Key is still in progress"),
        },
        body=AlertCreateBody,
        params=(IDEMPOTENCY_KEY,),
        description="Scalingo's encodings: `duration_before_trigger` in nanoseconds,"
        " `remind_every` as a Go duration string (nanoseconds accepted). `notifiers` must be"
        " notifiers of the app. Emits `alert_added`.",
        scope=PathScope.APP,
        handler=create_alert,
    ),
    Route(
        "GET",
        "/v1/apps/{app}/alerts/{id}",
        "Show an alert",
        "alerts",
        {200: ok_answer(AlertAnswer, "OK", "ETag")},
        scope=PathScope.APP,
        handler=get_alert,
    ),
    *(
        Route(
            method,
            "/v1/apps/{app}/alerts/{id}",
            "Update an alert",
            "alerts",
            {
                200: ok_answer(AlertAnswer, "Updated", "ETag"),
                412: problem_answer("The alert changed since the `If-Match` ETag"),
            },
            body=AlertPatchBody,
            params=(IF_MATCH,),
            description="Absent members are unchanged (PUT is the same, as at Scalingo).",
            scope=PathScope.APP,
            handler=update_alert,
        )
        for method in ("PATCH", "PUT")
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/alerts/{id}",
        "Delete an alert",
        "alerts",
        {204: NO_CONTENT, 412: problem_answer("The alert changed since the `If-Match` ETag")},
        params=(IF_MATCH,),
        description="Emits `alert_deleted`; the app's last alert leaves a tombstone on"
        " `notify.config.alerts`.",
        scope=PathScope.APP,
        handler=delete_alert,
    ),
)
