"""A webhook notifier's signing secret: read it, rotate it (`herald_api.model.webhook_secrets`).

GET  /v1/apps/{app}/notifiers/{id}/secret          200 {"secret": "whsec_…"}
POST /v1/apps/{app}/notifiers/{id}/secret/rotate   200 {"secret": "whsec_…",
                                                        "previous_secrets": [{"expires_at"}]}
GET  /v1/notifiers/{id}/secret                     the same for a notifier of any scope
POST /v1/notifiers/{id}/secret/rotate              (Clever Cloud hooks, Cloud 66 channels)

The app paths find only the app's own notifiers. The scope-free paths find a notifier by id
when the token may see its app (app notifiers), its owner (owner notifiers: Clever Cloud
hooks) or its user's account (user notifiers: Cloud 66 channels); an admin token sees all.
Anything else is a 404, as if it did not exist. A notifier that is not a webhook has no
secret: 404 (`resource` `secret`), and so has a webhook stored before secrets were generated,
until a rotation gives it one.

The rotate body is optional: `{"secret": "whsec_…"}` (else one is generated) and
`{"overlap_seconds": n}` (0 to 7 days; 24 h by default), how long the replaced secret still
signs. The change goes through the store and outbox like a PATCH: a new version (ETag), the
router sees it, and `notifier_edited` is announced. `If-Match` is honoured. Rotating one of a
Clever Cloud webhook hook's notifiers rotates every notifier of the hook (they share one
secret), each keeping its own old secret during the overlap.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from herald_core.notifiers import Notifier, Scope

from herald_api.http.auth import Principal
from herald_api.http.context import context, principal
from herald_api.http.declare import IF_MATCH, PathScope, Route, ok_answer, problem_answer
from herald_api.http.resources import check_version, owned_or_404
from herald_api.http.scope import scoped_app
from herald_api.http.web import (
    ApiProblem,
    etag,
    invalid,
    json_response,
    not_found,
    read_json,
    storable,
)
from herald_api.model import notifier_changes
from herald_api.model.hooks import FACE as CLEVERCLOUD
from herald_api.model.hooks import WEBHOOK
from herald_api.model.platform_events import notifier_event
from herald_api.model.webhook_secrets import (
    is_webhook,
    new_secret,
    parse_rotation,
    previous_expiries,
    rotated,
    secret_of,
)
from herald_api.native.native_wire import NotifierSecretAnswer, SecretRotateAnswer, SecretRotateBody
from herald_api.store import clevercloud_store, notifier_store
from herald_api.store import directory_store as directory
from herald_api.store.outbox import enqueue_event


def _no_secret(notifier: Notifier) -> ApiProblem:
    if not is_webhook(notifier):
        detail = (
            f"notifier {notifier.id} is a {notifier.platform.value} notifier:"
            " only webhook notifiers have a signing secret"
        )
    else:
        detail = (
            f"notifier {notifier.id} has no signing secret yet (stored before secrets were"
            " generated): POST …/secret/rotate gives it one"
        )
    return ApiProblem(404, detail, kind="not-found").with_resource("secret")


async def _may_see(connection: asyncpg.Connection, caller: Principal, notifier: Notifier) -> bool:
    """Whether the token may see the notifier's app, owner or user."""
    if caller.is_admin:
        return True
    if notifier.scope is Scope.APP:
        app = await directory.load_app(connection, notifier.app_id or "")
        return app is not None and caller.may_see_app(app.id, app.owner_id)
    if notifier.scope is Scope.OWNER:
        return notifier.owner_id is not None and caller.may_see_owner(notifier.owner_id)
    return notifier.user_id is not None and caller.may_see_owner(notifier.user_id)


async def _notifier(
    connection: asyncpg.Connection, request: web.Request, *, lock: bool = False
) -> Notifier:
    """The path's notifier, under its app for the app paths (scoped to it: `scope.scoped_app`);
    404 when the token may not see it."""
    notifier_id = request.match_info["id"]
    if "app" in request.match_info:
        app = scoped_app(request)
        load = notifier_store.load
        return await owned_or_404(
            lambda i: load(connection, i, lock=lock), app, "notifier", notifier_id
        )
    found = (
        await notifier_store.load(connection, notifier_id, lock=lock)
        if storable(notifier_id)
        else None
    )
    if found is None or not await _may_see(connection, principal(request), found):
        raise not_found(f"notifier {notifier_id}")
    return found


async def get_secret(request: web.Request) -> web.Response:
    async with context(request).pool.acquire() as connection:
        notifier = await _notifier(connection, request)
    secret = secret_of(notifier) if is_webhook(notifier) else None
    if secret is None:
        raise _no_secret(notifier)
    return json_response({"secret": secret})


async def _rotate_body(request: web.Request) -> Any:
    return None if not (await request.read()).strip() else await read_json(request)


