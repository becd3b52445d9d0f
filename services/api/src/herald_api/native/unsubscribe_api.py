"""One-click unsubscribe (RFC 8058), public: the links in every Herald e-mail.

GET   /v1/unsubscribe/{token}   200 a small HTML page whose button POSTs the same URL
POST  /v1/unsubscribe/{token}   200 {"unsubscribed": {...}}   body `List-Unsubscribe=One-Click`

The token (`herald_core.unsubscribe`) names a notifier and an address, signed with the secret the
e-mail sender signs with (`HERALD_UNSUBSCRIBE_SECRET` here, `HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET`
there; both default to the dev secret). POST adds the address to the notifier's
`type_data.unsubscribed` through the normal update path (new version, outbox, `notifier_edited`),
and `herald_core.recipients` never mails it again. Repeating it changes nothing. A bad token, or
a notifier that is gone, is a 404.
"""

from __future__ import annotations

import html
from typing import Any

from aiohttp import web
from herald_core.topics import Channel
from herald_core.unsubscribe import DEV_SECRET, UnsubscribeClaim, unsubscribe_claim
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from herald_api.http.context import context
from herald_api.http.declare import Answer, Auth, Route, ok_answer, problem_answer
from herald_api.http.web import ApiProblem, json_response, not_found
from herald_api.model.platform_events import notifier_event
from herald_api.native.native_wire import UnsubscribeAnswer
from herald_api.store import directory_store, notifier_store
from herald_api.store.outbox import enqueue_event

PATH = "/v1/unsubscribe/{token}"
ONE_CLICK = "One-Click"
MAX_BODY = 4096


class UnsubscribeSettings(BaseSettings):
    """The secret unsubscribe tokens are signed with (env `HERALD_UNSUBSCRIBE_SECRET`)."""

    model_config = SettingsConfigDict(env_prefix="HERALD_UNSUBSCRIBE_", frozen=True)

    secret: SecretStr = SecretStr(DEV_SECRET)


SETTINGS = web.AppKey("herald_unsubscribe_settings", UnsubscribeSettings)


def _claim(request: web.Request) -> UnsubscribeClaim:
    claim = unsubscribe_claim(
        request.app[SETTINGS].secret.get_secret_value(), request.match_info["token"]
    )
    if claim is None:
        raise not_found("unsubscribe link")
    return claim


def confirmation_page(claim: UnsubscribeClaim, *, done: bool) -> str:
    """The GET page (a button that POSTs) or the page after the POST. Pure, escaped, no script."""
    address = html.escape(claim.address)
    if done:
        body = f"<p><strong>{address}</strong> will get no more e-mail from this notifier.</p>"
    else:
        body = (
            f"<p>Stop this notifier's e-mail to <strong>{address}</strong>?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Unsubscribe</title></head>"
        '<body style="font-family: sans-serif; max-width: 480px; margin: 48px auto;">'
        f"<h1>Unsubscribe</h1>{body}</body></html>"
    )


async def show(request: web.Request) -> web.Response:
    claim = _claim(request)
    return web.Response(text=confirmation_page(claim, done=False), content_type="text/html")


async def unsubscribe(request: web.Request) -> web.Response:
    claim = _claim(request)
    if (request.content_length or 0) > MAX_BODY:
        raise ApiProblem(413, "the body is too large", kind="too-large")
    form = await request.post()
    if form.get("List-Unsubscribe") != ONE_CLICK:
        raise ApiProblem(
            400, "the body must be List-Unsubscribe=One-Click (RFC 8058)", kind="bad-request"
        )
    await stop_mail(request, claim)
    if "text/html" in request.headers.get("Accept", ""):
        return web.Response(text=confirmation_page(claim, done=True), content_type="text/html")
    answer: dict[str, Any] = {
        "unsubscribed": {"notifier_id": claim.notifier_id, "address": claim.address}
    }
    return json_response(answer)


async def stop_mail(request: web.Request, claim: UnsubscribeClaim) -> None:
    """Add the address to the notifier's `unsubscribed`, unless it is there already."""
    ctx = context(request)
    async with ctx.pool.acquire() as connection, connection.transaction():
        current = await notifier_store.load(connection, claim.notifier_id, lock=True)
        if current is None or current.platform is not Channel.EMAIL:
            raise not_found(f"notifier {claim.notifier_id}")
        listed = current.type_data.get("unsubscribed")
        already = [a for a in listed if isinstance(a, str)] if isinstance(listed, list) else []
        if claim.address in {a.strip().lower() for a in already}:
            return
        now = ctx.clock()
        type_data = {**current.type_data, "unsubscribed": [*already, claim.address]}
        notifier = current.model_copy(update={"type_data": type_data}).touched(now)
        await notifier_store.update(connection, notifier)
        app = (
            await directory_store.load_app(connection, notifier.app_id) if notifier.app_id else None
        )
        if not (notifier.app_id or notifier.owner_id):
            return  # a user's own notifier: no app or owner to file the event under
        await enqueue_event(
            connection,
            notifier_event(
                "notifier_edited",
                notifier,
                now=now,
                owner_id=app.owner_id if app else notifier.owner_id,
                app_name=app.name if app else None,
            ),
        )


def prepare(app: web.Application) -> None:
    """The secret the links are signed with, read from the environment once."""
    app[SETTINGS] = UnsubscribeSettings()


UNSUBSCRIBE_NOTE = (
    "The link of an e-mail's `List-Unsubscribe` header (RFC 8058); the token is the credential."
    " A bad token or a notifier that is gone is a 404."
)
ROUTES = (
    Route(
        "GET",
        "/v1/unsubscribe/{token}",
        "A page confirming an unsubscribe, with a button that POSTs",
        "notifiers",
        {200: Answer("An HTML page", None, "text/html")},
        auth=Auth.PUBLIC,
        description=UNSUBSCRIBE_NOTE,
        handler=show,
    ),
    Route(
        "POST",
        "/v1/unsubscribe/{token}",
        "One-click unsubscribe: stop a notifier's e-mail to one address",
        "notifiers",
        {
            200: ok_answer(UnsubscribeAnswer),
            400: problem_answer("The body is not `List-Unsubscribe=One-Click`"),
            413: problem_answer("The body is too large"),
        },
        auth=Auth.PUBLIC,
        description=UNSUBSCRIBE_NOTE + " The body is form-encoded `List-Unsubscribe=One-Click`;"
        " the address joins the notifier's `type_data.unsubscribed` (a new version, and a"
        " `notifier_edited` event). Idempotent. With `Accept: text/html` the answer is a page.",
        handler=unsubscribe,
    ),
)
