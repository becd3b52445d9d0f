"""Disabling a failing notifier: `apply_disable`, and the operators' endpoint on top of it.

POST /v1/notifiers/{id}/disable   200 {"notifier": {...}, "changed": bool}   (admin tokens only)

The recorder's endpoint health does not call this endpoint: it publishes its decision as a
`DisableNotifier` record on `notify.commands.notifiers`, which the command consumer
(notifier_commands.py) applies with `apply_disable`, exactly as this endpoint does. The endpoint
stays for operators (docs/operations.md): disable a notifier with a reason its owner is told.

The notifier becomes inactive through the same store and outbox as a PATCH (a new version on
`notify.config.notifiers`, so the router stops routing to it), and a `notifier_disabled` event
goes to `notify.events` in the same transaction, so the owner hears of it through their other
notifiers. A notifier already inactive is left as it is: 200 with `changed` false, no event.
Any scope of notifier (app, owner, user) is found by id alone. A token that is not an admin's
gets 404, as for any resource outside its scope.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from aiohttp import web
from herald_core.envelope import Event
from herald_core.notifier_commands import INT4_MAX, DisableNotifier, DisableSkip, disable_skip
from herald_core.notifiers import Notifier
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from herald_api.http.context import context
from herald_api.http.declare import Auth, Route, ok_answer
from herald_api.http.parsing import parse
from herald_api.http.web import etag, json_response, not_found, read_json, storable
from herald_api.model.notifier_wire import to_wire
from herald_api.model.platform_events import platform_event
from herald_api.native.native_wire import NotifierDisabledAnswer
from herald_api.store import notifier_store
from herald_api.store.outbox import enqueue_event


class NotifierDisableBody(BaseModel):
    """Why the notifier is disabled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200, examples=["server_error"])
    failing_since: AwareDatetime | None = Field(
        default=None, description="The first failure of the streak"
    )
    consecutive_failures: int | None = Field(default=None, ge=0, le=INT4_MAX, examples=[12])


def disabled_event(
    notifier: Notifier,
    why: DisableNotifier,
    *,
    now: datetime,
    app: tuple[str | None, str | None] = (None, None),
) -> Event:
    """The `notifier_disabled` event of `notifier` (already inactive), `app` its app's name and
    owner when it has one. Pure but for the event's id.

    Raises:
        InvalidEvent: if the catalog refuses it (a bug, never user input).
    """
    data = {
        "notifier_id": notifier.id,
        "notifier_name": notifier.name,
        "platform": notifier.platform.value,
        "reason": why.reason,
        "failing_since": why.failing_since.isoformat() if why.failing_since else None,
        "consecutive_failures": why.consecutive_failures,
    }
    return platform_event(
        "notifier_disabled",
        now=now,
        app_id=notifier.app_id,
        owner_id=app[1] or notifier.owner_id,
        type_data={k: v for k, v in data.items() if v is not None},
        app_name=app[0],
    )


async def _app_of(
    connection: asyncpg.Connection, app_id: str | None
) -> tuple[str | None, str | None]:
    """(name, owner id) of the app, or Nones: the event names the app's current owner."""
    row = (
        await connection.fetchrow("SELECT name, owner_id FROM apps WHERE id = $1", app_id)
        if app_id is not None
        else None
    )
    return (row["name"], row["owner_id"]) if row else (None, None)


async def apply_disable(
    connection: asyncpg.Connection, command: DisableNotifier, now: datetime
) -> tuple[Notifier | None, DisableSkip | None]:
    """Disable the command's notifier, in the caller's transaction: (the notifier, None) when it
    changed, else (the notifier as it is or None, why nothing changed: `disable_skip`).

    The new version and the `notifier_disabled` event go to the outbox in that transaction.
    """
    notifier_id = command.notifier_id
    current = (
        await notifier_store.load(connection, notifier_id, lock=True)
        if storable(notifier_id)
        else None
    )
    skip = disable_skip(command, current)
    if current is None or skip is not None:
        return current, skip
    notifier = current.model_copy(update={"active": False}).touched(now)
    await notifier_store.update(connection, notifier)
    app = await _app_of(connection, notifier.app_id)
    await enqueue_event(connection, disabled_event(notifier, command, now=now, app=app))
    return notifier, None


async def disable_notifier(request: web.Request) -> web.Response:
    ctx = context(request)
    notifier_id = request.match_info["id"]
    why = parse(NotifierDisableBody, await read_json(request))
    now = ctx.clock()
    command = DisableNotifier(
        notifier_id=notifier_id, decided_at=now, decided_by="api", **why.model_dump()
    )
    async with ctx.pool.acquire() as connection, connection.transaction():
        notifier, skip = await apply_disable(connection, command, now)
    if notifier is None:
        raise not_found(f"notifier {notifier_id}")
    return json_response(
        {"notifier": to_wire(notifier), "changed": skip is None},
        tag=etag(notifier.id, notifier.version),
    )


ROUTES = (
    Route(
        "POST",
        "/v1/notifiers/{id}/disable",
        "Disable a failing notifier (admin: the recorder's endpoint health)",
        "notifiers",
        {200: ok_answer(NotifierDisabledAnswer, "Disabled, now or before", "ETag")},
        auth=Auth.ADMIN,
        body=NotifierDisableBody,
        resource="notifier",
        description="Sets the notifier inactive (a new version) and emits `notifier_disabled` to"
        " its owner. Idempotent: an inactive notifier is answered as it is, without an event."
        " Tokens other than admin tokens get 404.",
        handler=disable_notifier,
    ),
)
