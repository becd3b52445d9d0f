"""Clever Cloud's organisation notifications, on its API's paths and shapes (docs/faces.md):

GET    /v2/notifications/webhooks/{owner}          200 [webhook hook, …]
POST   /v2/notifications/webhooks/{owner}          200 webhook hook + "secret" (shown once)
PUT    /v2/notifications/webhooks/{owner}/{id}     200 webhook hook (replaced whole; its
                                                   signing secret is kept)
DELETE /v2/notifications/webhooks/{owner}/{id}     204
GET    /v2/notifications/emailhooks/{owner}        200 [e-mail hook, …]
POST   /v2/notifications/emailhooks/{owner}        200 e-mail hook
PUT    /v2/notifications/emailhooks/{owner}/{id}   200 e-mail hook (replaced whole)
DELETE /v2/notifications/emailhooks/{owner}/{id}   204
GET    /v2/notifications/info/events               200 {"events": [...], "meta_events": {...}}
GET    /v2/notifications/info/webhookformats       200 ["raw", "slack", "flowdock", "gitter"]

The translation is `clevercloud_requests` (bodies checked), `clevercloud_face` (the notifiers
they make) and `clevercloud_render` (answers); hooks
are stored as the one notifier model (owner-scoped notifiers, `notifier_store`) and published
like every notifier. They authenticate like every other route
(`http.access`), with the same tokens (Clever Cloud's clients send `Authorization: Bearer <API
token>`). The owner must be registered (`PUT /v1/owners/{owner}`) and visible to the token
(its owner token, or an admin one); otherwise 404, which Clever Cloud's client reads as an
empty list.

Every webhook hook is signed (Standard Webhooks) with one secret shared by its URLs'
notifiers, generated at creation and shown once as the answer's `secret`. Its owner reads it
again, or rotates it, at `/v1/notifiers/{hook id}.0/secret` (`notifier_secrets_api`).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web
from herald_core.notifiers import Notifier

from herald_api.faces.clevercloud.clevercloud_face import (
    emailhook_notifier,
    event_ids,
    hook_replaced,
    hook_signing,
    meta_events,
    new_hook_id,
    signed_hook,
    webhook_notifiers,
)
from herald_api.faces.clevercloud.clevercloud_render import emailhook_to_wire, webhook_to_wire
from herald_api.faces.clevercloud.clevercloud_requests import (
    parse_emailhook,
    parse_webhook,
    scope_ids,
)
from herald_api.faces.clevercloud.clevercloud_wire import (
    FORMATS,
    CcEmailhook,
    CcEmailhookIn,
    CcEmailhookList,
    CcEventInfo,
    CcWebhook,
    CcWebhookFormats,
    CcWebhookIn,
    CcWebhookList,
)
from herald_api.http.context import ApiContext, context
from herald_api.http.declare import NO_CONTENT, Auth, PathScope, Route, ok_answer
from herald_api.http.scope import scoped_owner
from herald_api.http.web import invalid, json_response, not_found, read_json
from herald_api.model.hooks import EMAILHOOK, WEBHOOK, ScopeFacts
from herald_api.model.platform_events import notifier_event
from herald_api.model.type_data import InvalidNotifier
from herald_api.model.webhook_secrets import new_secret
from herald_api.store import clevercloud_store as store
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event

PREFIX = "/v2/notifications"


async def _insert(connection: asyncpg.Connection, notifiers: list[Notifier], now: Any) -> None:
    for notifier in notifiers:
        await notifier_store.insert(connection, notifier)
        await enqueue_event(
            connection,
            notifier_event("notifier_added", notifier, now=now, owner_id=notifier.owner_id),
        )


async def _remove(connection: asyncpg.Connection, notifiers: list[Notifier], now: Any) -> None:
    for notifier in notifiers:
        await notifier_store.delete(connection, notifier.id)
        event = notifier_event("notifier_removed", notifier, now=now, owner_id=notifier.owner_id)
        await enqueue_event(connection, event)


async def _delete_hook(request: web.Request, kind: str) -> web.Response:
    ctx, owner_id = context(request), scoped_owner(request).id
    hook_id = request.match_info["id"]
    async with ctx.pool.acquire() as connection, connection.transaction():
        hook = (await store.owner_hooks(connection, owner_id, kind, lock=True)).get(hook_id)
        if hook is None:
            raise not_found(f"{kind} {hook_id}")
        await _remove(connection, hook, ctx.clock())
    return web.Response(status=204)


async def list_webhooks(request: web.Request) -> web.Response:
    owner_id = scoped_owner(request).id
    async with context(request).pool.acquire() as connection:
        hooks = await store.owner_hooks(connection, owner_id, WEBHOOK)
        failures = await store.recent_failures(
            connection, [n.id for members in hooks.values() for n in members]
        )
    return json_response(
        [
            webhook_to_wire(
                hook_id, members, [f for f in failures if f.notifier_id.startswith(f"{hook_id}.")]
            )
            for hook_id, members in hooks.items()
        ]
    )


def _hook_notifiers(
    body: Any, kind: str, hook_id: str, owner_id: str, facts: ScopeFacts, ctx: ApiContext
) -> list[Notifier]:
    """The notifiers a POST or PUT body makes. Raises ApiProblem 422 listing every problem."""
    now = ctx.clock()
    try:
        if kind == WEBHOOK:
            allow_loopback = ctx.settings.allow_loopback_targets
            parsed = parse_webhook(
                body, owner_id=owner_id, facts=facts, allow_loopback=allow_loopback
            )
            return webhook_notifiers(hook_id, owner_id, parsed, now)
        request = parse_emailhook(body, owner_id=owner_id, facts=facts)
        return [emailhook_notifier(hook_id, owner_id, request, now)]
    except InvalidNotifier as error:
        raise invalid(error.errors) from None


def _hook_answer(
    kind: str, hook_id: str, notifiers: list[Notifier], secret: str | None = None
) -> web.Response:
    """The hook as Clever Cloud shows it; with `secret` (Herald's member), the signing secret
    just generated for a webhook hook, shown this once."""
    if kind != WEBHOOK:
        return json_response(emailhook_to_wire(hook_id, notifiers[0]))
    wire = webhook_to_wire(hook_id, notifiers)
    if secret is not None:
        wire["secret"] = secret
    return json_response(wire)


async def _save_hook(request: web.Request, kind: str, *, edit: bool) -> web.Response:
    """POST (a new hook) or PUT (the hook `id`, replaced whole: Clever Cloud's edit)."""
    ctx = context(request)
    body = await read_json(request)
    owner_id = scoped_owner(request).id
    async with ctx.pool.acquire() as connection, connection.transaction():
        current: list[Notifier] = []
        hook_id = new_hook_id()
        if edit:
            hook_id = request.match_info["id"]
            found = (await store.owner_hooks(connection, owner_id, kind, lock=True)).get(hook_id)
            if found is None:
                raise not_found(f"{kind} {hook_id}")
            current = found
        facts = await store.scope_facts(connection, scope_ids(body))
        wanted = _hook_notifiers(body, kind, hook_id, owner_id, facts, ctx)
        secret = None
        if kind == WEBHOOK:
            signing = hook_signing(current)
            if not signing:  # a new hook, or one stored before hooks were signed
                secret = new_secret()
                signing = {"secret": secret}
            wanted = signed_hook(wanted, signing)
        now = ctx.clock()
        added, updated, removed = hook_replaced(current, wanted, now)
        await _insert(connection, added, now)
        for notifier in updated:
            await notifier_store.update(connection, notifier)
            event = notifier_event("notifier_edited", notifier, now=now, owner_id=owner_id)
            await enqueue_event(connection, event)
        await _remove(connection, removed, now)
    return _hook_answer(kind, hook_id, _ordered(added, updated), secret)


def _ordered(added: list[Notifier], updated: list[Notifier]) -> list[Notifier]:
    return sorted([*added, *updated], key=lambda n: int(n.type_data.get("hook_position", 0)))


async def create_webhook(request: web.Request) -> web.Response:
    return await _save_hook(request, WEBHOOK, edit=False)


async def edit_webhook(request: web.Request) -> web.Response:
    return await _save_hook(request, WEBHOOK, edit=True)


async def delete_webhook(request: web.Request) -> web.Response:
    return await _delete_hook(request, WEBHOOK)


async def list_emailhooks(request: web.Request) -> web.Response:
    owner_id = scoped_owner(request).id
    async with context(request).pool.acquire() as connection:
        hooks = await store.owner_hooks(connection, owner_id, EMAILHOOK)
    return json_response(
        [emailhook_to_wire(hook_id, members[0]) for hook_id, members in hooks.items()]
    )


async def create_emailhook(request: web.Request) -> web.Response:
    return await _save_hook(request, EMAILHOOK, edit=False)


async def edit_emailhook(request: web.Request) -> web.Response:
    return await _save_hook(request, EMAILHOOK, edit=True)


async def delete_emailhook(request: web.Request) -> web.Response:
    return await _delete_hook(request, EMAILHOOK)


async def info_events(request: web.Request) -> web.Response:
    return json_response({"events": list(event_ids()), "meta_events": meta_events()})


async def info_webhook_formats(request: web.Request) -> web.Response:
    return json_response(list(FORMATS))


CC_OWNER_NOTE = (
    "Clever Cloud's API, on its paths and shapes (docs/faces.md, section Clever Cloud). `owner` is"
    " a registered owner (`PUT /v1/owners/{owner}`) the token may see: its owner token or an"
    " admin token, as `Authorization: Bearer` (what Clever Cloud's clients send)."
)
ROUTES = (
    Route(
        "GET",
        "/v2/notifications/webhooks/{owner}",
        "List an owner's webhook hooks",
        "clevercloud",
        {200: ok_answer(CcWebhookList)},
        description=CC_OWNER_NOTE + " Each hook shows its `state` and recent `failures`.",
        scope=PathScope.OWNER,
        handler=list_webhooks,
    ),
    Route(
        "POST",
        "/v2/notifications/webhooks/{owner}",
        "Create a webhook hook: one or more URLs, each in its format",
        "clevercloud",
        {200: ok_answer(CcWebhook, "Created")},
        body=CcWebhookIn,
        description=CC_OWNER_NOTE + " One owner-scoped webhook notifier per URL, all signed"
        " with one generated secret: the answer's `secret`, shown this once.",
        scope=PathScope.OWNER,
        handler=create_webhook,
    ),
    Route(
        "PUT",
        "/v2/notifications/webhooks/{owner}/{id}",
        "Edit a webhook hook: the body replaces it whole, as a POST body would",
        "clevercloud",
        {200: ok_answer(CcWebhook, "Updated")},
        body=CcWebhookIn,
        description=CC_OWNER_NOTE + " Same id, `createdAt` and signing secret; a disabled URL"
        " is on again.",
        scope=PathScope.OWNER,
        handler=edit_webhook,
    ),
    Route(
        "DELETE",
        "/v2/notifications/webhooks/{owner}/{id}",
        "Delete a webhook hook",
        "clevercloud",
        {204: NO_CONTENT},
        description=CC_OWNER_NOTE,
        scope=PathScope.OWNER,
        handler=delete_webhook,
    ),
    Route(
        "GET",
        "/v2/notifications/emailhooks/{owner}",
        "List an owner's e-mail hooks",
        "clevercloud",
        {200: ok_answer(CcEmailhookList)},
        description=CC_OWNER_NOTE + ' Every owner starts with "Default deployment result e-mails".',
        scope=PathScope.OWNER,
        handler=list_emailhooks,
    ),
    Route(
        "POST",
        "/v2/notifications/emailhooks/{owner}",
        "Create an e-mail hook",
        "clevercloud",
        {200: ok_answer(CcEmailhook, "Created")},
        body=CcEmailhookIn,
        description=CC_OWNER_NOTE + " One owner-scoped e-mail notifier.",
        scope=PathScope.OWNER,
        handler=create_emailhook,
    ),
    Route(
        "PUT",
        "/v2/notifications/emailhooks/{owner}/{id}",
        "Edit an e-mail hook: the body replaces it whole, as a POST body would",
        "clevercloud",
        {200: ok_answer(CcEmailhook, "Updated")},
        body=CcEmailhookIn,
        description=CC_OWNER_NOTE + " Same id and `createdAt`; a disabled URL is on again.",
        scope=PathScope.OWNER,
        handler=edit_emailhook,
    ),
    Route(
        "DELETE",
        "/v2/notifications/emailhooks/{owner}/{id}",
        "Delete an e-mail hook (the default one too: its mails stop)",
        "clevercloud",
        {204: NO_CONTENT},
        description=CC_OWNER_NOTE,
        scope=PathScope.OWNER,
        handler=delete_emailhook,
    ),
    Route(
        "GET",
        "/v2/notifications/info/events",
        "Clever Cloud's event ids and meta-events",
        "clevercloud",
        {200: ok_answer(CcEventInfo)},
        auth=Auth.PUBLIC,
        handler=info_events,
    ),
    Route(
        "GET",
        "/v2/notifications/info/webhookformats",
        "The webhook formats",
        "clevercloud",
        {200: ok_answer(CcWebhookFormats)},
        auth=Auth.PUBLIC,
        handler=info_webhook_formats,
    ),
)
