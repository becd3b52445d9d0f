"""Who is calling, and whether the route they called lets them in.

`access_middleware` reads the declaration of the matched route (`declare.declaration_of`):
a `public` route lets anyone in; any other needs an API token or a JWT from the token exchange
(`Authorization: Bearer …`, or `Basic` with the token as password), else 401; an `admin` route
answers any other token a 404 naming the resource it hides. A route scoped to the path's app,
owner or user (`Route.scope`) has it resolved here, once (`scope.resolve`): the handler reads
it from the request, and a caller outside the scope gets a 404 naming it, as if it did not
exist (raised where the handler reads it, after the handler's own input checks; see `scope`).

Requests authenticate with a JWT (`issue_jwt`, an hour long) or with the API token itself; for a
JWT the token row is read again, so revoking a token also ends the JWTs issued for it.

A route declared with `query_token` (the live event stream) also takes a stream token in its
`?token=` query parameter, for the browsers' `EventSource` and `WebSocket`, which cannot send an
`Authorization` header. A stream token (`issue_stream_token`) is a JWT of its own audience,
valid five minutes and for one path; an exchange JWT is no stream token, nor the other way round.
The header wins when a request carries both. An expired, altered or other path's token is a 401
saying which.
"""

from __future__ import annotations

import uuid

import jwt
import structlog
from aiohttp import web

from herald_api.http.auth import Principal, TokenScope, find_principal, token_from_header
from herald_api.http.context import PRINCIPAL, context
from herald_api.http.declare import Auth, Handler, declaration_of, path_params
from herald_api.http.scope import SCOPED, refusal, resolve
from herald_api.http.web import ApiProblem, not_found

log = structlog.get_logger(__name__)

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "herald"
JWT_LIFETIME_S = 3600
STREAM_TOKEN_AUDIENCE = "herald-stream"  # noqa: S105 - a JWT audience, not a secret
STREAM_TOKEN_LIFETIME_S = 300
QUERY_TOKEN = "token"  # noqa: S105 - the query parameter's name


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


def issue_stream_token(
    principal: Principal,
    path: str,
    secret: str,
    now: float,
    lifetime_s: int = STREAM_TOKEN_LIFETIME_S,
) -> str:
    """A token that opens `path` (a stream) as `principal` for `lifetime_s`. Pure (given `now`).

    It names the API token (`sub`), so revoking that token ends it, and the path, so it opens
    no other owner's stream, nor any other route.
    """
    claims = {
        "iss": JWT_ISSUER,
        "aud": STREAM_TOKEN_AUDIENCE,
        "sub": principal.token_id,
        "path": path,
        "iat": int(now),
        "exp": int(now) + lifetime_s,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


class StreamTokenRefused(Exception):
    """Why a stream token does not open a path (the 401's detail)."""


def stream_token_subject(token: str, secret: str, path: str) -> str:
    """The API token id a valid stream token for `path` names. Reads the clock.

    Raises:
        StreamTokenRefused: expired, altered or malformed, not a stream token, or another path's.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            audience=STREAM_TOKEN_AUDIENCE,
            options={"require": ["exp", "sub", "iss", "aud", "path"]},
        )
    except jwt.ExpiredSignatureError:
        raise StreamTokenRefused("the stream token expired: ask for a new one") from None
    except jwt.PyJWTError:
        raise StreamTokenRefused("the stream token is not valid") from None
    subject = claims["sub"]
    if claims["path"] != path or not isinstance(subject, str):
        raise StreamTokenRefused("the stream token was issued for another stream")
    return subject


async def principal_of(request: web.Request, token_id: str) -> Principal | None:
    """The principal of API token `token_id`, unless it was revoked or deleted."""
    row = await context(request).pool.fetchrow(
        "SELECT id, name, scope_kind, scope_id FROM api_tokens"
        " WHERE id = $1 AND revoked_at IS NULL",
        token_id,
    )
    return (
        Principal(row["id"], row["name"], TokenScope(row["scope_kind"]), row["scope_id"])
        if row
        else None
    )


async def authenticate_query_token(request: web.Request, token: str) -> Principal:
    """The caller a stream token in the query names.

    Raises:
        ApiProblem: 401 naming why the token does not open this path.
    """
    secret = context(request).settings.jwt_secret.get_secret_value()
    try:
        subject = stream_token_subject(token, secret, request.path)
    except StreamTokenRefused as refused:
        raise ApiProblem(401, str(refused), kind="unauthorized") from None
    caller = await principal_of(request, subject)
    if caller is None:
        raise ApiProblem(401, "the stream token's API token was revoked", kind="unauthorized")
    return caller


async def authenticate(request: web.Request, header: str | None) -> Principal | None:
    """The caller of a request, from an API token or a JWT; None if neither is valid."""
    token = token_from_header(header)
    if token is None:
        return None
    ctx = context(request)
    if token.count(".") == 2:
        subject = jwt_subject(token, ctx.settings.jwt_secret.get_secret_value())
        return None if subject is None else await principal_of(request, subject)
    return await find_principal(ctx.pool, token)


REFUSALS = {
    Auth.BEARER: "a valid bearer token is required",
    Auth.ADMIN: "a valid bearer token is required",
    Auth.BASIC: "invalid token",  # the token exchange: Basic with the token as password
}


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the route is public or the request carries a valid token (then the caller is
    `context.principal(request)`, and a scoped route's resource `scope.scoped_app(request)` and
    the like). Paths no route matched go on to the router's 404 or 405."""
    route = declaration_of(request)
    if route is not None and route.auth is not Auth.PUBLIC:
        header = request.headers.get("Authorization")
        caller = await authenticate(request, header)
        if caller is None and header is None and route.query_token:
            query_token = request.query.get(QUERY_TOKEN)
            if query_token:
                caller = await authenticate_query_token(request, query_token)
        if caller is None:
            raise ApiProblem(401, REFUSALS[route.auth], kind="unauthorized")
        if route.auth is Auth.ADMIN and not caller.is_admin:
            # As for anything outside a token's scope: it does not exist, for this caller.
            hidden = request.match_info[path_params(route.path)[-1]]
            raise not_found(f"{route.resource} {hidden}")
        request[PRINCIPAL] = caller
        if route.scope is not None:
            request[SCOPED] = await resolve(request, route.scope, caller)
    response = await handler(request)
    refused = refusal(request)
    if refused is not None:  # the handler never read its scope: a bug, but never an answer
        log.error("scope_not_read", method=request.method, path=request.path)
        raise refused
    return response
