"""The directory over HTTP: apps (and their default notifier), collaborators, owners, users.

PUT/GET/DELETE /v1/apps/{app}                       {"app": {...}}
GET            /v1/apps/{app}/collaborators         {"collaborators": [...]}
PUT/DELETE     /v1/apps/{app}/collaborators/{id}    {"collaborator": {...}}
PUT/GET        /v1/owners/{owner}                   {"owner": {...}}  (a new owner gets
                                                    Clever Cloud's default deployment hook; so
                                                    does one an app is registered for)
PUT/GET        /v1/users/{user}                     {"user": {...}}
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry

from herald_api.http import wire_models as w
from herald_api.http.context import context, principal
from herald_api.http.declare import NO_CONTENT, Auth, PathScope, Route, ok_answer, upserted
from herald_api.http.parsing import parse
from herald_api.http.scope import scoped_app, scoped_owner, scoped_owner_id
from herald_api.http.web import (
    ApiProblem,
    etag,
    invalid,
    json_response,
    not_found,
    read_json,
    storable,
    wrapped,
)
from herald_api.model.account_defaults import ensure_email_notifier
from herald_api.model.defaults import default_notifier
from herald_api.model.directory_input import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_SHAPE,
    AppIn,
    CollaboratorIn,
    OwnerIn,
    UserIn,
)
from herald_api.model.owner_defaults import ensure_default, ensure_owner, owner_created
from herald_api.model.platform_events import platform_event
from herald_api.store import alert_store, notifier_store
from herald_api.store import directory_store as store
from herald_api.store.outbox import enqueue_event


def new_id(request: web.Request, name: str) -> str:
    """The id a PUT may create, from the path. Raises ApiProblem 422 unless URL-safe.

    An id with a control character would also break the answer's ETag header.
    """
    value = request.match_info[name]
    if len(value) > ID_MAX_LENGTH or not ID_SHAPE.fullmatch(value):
        raise invalid({name: [f"must match {ID_PATTERN}, at most {ID_MAX_LENGTH} characters"]})
    return value


def app_json(app: AppEntry) -> dict[str, Any]:
    return app.model_dump(mode="json")


async def put_app(request: web.Request) -> web.Response:
    app_id = new_id(request, "app")
    body = parse(AppIn, wrapped(await read_json(request), "app"))
    caller, ctx = principal(request), context(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        existing = await store.load_app(connection, app_id)
        if existing is not None and not caller.may_see_app(existing.id, existing.owner_id):
            raise not_found(f"app {app_id}")
        was = (existing.name, existing.owner_id) if existing is not None else None
        if not caller.may_see_app(app_id, body.owner_id):
            raise not_found(f"app {app_id}")
        created = await store.upsert_app(
            connection,
            app_id,
            name=body.name,
            owner_id=body.owner_id,
            region=body.region,
            url=body.url,
        )
        if created and "scalingo" in ctx.settings.default_faces:
            await _create_default_notifier(connection, app_id, body, ctx.clock())
        await ensure_owner(
            connection, body.owner_id, faces=ctx.settings.default_faces, now=ctx.clock()
        )
        app = await store.publish_app(connection, app_id)
        if app is not None and was not in (None, (app.name, app.owner_id)):
            await alert_store.republish_if_any(connection, app)  # its record names both
    assert app is not None
    return json_response(
        {"app": app_json(app)}, status=201 if created else 200, tag=etag(app.id, app.version)
    )


async def _create_default_notifier(
    connection: asyncpg.Connection, app_id: str, body: AppIn, now: Any
) -> None:
    notifier = default_notifier(
        app_id, body.owner_id, now, collaborators=body.default_notifier_collaborators
    )
    await ensure_default(connection, notifier, now, owner_id=body.owner_id, app_name=body.name)


async def get_app(request: web.Request) -> web.Response:
    app = scoped_app(request)
    return json_response({"app": app_json(app)}, tag=etag(app.id, app.version))


async def delete_app(request: web.Request) -> web.Response:
    app = scoped_app(request)
    async with context(request).pool.acquire() as connection, connection.transaction():
        await alert_store.delete_for_app(connection, app.id)  # tombstones its alert record
        for notifier_id in await store.delete_app(connection, app.id):
            await notifier_store.publish(connection, notifier_id, None)
        await store.publish_app(connection, app.id)
    return web.Response(status=204)


async def list_collaborators(request: web.Request) -> web.Response:
    app = scoped_app(request)
    return json_response({"collaborators": [c.model_dump(mode="json") for c in app.collaborators]})


async def put_collaborator(request: web.Request) -> web.Response:
    collaborator_id = new_id(request, "id")
    body = parse(CollaboratorIn, wrapped(await read_json(request), "collaborator"))
    if body.email is None and body.user_id is None:
        raise ApiProblem(
            422,
            "a collaborator needs an email or a user_id",
            kind="validation-failed",
            errors={"email": ["email or user_id is required"]},
        )
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        before = next((c for c in app.collaborators if c.id == collaborator_id), None)
        created, old_role = await store.upsert_collaborator(
            connection,
            app.id,
            collaborator_id,
            email=body.email,
            user_id=body.user_id,
            username=body.username,
            role=body.role,
            status=body.status,
        )
        updated = await store.publish_app(connection, app.id)
        data = {
            "id": collaborator_id,
            "email": body.email,
            "user_id": body.user_id,
            "username": body.username,
            "role": body.role,
        }
        for event_type in _collaborator_events(
            before is None, before.status if before else None, body.status, old_role, body.role
        ):
            extra = {"old_role": old_role} if event_type == "collaborator_role_changed" else {}
            await enqueue_event(
                connection,
                platform_event(
                    event_type,
                    now=ctx.clock(),
                    app_id=app.id,
                    app_name=app.name,
                    owner_id=app.owner_id,
                    type_data={"collaborator": data, **extra},
                ),
            )
    assert updated is not None
    entry = next(c for c in updated.collaborators if c.id == collaborator_id)
    return json_response(
        {"collaborator": entry.model_dump(mode="json")}, status=201 if created else 200
    )


def _collaborator_events(
    new: bool, old_status: str | None, status: str, old_role: str | None, role: str
) -> list[str]:
    """Which collaborator_* events a change is. Pure."""
    events = []
    if new:
        events.append("collaborator_invited")
    if status == "accepted" and old_status != "accepted":
        events.append("collaborator_accepted")
    if not new and old_role is not None and old_role != role:
        events.append("collaborator_role_changed")
    return events


async def delete_collaborator(request: web.Request) -> web.Response:
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        collaborator_id = request.match_info["id"]
        gone = next((c for c in app.collaborators if collaborator_id in (c.id, c.user_id)), None)
        if gone is None or not await store.delete_collaborator(connection, app.id, collaborator_id):
            raise not_found(f"collaborator {collaborator_id}")
        await store.publish_app(connection, app.id)
        await enqueue_event(
            connection,
            platform_event(
                "collaborator_removed",
                now=ctx.clock(),
                app_id=app.id,
                app_name=app.name,
                owner_id=app.owner_id,
                type_data={
                    "collaborator": {"id": gone.id, "email": gone.email, "user_id": gone.user_id}
                },
            ),
        )
    return web.Response(status=204)


async def put_owner(request: web.Request) -> web.Response:
    new_id(request, "owner")
    body = parse(OwnerIn, wrapped(await read_json(request), "owner"))
    owner_id = scoped_owner_id(request)  # 404 for an owner the token may not see
    members = [(m.user_id, m.role) for m in body.members] if body.members is not None else None
    async with context(request).pool.acquire() as connection, connection.transaction():
        created = await store.upsert_owner(
            connection, owner_id, kind=body.kind, name=body.name, members=members
        )
        owner = await store.publish_owner(connection, owner_id)
        if created:
            await owner_created(
                connection,
                owner_id,
                body.kind,
                faces=context(request).settings.default_faces,
                now=context(request).clock(),
            )
    assert owner is not None
    return json_response(
        {"owner": owner.model_dump(mode="json")},
        status=201 if created else 200,
        tag=etag(owner.id, owner.version),
    )


async def get_owner(request: web.Request) -> web.Response:
    owner = scoped_owner(request)
    return json_response(
        {"owner": owner.model_dump(mode="json")}, tag=etag(owner.id, owner.version)
    )


async def put_user(request: web.Request) -> web.Response:
    user_id = new_id(request, "user")
    body = parse(UserIn, wrapped(await read_json(request), "user"))
    async with context(request).pool.acquire() as connection, connection.transaction():
        created, owners, apps = await store.upsert_user(
            connection, user_id, email=body.email, name=body.name, username=body.username
        )
        if created and "cloud66" in context(request).settings.default_faces:
            # Cloud 66: e-mail account notifications are on for every new user
            await ensure_email_notifier(connection, user_id, context(request).clock())
        for owner_id in owners:
            await store.publish_owner(connection, owner_id)
        for app_id in apps:
            await store.publish_app(connection, app_id)
        row = await connection.fetchrow(
            "SELECT id, email, name, username, version FROM users WHERE id = $1", user_id
        )
    return json_response(
        {"user": {k: row[k] for k in ("id", "email", "name", "username")}},
        status=201 if created else 200,
        tag=etag(user_id, row["version"]),
    )


async def get_user(request: web.Request) -> web.Response:
    user_id = request.match_info["user"]
    row = (
        await context(request).pool.fetchrow(
            "SELECT id, email, name, username, version FROM users WHERE id = $1", user_id
        )
        if storable(user_id)
        else None
    )
    if row is None:
        raise not_found(f"user {user_id}")
    return json_response(
        {"user": {k: row[k] for k in ("id", "email", "name", "username")}},
        tag=etag(user_id, row["version"]),
    )


ROUTES = (
    Route(
        "PUT",
        "/v1/apps/{app}",
        "Register or update an app",
        "apps",
        upserted(w.AppAnswer, "ETag"),
        # No scope: the app may not exist yet. The handler judges the token against the app as
        # stored and as the body would leave it (its `owner_id`): 404 for either out of scope.
        body=w.AppBody,
        description="A new app also gets its default notifier (critical alerts by e-mail).",
        handler=put_app,
    ),
    Route(
        "GET",
        "/v1/apps/{app}",
        "Show an app",
        "apps",
        {200: ok_answer(w.AppAnswer, "OK", "ETag")},
        scope=PathScope.APP,
        handler=get_app,
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}",
        "Delete an app, its collaborators and notifiers",
        "apps",
        {204: NO_CONTENT},
        scope=PathScope.APP,
        handler=delete_app,
    ),
    Route(
        "GET",
        "/v1/apps/{app}/collaborators",
        "List an app's collaborators",
        "apps",
        {200: ok_answer(w.CollaboratorList)},
        scope=PathScope.APP,
        handler=list_collaborators,
    ),
    Route(
        "PUT",
        "/v1/apps/{app}/collaborators/{id}",
        "Invite or update a collaborator",
        "apps",
        upserted(w.CollaboratorAnswer),
        body=w.CollaboratorBody,
        scope=PathScope.APP,
        handler=put_collaborator,
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/collaborators/{id}",
        "Remove a collaborator (by id or user id)",
        "apps",
        {204: NO_CONTENT},
        scope=PathScope.APP,
        handler=delete_collaborator,
    ),
    Route(
        "PUT",
        "/v1/owners/{owner}",
        "Register or update an owner",
        "owners",
        upserted(w.OwnerAnswer, "ETag"),
        body=w.OwnerBody,
        scope=PathScope.OWNER_ID,
        handler=put_owner,
    ),
    Route(
        "GET",
        "/v1/owners/{owner}",
        "Show an owner",
        "owners",
        {200: ok_answer(w.OwnerAnswer)},
        scope=PathScope.OWNER,
        handler=get_owner,
    ),
    Route(
        "PUT",
        "/v1/users/{user}",
        "Register or update a user (admin)",
        "users",
        upserted(w.UserAnswer, "ETag"),
        auth=Auth.ADMIN,
        body=w.UserBody,
        resource="user",
        handler=put_user,
    ),
    Route(
        "GET",
        "/v1/users/{user}",
        "Show a user (admin)",
        "users",
        {200: ok_answer(w.UserAnswer)},
        auth=Auth.ADMIN,
        resource="user",
        handler=get_user,
    ),
)
