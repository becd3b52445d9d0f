"""The path's app, owner or user a route is scoped to (`declare.PathScope`), resolved once.

For a scoped route, `access_middleware` calls `resolve` as soon as the caller is known: it loads
the path's resource (`directory_store`) and judges whether the token may see it
(`auth.Principal.may_see_app`, `may_see_owner`), and keeps the outcome on the request. Unknown
and outside the token's scope are one answer: a 404 naming the resource ("app app-1 not
found"), never a 403, so that no token can probe for another tenant's ids.

The handler reads the outcome where it needs the resource, with `scoped_app`, `scoped_owner`,
`scoped_owner_id` or `scoped_user`; for a refused caller that read raises the 404. A handler
checks its own input (body, query, the ids a PUT creates) before reading its scope, so that a
request both malformed and out of scope is answered as it always was: the input's 400 or 422
first where the handler checks its input first. A handler that answers without reading a refused
scope is a bug: the middleware answers the 404 in its place (`refusal`).

What is kept is a snapshot read before the handler's transaction. A handler that needs the row
to hold still reads it again, locked, inside its transaction: the alerts and the legacy
notifications lock the app's row, Cloud 66's PATCH the user's.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from herald_core.directory import AppEntry, OwnerEntry

from herald_api.http.auth import Principal
from herald_api.http.context import context
from herald_api.http.declare import PathScope
from herald_api.http.web import ApiProblem, not_found, storable
from herald_api.store import directory_store as store


@dataclass(frozen=True)
class User:
    """A registered user, as the routes scoped to a user's account need them."""

    id: str
    email: str | None


Found = AppEntry | OwnerEntry | User | str


@dataclass(frozen=True)
class Resolution:
    """A scoped route's resource (`found`), or the 404 its caller gets (`refusal`)."""

    scope: PathScope
    found: Found | None = None
    refusal: ApiProblem | None = None


SCOPED = web.RequestKey("herald_scoped", Resolution)


async def resolve(request: web.Request, scope: PathScope, caller: Principal) -> Resolution:
    """The path's resource for `scope` if `caller` may see it, else its 404 (kept, not raised).

    Text Postgres cannot store names nothing (no query); the visibility of an owner or a user
    is judged on the id alone, before any query.
    """
    name = request.match_info[scope.param]
    found = await _visible(request, scope, caller, name) if storable(name) else None
    if found is None:
        return Resolution(scope, refusal=not_found(f"{scope.resource} {name}"))
    return Resolution(scope, found)


async def _visible(
    request: web.Request, scope: PathScope, caller: Principal, name: str
) -> Found | None:
    if scope is not PathScope.APP and not caller.may_see_owner(name):
        return None
    if scope is PathScope.OWNER_ID:
        return name
    async with context(request).pool.acquire() as connection:
        if scope is PathScope.APP:
            app = await store.load_app(connection, name)
            return app if app is not None and caller.may_see_app(app.id, app.owner_id) else None
        if scope is PathScope.OWNER:
            return await store.load_owner(connection, name)
        row = await store.load_user(connection, name)
        return User(row["id"], row["email"]) if row is not None else None


def refusal(request: web.Request) -> ApiProblem | None:
    """The 404 the request's caller gets for its scope; None when in scope or unscoped."""
    resolution: Resolution | None = request.get(SCOPED)
    return resolution.refusal if resolution is not None else None


def _read(request: web.Request, scope: PathScope) -> Found:
    resolution: Resolution | None = request.get(SCOPED)
    if resolution is None or resolution.scope is not scope:
        raise RuntimeError(f"{request.method} {request.path} is not declared {scope}-scoped")
    if resolution.refusal is not None:
        raise resolution.refusal
    assert resolution.found is not None
    return resolution.found


def scoped_app(request: web.Request) -> AppEntry:
    """The path's app (`PathScope.APP`). Raises ApiProblem 404 for a caller who may not see
    it, or an unknown app."""
    found = _read(request, PathScope.APP)
    assert isinstance(found, AppEntry)
    return found


def scoped_owner(request: web.Request) -> OwnerEntry:
    """The path's registered owner (`PathScope.OWNER`). Raises ApiProblem 404 for a caller who
    may not see it, or an owner not registered."""
    found = _read(request, PathScope.OWNER)
    assert isinstance(found, OwnerEntry)
    return found


def scoped_owner_id(request: web.Request) -> str:
    """The path's owner id, registered or not (`PathScope.OWNER_ID`). Raises ApiProblem 404 for
    a caller who may not see it."""
    found = _read(request, PathScope.OWNER_ID)
    assert isinstance(found, str)
    return found


def scoped_user(request: web.Request) -> User:
    """The path's registered user (`PathScope.USER`). Raises ApiProblem 404 for a caller who
    may not see the user's account, or an unknown user."""
    found = _read(request, PathScope.USER)
    assert isinstance(found, User)
    return found
