"""Scalingo's token exchange (docs/scalingo-compat.md §3).

`POST /v1/tokens/exchange` with `Basic :<api token>` answers a short-lived HS256 JWT whose `sub`
is the API token's id (`http.access` authenticates the request, and every later one).
"""

from __future__ import annotations

import time

from aiohttp import web

from herald_api.http import wire_models as w
from herald_api.http.access import issue_jwt
from herald_api.http.context import context, principal
from herald_api.http.declare import Auth, Route, ok_answer, problem_answer
from herald_api.http.web import json_response


async def exchange(request: web.Request) -> web.Response:
    caller = principal(request)
    secret = context(request).settings.jwt_secret.get_secret_value()
    return json_response({"token": issue_jwt(caller, secret, time.time())})


ROUTES = (
    Route(
        "POST",
        "/v1/tokens/exchange",
        "Exchange an API token for a JWT",
        "tokens",
        {200: ok_answer(w.TokenAnswer), 401: problem_answer("Unknown or revoked token")},
        auth=Auth.BASIC,
        body=w.AnyObject,
        body_read=False,
        description='Scalingo\'s flow: `Authorization: Basic base64(":" + token)`, body `{}`.',
        handler=exchange,
    ),
)
