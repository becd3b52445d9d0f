"""How a route is declared: method, path, handler, who may call it, request and answer models.

Each handler module ends with its `ROUTES`, a tuple of `Route`; `herald_api.routes` puts them
together in the order of the OpenAPI document. `register` mounts them on the aiohttp router and
keeps each declaration where `access` (the auth middleware) finds it for a request; `openapi`
builds the document from the same tuple. Nothing else lists routes.

Who may call a route is two fields: `auth` (public, any token, Basic for the token exchange,
admin) and, for a bearer route, `scope`: the path's app, owner or user the token must be able to
see (`PathScope`). The middleware checks both; the scoped resource is then the handler's to read
(`http.scope`), and outside the token's scope is a 404, as if it did not exist.

Answers every route shares come from `shared_answers`: 401 on authenticated routes, 404 on
routes with a path parameter (saying which scope applies), 400 and 422 on routes that read a
JSON body, 422 on integer query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from aiohttp import web
from herald_core.unsubscribe import MAX_TOKEN_LENGTH
from pydantic import BaseModel

from herald_api.http import wire_models as w
from herald_api.http.keyset import DEFAULT_LIMIT, MAX_LIMIT
from herald_api.http.web import MAX_PAGE
from herald_api.model.directory_input import ID_MAX_LENGTH, ID_PATTERN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON = "application/json"
PROBLEM = "application/problem+json"


class Auth(StrEnum):
    """Who may call a route. A bearer route may narrow it to the tokens that may see the path's
    app, owner or user (`Route.scope`); outside its scope is a 404, as for an admin route to
    anyone else."""

    PUBLIC = "public"
    BEARER = "bearer"  # any valid token (that may see the path's `scope`, when declared)
    BASIC = "basic"  # the token exchange: Basic with the token as password (Bearer works too)
    ADMIN = "admin"  # an admin token; anyone else is told the `resource` does not exist


class PathScope(StrEnum):
    """The path's resource a bearer route is scoped to: the token must be able to see it
    (`auth.Principal`), else the route answers 404 naming it ("app app-1 not found"). The access
    middleware resolves it once (`http.scope`); the handler reads it from the request."""

    APP = "app"  # `{app}`: an app that exists and the token may see (`may_see_app`)
    OWNER = "owner"  # `{owner}`: a registered owner the token may see (`may_see_owner`)
    # `{owner}`, registered or not: an owner's audit log, and the PUT that registers it
    OWNER_ID = "owner_id"
    # `{user}`: a registered user whose account the token may see (admin, or the owner token
    # of the user's own account: `may_see_owner` of the user's id)
    USER = "user"

    @property
    def param(self) -> str:
        """The path parameter that names the resource."""
        return "owner" if self is PathScope.OWNER_ID else self.value

    @property
    def resource(self) -> str:
        """What its 404 names ("app", "owner", "user")."""
        return self.param


@dataclass(frozen=True)
class Answer:
    description: str
    model: type[BaseModel] | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()  # names in RESPONSE_HEADERS


@dataclass(frozen=True)
class Param:
    name: str
    location: Literal["path", "query", "header"]
    description: str
    schema: Mapping[str, Any]
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Route:
    """One route, declared once: registration (`register`), the access middleware (`access`)
    and the OpenAPI document (`openapi`) all read it."""

    method: str
    path: str
    summary: str
    tag: str
    answers: Mapping[int, Answer]
    auth: Auth = Auth.BEARER
    scope: PathScope | None = None  # the path's resource the token must see (bearer routes)
    body: type[BaseModel] | None = None
    body_read: bool = True  # False: a body is accepted and ignored (no 400/422)
    body_required: bool = True  # False: the body may be left out
    params: tuple[Param, ...] = ()
    description: str = ""
    resource: str = ""  # what an admin route's 404 names to others ("user", "notifier")
    # A bearer route that also takes a stream token in `?token=` (`access`): for browsers,
    # whose EventSource and WebSocket cannot send Authorization
    query_token: bool = False
    handler: Handler = field(kw_only=True)


ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, "pattern": ID_PATTERN}
TOKEN_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TOKEN_LENGTH,
    "pattern": r"^[A-Za-z0-9_.\-]+$",
}
PATH_PARAMS = {
    "app": Param("app", "path", "The app's id", ID_SCHEMA, True, "app-1"),
    "id": Param(
        "id", "path", "The collaborator's, notifier's or delivery's id", ID_SCHEMA, True, "no-1"
    ),
    "owner": Param("owner", "path", "The owner's id", ID_SCHEMA, True, "org-1"),
    "provider": Param(
        "provider",
        "path",
        "The chat service of a Convox integration",
        {"type": "string", "enum": ["slack", "discord"]},
        True,
        "slack",
    ),
    "user": Param("user", "path", "The user's id", ID_SCHEMA, True, "us-1"),
    "token": Param(
        "token",
        "path",
        "The signed token of an e-mail's unsubscribe link",
        TOKEN_SCHEMA,
        True,
        "v1.bm8tMR9hbm4.c2ln",
    ),
}
PAGE = (
    Param(
        "page",
        "query",
        "Page number, from 1",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    ),
    Param(
        "per_page",
        "query",
        "Items per page (capped by the server's maximum); without `page` or `per_page`,"
        " notifier and platform lists hold every item",
        {"type": "integer", "minimum": 1},
    ),
)
IF_MATCH = Param(
    "If-Match",
    "header",
    "An ETag from a previous answer: 412 if the resource changed since",
    {"type": "string"},
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "Replays the first answer for the same key and body; another body gets 422",
    {"type": "string", "minLength": 1, "maxLength": 200},
)
RESPONSE_HEADERS = {
    "ETag": "The resource's version, for `If-Match`",
    "Location": "The created notifier's URL",
    "Idempotent-Replayed": "`true` when the answer is replayed for an `Idempotency-Key`",
}


def problem_answer(description: str, model: type[BaseModel] = w.Problem) -> Answer:
    return Answer(description, model, PROBLEM)


def ok_answer(model: type[BaseModel], description: str = "OK", *headers: str) -> Answer:
    return Answer(description, model, JSON, headers)


NO_CONTENT = Answer("Done; no body")


def upserted(model: type[BaseModel], *headers: str) -> dict[int, Answer]:
    return {200: ok_answer(model, "Updated", *headers), 201: ok_answer(model, "Created", *headers)}


TIME = {"type": "string", "format": "date-time"}
KEYSET_PAGE = (
    Param(
        "limit",
        "query",
        f"Items per page, {DEFAULT_LIMIT} by default; more than {MAX_LIMIT} is capped",
        {"type": "integer", "minimum": 1},
    ),
    Param("cursor", "query", "The `next_cursor` of the previous page", {"type": "string"}),
)
FACES_NOTE = "A thin face over the one notifier model (docs/faces.md)."


NOT_FOUND = {
    None: "Unknown, or outside the token's scope",
    PathScope.APP: "Unknown, or outside the token's scope: an app the token may not see is"
    " unknown to it, and so is what the path names under it",
    PathScope.OWNER: "Unknown, or outside the token's scope: an owner the token may not see, or"
    " one not registered, is unknown to it",
    PathScope.OWNER_ID: "Outside the token's scope: an owner the token may not see is unknown"
    " to it",
    PathScope.USER: "Unknown, or outside the token's scope: a user whose account the token may"
    " not see is unknown to it",
}
"""The description of a route's 404 answer, by the scope it declares."""


