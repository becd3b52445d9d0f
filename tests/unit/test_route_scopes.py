"""The scope a route declares (`PathScope`), resolved once by the access middleware
(`herald_api.http.scope`): the resource the token may see is kept for the handler, anyone else
is told it does not exist (404) where the handler reads it, after the handler's own input
checks; a handler that never reads a refused scope still answers the 404. Without a database:
the stores are stand-ins (the real HTTP path is tests/integration/test_route_access.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from herald_api.http import access
from herald_api.http import scope as scopes
from herald_api.http.auth import Principal, TokenScope
from herald_api.http.context import CONTEXT, ApiContext
from herald_api.http.declare import PathScope, Route
from herald_api.http.scope import (
    SCOPED,
    Resolution,
    User,
    resolve,
    scoped_app,
    scoped_owner,
    scoped_owner_id,
    scoped_user,
)
from herald_api.http.web import ApiProblem, invalid
from herald_api.settings import ApiSettings
from herald_core.directory import AppEntry

ADMIN = Principal("t-admin", "admin", TokenScope.ADMIN)
OWNER_1 = Principal("t-org-1", "org 1", TokenScope.OWNER, "org-1")
APP_1 = Principal("t-app-1", "app 1", TokenScope.APP, "app-1")
APPS = {"app-1": AppEntry(id="app-1", name="one", owner_id="org-1")}


class Pool:
    """Hands out a connection nobody uses: the stores are replaced (`stores`)."""

    def __init__(self) -> None:
        self.acquired = 0

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[object]:
        self.acquired += 1
        yield object()


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> None:
    async def load_app(connection: object, app_id: str) -> AppEntry | None:
        return APPS.get(app_id)

    async def load_user(connection: object, user_id: str) -> dict[str, Any] | None:
        return {"id": user_id, "email": "ada@example.com"} if user_id == "org-1" else None

    monkeypatch.setattr(scopes.store, "load_app", load_app)
    monkeypatch.setattr(scopes.store, "load_user", load_user)


SETTINGS = ApiSettings()  # read from the environment once, not per request


def request_for(path: str, **match_info: str) -> tuple[web.Request, Pool]:
    pool = Pool()
    app = web.Application()
    app[CONTEXT] = ApiContext(SETTINGS, pool=cast(Any, pool))
    return make_mocked_request("GET", path, match_info=match_info, app=app), pool


def problem_of(resolution: Resolution) -> tuple[int, str, str | None]:
    assert resolution.found is None
    assert resolution.refusal is not None
    return resolution.refusal.status, resolution.refusal.detail, resolution.refusal.resource


async def test_an_app_the_token_may_see_is_kept_and_any_other_is_not_found(stores: None) -> None:
    for caller in (ADMIN, OWNER_1, APP_1):
        request, _ = request_for("/v1/apps/app-1", app="app-1")
        assert (await resolve(request, PathScope.APP, caller)).found == APPS["app-1"]
    other = Principal("t-org-2", "org 2", TokenScope.OWNER, "org-2")
    for caller, app_id in ((other, "app-1"), (APP_1, "app-2"), (ADMIN, "app-2")):
        request, _ = request_for(f"/v1/apps/{app_id}", app=app_id)
        resolution = await resolve(request, PathScope.APP, caller)
        assert problem_of(resolution) == (404, f"app {app_id} not found", "app")


async def test_owner_and_user_scopes_are_judged_on_the_id_before_any_query(stores: None) -> None:
    for scope, name, resource in (
        (PathScope.OWNER, "org-2", "owner"),
        (PathScope.OWNER_ID, "org-2", "owner"),
        (PathScope.USER, "org-2", "user"),
        (PathScope.OWNER_ID, "org-1", "owner"),  # an app token never sees an owner
    ):
        request, pool = request_for("/", **{scope.param: name})
        caller = APP_1 if name == "org-1" else OWNER_1
        resolution = await resolve(request, scope, caller)
        assert problem_of(resolution) == (404, f"{resource} {name} not found", resource)
        assert pool.acquired == 0


async def test_text_postgres_cannot_store_is_not_found_without_a_query(stores: None) -> None:
    for scope in PathScope:
        request, pool = request_for("/", **{scope.param: "a\x00b"})
        resolution = await resolve(request, scope, ADMIN)
        assert problem_of(resolution) == (404, f"{scope.resource} a\x00b not found", scope.resource)
        assert pool.acquired == 0


async def test_a_user_scope_keeps_the_registered_user(stores: None) -> None:
    request, _ = request_for("/", user="org-1")
    assert (await resolve(request, PathScope.USER, OWNER_1)).found == User(
        "org-1", "ada@example.com"
    )
    request, _ = request_for("/", user="org-9")
    assert problem_of(await resolve(request, PathScope.USER, ADMIN))[1] == "user org-9 not found"
    request, _ = request_for("/", owner="org-9")
    assert (await resolve(request, PathScope.OWNER_ID, ADMIN)).found == "org-9"  # unregistered


def test_the_handler_reads_its_scope_or_gets_the_404() -> None:
    request, _ = request_for("/")
    request[SCOPED] = Resolution(PathScope.APP, APPS["app-1"])
    assert scoped_app(request) == APPS["app-1"]
    with pytest.raises(RuntimeError, match="not declared owner-scoped"):
        scoped_owner(request)
    refused = Resolution(PathScope.OWNER_ID, refusal=ApiProblem(404, "owner org-2 not found"))
    request[SCOPED] = refused
    with pytest.raises(ApiProblem) as raised:
        scoped_owner_id(request)
    assert raised.value is refused.refusal
    unscoped, _ = request_for("/")
    with pytest.raises(RuntimeError, match="not declared user-scoped"):
        scoped_user(unscoped)


# --- the middleware: resolved before the handler, refused where the handler reads it ----------


async def unused(request: web.Request) -> web.Response:
    raise AssertionError("the middleware calls the handler it is given")


ROUTE = Route(
    "PUT", "/v1/owners/{owner}", "Put", "owners", {}, scope=PathScope.OWNER_ID, handler=unused
)


async def through_middleware(
    monkeypatch: pytest.MonkeyPatch, caller: Principal, handler: Any
) -> web.StreamResponse:
    async def authenticate(request: web.Request, header: str | None) -> Principal:
        return caller

    monkeypatch.setattr(access, "declaration_of", lambda request: ROUTE)
    monkeypatch.setattr(access, "authenticate", authenticate)
    request, _ = request_for("/v1/owners/org-1", owner="org-1")
    response: web.StreamResponse = await access.access_middleware(request, handler)
    return response


async def test_a_caller_in_scope_gets_the_handler_with_its_resource(monkeypatch) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=scoped_owner_id(request))

    response = await through_middleware(monkeypatch, OWNER_1, handler)
    assert cast(web.Response, response).text == "org-1"


async def test_input_checked_before_the_scope_is_answered_first(monkeypatch) -> None:
    other = Principal("t-org-2", "org 2", TokenScope.OWNER, "org-2")

    async def checks_input_first(request: web.Request) -> web.Response:
        raise invalid({"owner": ["bad"]})

    with pytest.raises(ApiProblem) as raised:
        await through_middleware(monkeypatch, other, checks_input_first)
    assert raised.value.status == 422

    async def reads_its_scope(request: web.Request) -> web.Response:
        scoped_owner_id(request)
        raise AssertionError("a refused scope is never handed over")

    with pytest.raises(ApiProblem) as raised:
        await through_middleware(monkeypatch, other, reads_its_scope)
    assert (raised.value.status, raised.value.detail) == (404, "owner org-1 not found")


async def test_a_handler_that_forgets_its_scope_still_answers_the_404(monkeypatch) -> None:
    other = Principal("t-org-2", "org 2", TokenScope.OWNER, "org-2")

    async def forgetful(request: web.Request) -> web.Response:
        return web.Response(text="org-1's secrets")

    with pytest.raises(ApiProblem) as raised:
        await through_middleware(monkeypatch, other, forgetful)
    assert (raised.value.status, raised.value.resource) == (404, "owner")
