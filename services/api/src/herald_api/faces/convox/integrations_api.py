"""Convox organisation integrations over HTTP (`convox_face` for the model):

GET    /v1/owners/{owner}/integrations/{provider}/authorize   302 to the provider's consent page
GET    /v1/integrations/{provider}/callback?code&state         201 {"integration": {...}} (public)
GET    /v1/owners/{owner}/integrations                         200 {"integrations": [...]}
DELETE /v1/owners/{owner}/integrations/{id}                    204

The flow: `authorize` stores a random `state` (only its hash) bound to the owner and provider,
with an expiry, and redirects to the provider; the provider sends the browser back to the
callback with a `code` and that `state`. The callback claims the state once (unknown, expired,
used or another provider's: 400), exchanges the code at the provider's token endpoint with the
redirect_uri the provider saw, and creates the owner-scoped notifier through the notifiers'
store and outbox, with a `notifier_added` event, like `POST /v1/apps/{app}/notifiers`. The
callback is public: the browser arrives from the provider without a token; the state is the
credential. With `integrations_done_url` set it redirects there instead of answering JSON.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta

import aiohttp
import asyncpg
from aiohttp import web
from herald_core.notifiers import Notifier
from yarl import URL

from herald_api.faces.convox.convox_face import (
    ConnectedWebhook,
    Provider,
    TokenExchangeFailed,
    authorize_url,
    callback_url,
    connected_webhook,
    integration_json,
    integration_notifier,
    is_integration,
    provider_settings,
    token_request,
)
from herald_api.faces.convox.integrations_wire import IntegrationAnswer, IntegrationList
from herald_api.http import wire_models as w
from herald_api.http.context import context
from herald_api.http.declare import (
    NO_CONTENT,
    Answer,
    Auth,
    Param,
    PathScope,
    Route,
    ok_answer,
    problem_answer,
)
from herald_api.http.scope import scoped_owner
from herald_api.http.web import ApiProblem, json_response, not_found, storable
from herald_api.model.platform_events import notifier_event
from herald_api.model.platforms import platform_of
from herald_api.model.type_data import check_type_data
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event

MAX_ANSWER_BYTES = 64 * 1024
MAX_PARAM = 2000


def _provider(request: web.Request) -> Provider:
    try:
        return Provider(request.match_info["provider"])
    except ValueError:
        raise not_found(f"provider {request.match_info['provider']}") from None


def state_hash(state: str) -> str:
    """The stored form of a state: SHA-256 hex (the state is random and high-entropy). Pure."""
    return hashlib.sha256(state.encode()).hexdigest()


async def authorize(request: web.Request) -> web.Response:
    ctx, provider = context(request), _provider(request)
    oauth = provider_settings(ctx.settings, provider)
    if not oauth.client_id:
        # Not a server failure: this Herald does not offer the integration (no client set up).
        raise ApiProblem(
            404,
            f"the {provider.display_name} integration is not available here:"
            " no OAuth client is configured",
            kind="not-found",
        ).with_resource("provider")
    state = secrets.token_urlsafe(32)
    redirect_uri = callback_url(ctx.settings.public_url, provider)
    now = ctx.clock()
    owner_id = scoped_owner(request).id
    async with ctx.pool.acquire() as connection:
        await connection.execute(
            "DELETE FROM oauth_states WHERE expires_at < $1", now - timedelta(days=1)
        )
        await connection.execute(
            "INSERT INTO oauth_states (state_hash, owner_id, provider, redirect_uri, created_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            state_hash(state),
            owner_id,
            provider.value,
            redirect_uri,
            now,
            now + timedelta(seconds=ctx.settings.oauth_state_ttl_s),
        )
    target = authorize_url(oauth, provider, state=state, redirect_uri=redirect_uri)
    raise web.HTTPFound(target, headers={"Cache-Control": "no-store"})


def _param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None or value == "" or len(value) > MAX_PARAM or not storable(value):
        return None
    return value


async def _claim_state(
    pool: asyncpg.Pool, state: str | None, provider: Provider, request: web.Request
) -> tuple[str, str]:
    """(owner id, redirect_uri) of a valid state, now used; 400 otherwise."""
    row = None
    if state is not None:
        row = await pool.fetchrow(
            "UPDATE oauth_states SET used_at = $3 WHERE state_hash = $1 AND provider = $2"
            " AND used_at IS NULL AND expires_at > $3 RETURNING owner_id, redirect_uri",
            state_hash(state),
            provider.value,
            context(request).clock(),
        )
    if row is None:
        raise ApiProblem(
            400, "unknown, expired or already used OAuth state", kind="invalid-oauth-state"
        )
    return row["owner_id"], row["redirect_uri"]


async def _exchange(
    request: web.Request, provider: Provider, code: str, redirect_uri: str
) -> ConnectedWebhook:
    settings = context(request).settings
    oauth = provider_settings(settings, provider)
    form = token_request(oauth, provider, code=code, redirect_uri=redirect_uri)
    timeout = aiohttp.ClientTimeout(total=settings.oauth_timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                oauth.token_url,
                data=form,
                headers={"Accept": "application/json"},
                allow_redirects=False,
            ) as response,
        ):
            body = await response.content.read(MAX_ANSWER_BYTES)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ApiProblem(
            502, f"{provider.display_name} could not be reached: {type(error).__name__}"
        ) from None
    if status >= 500:
        raise ApiProblem(502, f"{provider.display_name} answered {status}")
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    try:
        return connected_webhook(provider, status, answer)
    except TokenExchangeFailed as error:
        raise ApiProblem(400, str(error), kind="oauth-code-refused") from None


async def callback(request: web.Request) -> web.Response:
    ctx, provider = context(request), _provider(request)
    owner_id, redirect_uri = await _claim_state(
        ctx.pool, _param(request, "state"), provider, request
    )
    denied = _param(request, "error")
    if denied is not None:
        raise ApiProblem(400, f"{provider.display_name} authorization failed: {denied[:100]}")
    code = _param(request, "code")
    if code is None:
        raise ApiProblem(400, "the callback has no code", kind="oauth-code-refused")
    webhook = await _exchange(request, provider, code, redirect_uri)
    errors = check_type_data(
        platform_of(provider.channel),
        {"webhook_url": webhook.url},
        allow_loopback=ctx.settings.allow_loopback_targets,
        chat_hosts=ctx.settings.chat_hosts,
    )
    if errors:
        raise ApiProblem(502, f"{provider.display_name} answered a webhook URL Herald refuses")
    now = ctx.clock()
    notifier = integration_notifier(owner_id, provider, webhook, now)
    async with ctx.pool.acquire() as connection, connection.transaction():
        await notifier_store.insert(connection, notifier)
        await enqueue_event(
            connection, notifier_event("notifier_added", notifier, now=now, owner_id=owner_id)
        )
    if ctx.settings.integrations_done_url:
        target = URL(ctx.settings.integrations_done_url).update_query(
            integration=notifier.id, provider=provider.value
        )
        raise web.HTTPFound(str(target))
    return json_response({"integration": integration_json(notifier)}, status=201)


async def list_integrations(request: web.Request) -> web.Response:
    ctx, owner_id = context(request), scoped_owner(request).id
    async with ctx.pool.acquire() as connection:
        rows = await connection.fetch(
            "SELECT document FROM notifiers WHERE scope = 'owner' AND owner_id = $1"
            " AND document->'type_data'->>'face' = 'convox'"
            " ORDER BY created_at, id",
            owner_id,
        )
    found = [Notifier.model_validate_json(r["document"]) for r in rows]
    return json_response(
        {"integrations": [integration_json(n) for n in found if is_integration(n)]}
    )


async def delete_integration(request: web.Request) -> web.Response:
    ctx, owner_id = context(request), scoped_owner(request).id
    integration_id = request.match_info["id"]
    async with ctx.pool.acquire() as connection, connection.transaction():
        current = (
            await notifier_store.load(connection, integration_id, lock=True)
            if storable(integration_id)
            else None
        )
        if current is None or current.owner_id != owner_id or not is_integration(current):
            raise not_found(f"integration {integration_id}")
        await notifier_store.delete(connection, current.id)
        await enqueue_event(
            connection,
            notifier_event("notifier_removed", current, now=ctx.clock(), owner_id=owner_id),
        )
    return web.Response(status=204)


ROUTES = (
    Route(
        "GET",
        "/v1/owners/{owner}/integrations/{provider}/authorize",
        "Connect Slack or Discord to an organisation: redirect to the provider (OAuth 2)",
        "integrations",
        {
            302: Answer("To the provider's consent page, with client_id, scope and state"),
            404: problem_answer(
                "Unknown owner, or no OAuth client is configured for this provider",
                w.NotFoundProblem,
            ),
        },
        description="Convox's organisation integrations. The `state` is random, single-use,"
        " bound to the owner and expires (`oauth_state_ttl_s`). Once connected, the"
        " integration forwards every event of every rack of the owner, audit-only ones"
        " excepted.",
        scope=PathScope.OWNER,
        handler=authorize,
    ),
    Route(
        "GET",
        "/v1/integrations/{provider}/callback",
        "The OAuth 2 callback: exchange the code, create the integration",
        "integrations",
        {
            201: ok_answer(IntegrationAnswer, "Connected"),
            302: Answer("Connected; to `integrations_done_url` when it is set"),
            400: problem_answer("Unknown, expired or used state; or the provider refused the code"),
            502: problem_answer("The provider could not be reached, or answered no usable webhook"),
        },
        auth=Auth.PUBLIC,
        params=(
            Param("code", "query", "The provider's authorization code", {"type": "string"}),
            Param("state", "query", "The state of the authorize redirect", {"type": "string"}),
            Param("error", "query", "The provider's error (the user declined)", {"type": "string"}),
        ),
        description="Public: the browser arrives from the provider; the state is the credential.",
        handler=callback,
    ),
    Route(
        "GET",
        "/v1/owners/{owner}/integrations",
        "List an organisation's Slack and Discord integrations",
        "integrations",
        {200: ok_answer(IntegrationList)},
        description="Webhook URLs are not shown (Discord's carries its token).",
        scope=PathScope.OWNER,
        handler=list_integrations,
    ),
    Route(
        "DELETE",
        "/v1/owners/{owner}/integrations/{id}",
        "Remove an integration: its notifications stop",
        "integrations",
        {204: NO_CONTENT},
        scope=PathScope.OWNER,
        handler=delete_integration,
    ),
)