async def _hook_of(connection: asyncpg.Connection, notifier: Notifier) -> list[Notifier]:
    """Every notifier of the notifier's Clever Cloud webhook hook (they share one secret),
    locked in the order a hook's edit locks them; empty for any other notifier."""
    data = notifier.type_data
    if data.get("face") != CLEVERCLOUD or data.get("hook_kind") != WEBHOOK or not notifier.owner_id:
        return []
    hooks = await clevercloud_store.owner_hooks(connection, notifier.owner_id, WEBHOOK, lock=True)
    return hooks.get(str(data.get("hook_id")), [])


async def _store_edit(connection: asyncpg.Connection, notifier: Notifier, now: datetime) -> None:
    """Store a changed notifier of any scope and announce `notifier_edited`, as a PATCH does."""
    if notifier.scope is Scope.APP and notifier.app_id is not None:
        app = await directory.load_app(connection, notifier.app_id)
        if app is not None:
            await notifier_changes.edit(connection, app, notifier, now)
            return
    await notifier_store.update(connection, notifier)
    owner_id = notifier.owner_id or notifier.user_id
    event = notifier_event("notifier_edited", notifier, now=now, owner_id=owner_id)
    await enqueue_event(connection, event)


async def rotate_secret(request: web.Request) -> web.Response:
    ctx = context(request)
    rotation, errors = parse_rotation(await _rotate_body(request))
    if errors:
        raise invalid(errors)
    secret = rotation.secret or new_secret()
    async with ctx.pool.acquire() as connection, connection.transaction():
        found = await _notifier(connection, request)
        hook = await _hook_of(connection, found)
        current = next((n for n in hook if n.id == found.id), None) or await _notifier(
            connection, request, lock=True
        )
        check_version(request, current)
        if not is_webhook(current):
            raise _no_secret(current)
        now = ctx.clock()
        notifier = rotated(current, secret, now, rotation.overlap_s)
        await _store_edit(connection, notifier, now)
        for sibling in (n for n in hook if n.id != current.id):
            await _store_edit(connection, rotated(sibling, secret, now, rotation.overlap_s), now)
    return json_response(
        {"secret": secret, "previous_secrets": previous_expiries(notifier)},
        tag=etag(notifier.id, notifier.version),
    )


WEBHOOK_ONLY_NOTE = (
    "Webhook notifiers only (any other is a 404 with `resource` `secret`, and so is a webhook"
    " stored before secrets were generated, until a rotation gives it one)."
)
ROTATE_NOTE = (
    " The new secret (the body's, else a generated one) signs from now on; the one it replaces"
    " still signs beside it for `overlap_seconds` (24 h by default, at most 7 days; 0 stops it"
    " at once), so `webhook-signature` carries both during the overlap. A new version (ETag),"
    " seen by the router, with a `notifier_edited` event, as a PATCH."
)
SCOPE_FREE_NOTE = (
    " Finds a notifier of any scope by id: an app's (the token may see the app), an owner's"
    " (Clever Cloud hooks: `<hook id>.<n>`) or a user's (Cloud 66 channels); admin tokens see"
    " all."
)
ROTATE_ANSWERS = {
    200: ok_answer(SecretRotateAnswer, "Rotated: the new secret, shown once here", "ETag"),
    412: problem_answer("The notifier changed since the `If-Match` ETag"),
}


def _rotate(path: str, summary: str, description: str, scope: PathScope | None) -> Route:
    return Route(
        "POST",
        path,
        summary,
        "notifiers",
        ROTATE_ANSWERS,
        scope=scope,
        body=SecretRotateBody,
        body_required=False,
        params=(IF_MATCH,),
        description=WEBHOOK_ONLY_NOTE + ROTATE_NOTE + description,
        handler=rotate_secret,
    )


ROUTES = (
    Route(
        "GET",
        "/v1/apps/{app}/notifiers/{id}/secret",
        "Read a webhook notifier's signing secret",
        "notifiers",
        {200: ok_answer(NotifierSecretAnswer)},
        scope=PathScope.APP,
        description=WEBHOOK_ONLY_NOTE,
        handler=get_secret,
    ),
    _rotate(
        "/v1/apps/{app}/notifiers/{id}/secret/rotate",
        "Rotate a webhook notifier's signing secret, with an overlap",
        "",
        PathScope.APP,
    ),
    # No scope in the path: the notifier's own (its app, owner or user) is judged once it is
    # found (`_may_see`), a 404 for a token that may not see it.
    Route(
        "GET",
        "/v1/notifiers/{id}/secret",
        "Read any webhook notifier's signing secret",
        "notifiers",
        {200: ok_answer(NotifierSecretAnswer)},
        description=WEBHOOK_ONLY_NOTE + SCOPE_FREE_NOTE,
        handler=get_secret,
    ),
    _rotate(
        "/v1/notifiers/{id}/secret/rotate",
        "Rotate any webhook notifier's signing secret, with an overlap",
        SCOPE_FREE_NOTE
        + " Rotating one notifier of a Clever Cloud webhook hook rotates the whole hook.",
        None,
    ),
)
