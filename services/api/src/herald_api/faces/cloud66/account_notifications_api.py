"""Cloud 66's account notifications (docs/faces.md), on the one notifier model:

GET   /v1/users/{user}/account_notifications               200 {"account_notifications": {...}}
PATCH /v1/users/{user}/account_notifications               200 {"account_notifications": {...}}
POST  /v1/users/{user}/account_notifications/webhook/test  200 {"test": {...}}

The matrix and its notifiers are `herald_api.faces.cloud66.account_notifications`. A PATCH
changes channel settings (`channels`) and per-type toggles (`event_types`) in one transaction, under
the user's row lock; each notifier it writes emits `notifier_added`, `notifier_edited` or
`notifier_removed` on the user's account. The webhook channel is signed like every webhook:
the PATCH that sets it up answers its generated secret once (`secret`, beside
`account_notifications`), and `/v1/notifiers/{notifier_id}/secret` reads or rotates it. The
test sends a sample account event to the user's
webhook through `notifier_test_api` and answers the receiver's status.

The routes are scoped to the path's user (`PathScope.USER`, checked by the access middleware):
admin tokens see every user; an owner token sees the user whose account it is (owner id = user
id). Anyone else gets 404, and so does an unknown user.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from herald_core.deliveries import Delivery
from herald_core.notifiers import Notifier
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from herald_api.faces.cloud66.account_notifications import by_channel, changed_channels, matrix
from herald_api.faces.cloud66.account_wire import AccountNotificationsAnswer
from herald_api.http.context import context
from herald_api.http.declare import FACES_NOTE, PathScope, Route, ok_answer, problem_answer
from herald_api.http.parsing import parse
from herald_api.http.scope import scoped_user
from herald_api.http.web import ApiProblem, invalid, json_response, not_found, read_json
from herald_api.model.account_notifiers import FACE, account_types
from herald_api.model.platform_events import notifier_event
from herald_api.model.sample_events import resolve_type, sample_event
from herald_api.model.type_data import InvalidNotifier
from herald_api.model.webhook_secrets import ensure_secret
from herald_api.native.native_wire import NotifierTestAnswer
from herald_api.native.notifier_test_api import (
    NotifierTestRequest,
    await_test_result,
    read_test_request,
    result_json,
)
from herald_api.store import directory_store, notifier_store
from herald_api.store.outbox import enqueue_event

DEFAULT_TEST_TYPE = "server.stopped"


class AccountNotificationsChange(BaseModel):
    """What a PATCH may change; absent members are unchanged."""

    model_config = ConfigDict(extra="forbid")

    channels: dict[str, dict[str, JsonValue] | None] = Field(
        default_factory=dict,
        description="Channel name → settings to merge (`null` removes the channel and its"
        " toggles); e-mail has none",
        examples=[{"webhook": {"webhook_url": "https://example.com/hooks/cloud66"}}],
    )
    event_types: dict[str, dict[str, bool]] = Field(
        default_factory=dict,
        description="Event type id → channel name → enabled",
        examples=[{"account.provision.fail": {"email": False, "webhook": True}}],
    )


class AccountNotificationsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_notifications: AccountNotificationsChange


async def _locked_email(connection: asyncpg.Connection, user_id: str) -> str | None:
    """The user's e-mail, read again with the user's row locked until the transaction ends (a
    PATCH's changes are checked against the user's notifiers while none can change). Raises
    ApiProblem 404 when the user went away since the access middleware read it (`scope`)."""
    row = await directory_store.load_user(connection, user_id, lock=True)
    if row is None:
        raise not_found(f"user {user_id}")
    email: str | None = row["email"]
    return email


async def _answer(
    connection: asyncpg.Connection,
    user_id: str,
    email: str | None,
    now: datetime,
    generated_secret: str | None = None,
) -> web.Response:
    stored = await notifier_store.list_by_face(connection, FACE, user_id=user_id)
    channels = by_channel(user_id, stored, now)
    body: dict[str, Any] = {"account_notifications": matrix(user_id, email, channels)}
    if generated_secret is not None:  # the new webhook channel's signing secret, shown once
        body["secret"] = generated_secret
    return json_response(body)


async def get_account_notifications(request: web.Request) -> web.Response:
    user = scoped_user(request)
    async with context(request).pool.acquire() as connection:
        return await _answer(connection, user.id, user.email, context(request).clock())


async def _write(
    connection: asyncpg.Connection,
    user_id: str,
    stored: list[Notifier],
    writes: list[Notifier],
    deletes: list[Notifier],
    now: datetime,
) -> str | None:
    """Store the changes; the secret generated for a webhook channel set up now, if any."""
    existing = {n.id for n in stored}
    generated = None
    for change in writes:
        if change.id in existing:
            notifier = change
            await notifier_store.update(connection, notifier)
            kind = "notifier_edited"
        else:
            notifier, secret = ensure_secret(change)
            generated = secret or generated
            await notifier_store.insert(connection, notifier)
            kind = "notifier_added"
        await enqueue_event(connection, notifier_event(kind, notifier, now=now, owner_id=user_id))
    for notifier in deletes:
        await notifier_store.delete(connection, notifier.id)
        await enqueue_event(
            connection, notifier_event("notifier_removed", notifier, now=now, owner_id=user_id)
        )
    return generated


async def change_account_notifications(request: web.Request) -> web.Response:
    ctx = context(request)
    body = parse(AccountNotificationsBody, await read_json(request))
    change: dict[str, Any] = body.account_notifications.model_dump()
    user_id = scoped_user(request).id
    async with ctx.pool.acquire() as connection, connection.transaction():
        email = await _locked_email(connection, user_id)
        stored = await notifier_store.list_by_face(connection, FACE, user_id=user_id)
        now = ctx.clock()
        try:
            writes, deletes = changed_channels(
                user_id,
                stored,
                change,
                now,
                allow_loopback=ctx.settings.allow_loopback_targets,
                chat_hosts=ctx.settings.chat_hosts,
            )
        except InvalidNotifier as error:
            raise invalid(error.errors) from None
        secret = await _write(connection, user_id, stored, writes, deletes, now)
        return await _answer(connection, user_id, email, now, secret)


async def run_account_webhook_test(request: web.Request) -> web.Response:
    ctx = context(request)
    wanted = await read_test_request(request)
    user_id = scoped_user(request).id
    async with ctx.pool.acquire() as connection:
        stored = await notifier_store.list_by_face(connection, FACE, user_id=user_id)
    webhook = next((n for n in stored if n.platform.value == "webhook"), None)
    if webhook is None:
        raise ApiProblem(
            409, "the webhook channel is not set up: PATCH its webhook_url first", kind="conflict"
        )
    event_type = resolve_type(wanted.event_type or DEFAULT_TEST_TYPE)
    if event_type is None or event_type not in account_types():
        raise invalid({"event_type": [f"not an account notification type: {wanted.event_type!r}"]})
    now = ctx.clock()
    event = sample_event(
        event_type,
        event_id=f"test-{uuid.uuid4()}",
        now=now,
        app_id=None,
        app_name=None,
        owner_id=user_id,
    )
    result = await await_test_result(request, Delivery.for_(event, webhook, now))
    return json_response({"test": result_json(result)})


ROUTES = (
    Route(
        "GET",
        "/v1/users/{user}/account_notifications",
        "A user's account notifications: event types by channels (Cloud 66)",
        "account_notifications",
        {200: ok_answer(AccountNotificationsAnswer)},
        description=FACES_NOTE + " One user notifier per channel set up; e-mail is on by default"
        " for every type but `account_suspended`. Admin tokens, or the owner token of the user's"
        " own account.",
        scope=PathScope.USER,
        handler=get_account_notifications,
    ),
    Route(
        "PATCH",
        "/v1/users/{user}/account_notifications",
        "Change channel settings and per-type toggles",
        "account_notifications",
        {200: ok_answer(AccountNotificationsAnswer, "Updated")},
        body=AccountNotificationsBody,
        description="`channels` merges each channel's settings (`null` removes a channel);"
        " `event_types` switches types on or off per channel. A type can be switched on only on"
        " a channel that is set up.",
        scope=PathScope.USER,
        handler=change_account_notifications,
    ),
    Route(
        "POST",
        "/v1/users/{user}/account_notifications/webhook/test",
        "Send a sample account event to the user's webhook, and answer how it went",
        "account_notifications",
        {
            200: ok_answer(NotifierTestAnswer, "The attempt's result, whatever its outcome"),
            409: problem_answer("The webhook channel is not set up"),
            503: problem_answer(
                "Too many tests are waiting, or the broker did not take the delivery"
            ),
            504: problem_answer("No result in time: is the webhook sender running?"),
        },
        body=NotifierTestRequest,
        body_required=False,
        description="The body is optional: `event_type` picks an account type (`server.stopped`"
        " by default). The payload is Cloud 66's: the event plus `timestamp` and `event_type`.",
        scope=PathScope.USER,
        handler=run_account_webhook_test,
    ),
)