def shared_answers(route: Route) -> dict[int, Answer]:
    """The answers a route gives besides its own: by auth, path and body. Pure."""
    answers: dict[int, Answer] = {}
    if route.body is not None and route.body_read:
        answers[400] = problem_answer("The body is not JSON, or missing")
        answers[422] = problem_answer("The body is invalid", w.ValidationProblem)
    if any(p.location == "query" and p.schema.get("type") == "integer" for p in route.params):
        answers[422] = problem_answer("A query parameter is invalid", w.ValidationProblem)
    if route.auth in (Auth.BEARER, Auth.ADMIN):
        answers[401] = problem_answer("No valid token")
    if path_params(route.path):
        answers[404] = problem_answer(NOT_FOUND[route.scope], w.NotFoundProblem)
    return answers


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


DECLARED = web.AppKey("herald_declared_routes", dict)
"""(method, path) → its `Route`, for the routes `register` mounted."""


def register(app: web.Application, routes: Sequence[Route]) -> None:
    """Mount every route on `app`'s router, each once, and keep its declaration.

    Raises:
        ValueError: when two declarations share a method and path, an admin route does not
            say what it hides (a `resource` and a path parameter), or a scope is declared on a
            route that is not a bearer route or whose path does not name the scoped resource.
    """
    declared: dict[tuple[str, str], Route] = {}
    for route in routes:
        key = (route.method, route.path)
        if key in declared:
            raise ValueError(f"{route.method} {route.path} is declared twice")
        if route.auth is Auth.ADMIN and not (route.resource and path_params(route.path)):
            raise ValueError(f"{route.method} {route.path}: an admin route hides a resource")
        if route.scope is not None and (
            route.auth is not Auth.BEARER or route.scope.param not in path_params(route.path)
        ):
            raise ValueError(
                f"{route.method} {route.path}: a {route.scope} scope is a bearer route's,"
                f" on a path with {{{route.scope.param}}}"
            )
        if route.query_token and route.auth is not Auth.BEARER:
            raise ValueError(f"{route.method} {route.path}: a query token opens bearer routes")
        declared[key] = route
        if route.method == "GET":
            app.router.add_get(route.path, route.handler)  # and HEAD, its twin
        else:
            app.router.add_route(route.method, route.path, route.handler)
    app[DECLARED] = declared


def declaration_of(request: web.Request) -> Route | None:
    """The declaration of the route `request` matched; None for a path no route matched."""
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    found: Route | None = request.app.get(DECLARED, {}).get((method, resource.canonical))
    return found
