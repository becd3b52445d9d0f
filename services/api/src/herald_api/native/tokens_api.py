"""Scalingo's token exchange (docs/scalingo-compat.md §3) and request authentication.

`POST /v1/tokens/exchange` with `Basic :<api token>` answers a short-lived HS256 JWT whose `sub`
is the API token's id. Requests authenticate with that JWT or with the API token itself; for a
JWT the token row is read again, so revoking a token also ends the JWTs issued for it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import jwt
from aiohttp import web

from herald_api.http.auth import Principal, TokenScope, find_principal, token_from_header
from herald_api.http.context import PRINCIPAL, context
from herald_api.http.web import ApiProblem, json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "herald"
JWT_LIFETIME_S = 3600


def issue_jwt(principal: Principal, secret: str, now: float) -> str:
    """A JWT for `principal`, valid for an hour. Pure (given `now`)."""
    claims = {
        "iss": JWT_ISSUER,
        "sub": principal.token_id,
        "iat": int(now),
        "exp": int(now) + JWT_LIFETIME_S,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def jwt_subject(token: str, secret: str) -> str | None:
    """The token id a valid, unexpired JWT names; None for anything else. Reads the clock."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


async def authenticate(request: web.Request, header: str | None) -> Principal | None:
    """The caller of a request, from an API token or a JWT; None if neither is valid."""
    token = token_from_header(header)
    if token is None:
        return None
    ctx = context(request)
    if token.count(".") == 2:
        subject = jwt_subject(token, ctx.settings.jwt_secret.get_secret_value())
        if subject is None:
            return None
        row = await ctx.pool.fetchrow(
            "SELECT id, name, scope_kind, scope_id FROM api_tokens"
            " WHERE id = $1 AND revoked_at IS NULL",
            subject,
        )
        return (
            Principal(row["id"], row["name"], TokenScope(row["scope_kind"]), row["scope_id"])
            if row
            else None
        )
    return await find_principal(ctx.pool, token)


async def exchange(request: web.Request) -> web.Response:
    caller = await authenticate(request, request.headers.get("Authorization"))
    if caller is None:
        raise ApiProblem(401, "invalid token", kind="unauthorized")
    secret = context(request).settings.jwt_secret.get_secret_value()
    return json_response({"token": issue_jwt(caller, secret, time.time())})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /v1 path needs a caller, except the public catalog and the exchange itself."""
    from herald_api.native.catalog_api import PUBLIC_PATHS

    if (
        request.path.startswith("/v1/")
        and request.path not in PUBLIC_PATHS
        and request.path != "/v1/tokens/exchange"
        and not request.path.startswith("/v1/unsubscribe/")  # one-click links: the token is the key
        and not _is_oauth_callback(request.path)  # from the provider: the state is the key
    ):
        caller = await authenticate(request, request.headers.get("Authorization"))
        if caller is None:
            raise ApiProblem(401, "a valid bearer token is required", kind="unauthorized")
        request[PRINCIPAL] = caller
    return await handler(request)


def _is_oauth_callback(path: str) -> bool:
    """`/v1/integrations/{provider}/callback` (integrations_api): public."""
    parts = path.split("/")
    return len(parts) == 5 and parts[2] == "integrations" and parts[4] == "callback"


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/tokens/exchange", exchange)
