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

import asyncpg
from aiohttp import web
from herald_core.alerts import AlertRule
from herald_core.directory import AppEntry

from herald_api import alert_store, idempotency
from herald_api.alert_face import (
    InvalidAlert,
    alert_from_create,
    alert_patched,
    event_data,
    new_alert_id,
    to_wire,
)
from herald_api.context import context, principal
from herald_api.directory_api import visible_app
from herald_api.outbox import enqueue_event
from herald_api.platform_events import platform_event
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


def _answer(rule: AlertRule, status: int = 200) -> web.Response:
    return json_response({"alert": to_wire(rule)}, status=status, tag=etag(rule.id, rule.version))


async def _alert_of(connection: asyncpg.Connection, app: AppEntry, alert_id: str) -> AlertRule:
    rule = await alert_store.load(connection, alert_id) if storable(alert_id) else None
    if rule is None or rule.app_id != app.id:
        raise ApiProblem(404, f"alert {alert_id} not found", kind="not-found").with_resource(
            "alert"
        )
    return rule


async def _lock(connection: asyncpg.Connection, app: AppEntry) -> None:
    """Take the app's lock; 404 when the app went away meanwhile."""
    if not await alert_store.lock_app(connection, app.id):
        raise ApiProblem(404, f"app {app.id} not found", kind="not-found").with_resource("app")


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
    explicit = "page" in request.query or "per_page" in request.query
    page = page_of(
        request.query,
        default_size=alert_store.MAX_PER_APP,
        max_size=alert_store.MAX_PER_APP if not explicit else ctx.settings.max_per_page,
    )
    if explicit and "per_page" not in request.query:
        page = Page(page.number, ctx.settings.default_per_page)
    async with ctx.pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        rules, total = await alert_store.list_for_app(
            connection, app.id, offset=page.offset, limit=page.size
        )
    return json_response({"alerts": [to_wire(r) for r in rules], "meta": page.meta(total)})


async def create_alert(request: web.Request) -> web.Response:
    ctx, caller = context(request), principal(request)
    raw = await request.read()
    body = wrapped(await read_json(request), "alert")
    key = request.headers.get(idempotency.HEADER)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        if key is not None:
            replay = await idempotency.claim(
                connection, caller, key, request, raw, ctx.settings.idempotency_ttl_s
            )
            if replay is not None:
                return replay
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
        response = _answer(rule, status=201)
        response.headers["Location"] = f"/v1/apps/{app.id}/alerts/{rule.id}"
        if key is not None:
            await idempotency.remember(connection, caller, key, response)
    return response


async def get_alert(request: web.Request) -> web.Response:
    async with context(request).pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        rule = await _alert_of(connection, app, request.match_info["id"])
    return _answer(rule)


async def update_alert(request: web.Request) -> web.Response:
    ctx = context(request)
    body = wrapped(await read_json(request), "alert")
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        await _lock(connection, app)
        current = await _alert_of(connection, app, request.match_info["id"])
        check_if_match(request, etag(current.id, current.version))
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
    ctx = context(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        app = await visible_app(connection, request, request.match_info["app"])
        await _lock(connection, app)
        current = await _alert_of(connection, app, request.match_info["id"])
        check_if_match(request, etag(current.id, current.version))
        await alert_store.delete(connection, current.id)
        await alert_store.publish(connection, app)
        await _emit(connection, "alert_deleted", current, app, ctx.clock())
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/apps/{app}/alerts", list_alerts)
    app.router.add_post("/v1/apps/{app}/alerts", create_alert)
    app.router.add_get("/v1/apps/{app}/alerts/{id}", get_alert)
    app.router.add_patch("/v1/apps/{app}/alerts/{id}", update_alert)
    app.router.add_put("/v1/apps/{app}/alerts/{id}", update_alert)  # Scalingo takes both
    app.router.add_delete("/v1/apps/{app}/alerts/{id}", delete_alert)
