"""Every route that is not public refuses a caller without a token (401 problem), on the real
API over HTTP; every public route lets one in; an admin route tells any other token that what
it names does not exist (404); a route scoped to its path's app, owner or user tells every
token outside that scope the same (404 naming it), lets the tokens in scope through, and says
the same of an unknown one. Read from the declarations (`herald_api.routes`), so a route added
later is covered the day it is declared."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_api.http.declare import Auth, PathScope, Route
from herald_api.http.reference_page import example_of
from herald_api.routes import ROUTES
from herald_runtime.problems import PROBLEM_BASE
from herald_testing.api_client import ApiClient

from support.api import ADMIN_TOKEN
from support.helpers import register_app

pytestmark = pytest.mark.integration

SAMPLE = {"app": "app-none", "owner": "org-none", "user": "us-none", "id": "no-none"}
SAMPLE["provider"] = "slack"
SAMPLE["token"] = "v1.bm8tMQ.c2ln"


def concrete(route: Route) -> str:
    return re.sub(r"{(\w+)}", lambda m: SAMPLE[m.group(1)], route.path)


def label(route: Route) -> str:
    return f"{route.method} {route.path}"


CLOSED = [r for r in ROUTES if r.auth is not Auth.PUBLIC]
OPEN = [r for r in ROUTES if r.auth is Auth.PUBLIC]


async def test_every_closed_route_refuses_a_caller_without_a_token(api: Any, http: Any) -> None:
    assert len(CLOSED) > 40
    refused: dict[str, int] = {}
    for route in CLOSED:
        url = f"http://127.0.0.1:{api.port}{concrete(route)}"
        async with http.request(route.method, url, json={}) as response:
            body = await response.json() if response.status == 401 else {}
            if response.status != 401 or body.get("type", "").split("/")[-1] != "unauthorized":
                refused[label(route)] = response.status
    assert refused == {}, "answered something else than a 401 problem"


async def test_a_wrong_token_is_refused_like_none(api: Any, http: Any) -> None:
    for route in CLOSED[:5]:
        url = f"http://127.0.0.1:{api.port}{concrete(route)}"
        headers = {"Authorization": "Bearer hrld_not-a-token"}
        async with http.request(route.method, url, json={}, headers=headers) as response:
            assert response.status == 401, label(route)


async def test_every_public_route_lets_a_caller_without_a_token_in(api: Any, http: Any) -> None:
    for route in OPEN:
        url = f"http://127.0.0.1:{api.port}{concrete(route)}"
        data = {"data": "List-Unsubscribe=One-Click"} if "unsubscribe" in route.path else {}
        async with http.request(route.method, url, **data) as response:
            assert response.status != 401, label(route)


async def test_an_admin_route_is_hidden_from_other_tokens(api: Any, http: Any, unique: str) -> None:
    owner_id = f"org-{unique}"
    async with api.pool.acquire() as connection:
        _, token = await create_token(connection, "owner", TokenScope.OWNER, owner_id)
    headers = {"Authorization": f"Bearer {token}"}
    for route in (r for r in ROUTES if r.auth is Auth.ADMIN):
        url = f"http://127.0.0.1:{api.port}{concrete(route)}"
        body = {"user": {"name": "x"}} if "users" in route.path else {"reason": "server_error"}
        async with http.request(route.method, url, json=body, headers=headers) as response:
            assert response.status == 404, label(route)
            assert (await response.json())["resource"] == route.resource, label(route)


# --- scoped routes: the 404 for every token outside the scope, over HTTP on real Postgres ---

SCOPED = [r for r in ROUTES if r.scope is not None]


@dataclass
class Tenant:
    """A registered user, owner (the user a member) and app (of the owner)."""

    user: str
    owner: str
    app: str

    def path(self, route: Route, **names: str) -> str:
        known = {**SAMPLE, "app": self.app, "owner": self.owner, "user": self.user, **names}
        return re.sub(r"{(\w+)}", lambda m: known[m.group(1)], route.path)


async def tenant(admin: ApiClient, name: str) -> Tenant:
    found = Tenant(f"us-{name}", f"org-{name}", f"app-{name}")
    user = {"user": {"email": f"{name}@example.com", "name": name}}
    assert (await admin.call("PUT", f"/v1/users/{found.user}", user))[0] == 201
    owner = {"owner": {"members": [{"user_id": found.user}]}}
    assert (await admin.call("PUT", f"/v1/owners/{found.owner}", owner))[0] == 201
    await register_app(admin, found.app, found.owner)
    return found


async def token(api: Any, http: Any, port: int, scope: TokenScope, scope_id: str) -> ApiClient:
    async with api.pool.acquire() as connection:
        _, secret = await create_token(connection, f"{scope} {scope_id}", scope, scope_id)
    return ApiClient(http, port, secret)


def not_found(scope: PathScope, name: str) -> dict[str, Any]:
    """The 404 problem a scoped route answers, whole."""
    detail = f"{scope.resource} {name} not found"
    return {
        "type": f"{PROBLEM_BASE}not-found",
        "title": "Not Found",
        "status": 404,
        "detail": detail,
        "error": detail,
        "resource": scope.resource,
    }


def example_body(document: Any, route: Route) -> Any:
    """The documented example of the route's body: one its handler's own input checks (run
    before it reads its scope) accept."""
    operation = document["paths"][route.path][route.method.lower()]
    body = operation.get("requestBody")
    if body is None:
        return None
    return example_of(
        body["content"]["application/json"]["schema"], document["components"]["schemas"]
    )


@pytest.fixture
def served(request: pytest.FixtureRequest, api: Any) -> Any:
    """The session's API; for Convox's authorize, which checks its provider's OAuth client
    before the owner, an API with one (`convox_api`, on the same database)."""
    route: Route = request.node.callspec.params["route"]
    return request.getfixturevalue("convox_api") if route.path.endswith("/authorize") else api


@pytest.mark.parametrize("route", SCOPED, ids=label)
async def test_a_scoped_route_is_hidden_from_every_token_outside_its_scope(
    route: Route, api: Any, served: Any, admin: ApiClient, http: Any, unique: str
) -> None:
    port = served.port
    ours, theirs = await tenant(admin, f"a-{unique}"), await tenant(admin, f"b-{unique}")
    scope = route.scope
    assert scope is not None
    name = {"app": ours.app, "owner": ours.owner, "user": ours.user}[scope.param]
    async with http.get(f"http://127.0.0.1:{port}/openapi.json") as response:
        body = example_body(await response.json(), route)

    outsiders = {
        "another owner's token": await token(api, http, port, TokenScope.OWNER, theirs.owner),
        "another app's token": await token(api, http, port, TokenScope.APP, theirs.app),
    }
    if scope is not PathScope.APP:  # an app token never sees an owner or a user, even its own
        outsiders["its app's token"] = await token(api, http, port, TokenScope.APP, ours.app)
    for who, client in outsiders.items():
        status, problem = await client.call(route.method, ours.path(route), body)
        assert (status, problem) == (404, not_found(scope, name)), who

    if scope is not PathScope.OWNER_ID:  # unknown: the same answer, to any token
        unknown = f"gone-{unique}"
        client = ApiClient(http, port, ADMIN_TOKEN)
        status, problem = await client.call(
            route.method, ours.path(route, **{scope.param: unknown}), body
        )
        assert (status, problem) == (404, not_found(scope, unknown)), "unknown"

    insiders = {
        PathScope.APP: (TokenScope.APP, ours.app),
        PathScope.OWNER: (TokenScope.OWNER, ours.owner),
        PathScope.OWNER_ID: (TokenScope.OWNER, ours.owner),
        PathScope.USER: (TokenScope.OWNER, ours.user),  # the owner token of the user's account
    }
    for client in (
        await token(api, http, port, *insiders[scope]),
        ApiClient(http, port, ADMIN_TOKEN),
    ):
        status, answer = await client.call(route.method, ours.path(route), body)
        assert status != 401
        assert not (status == 404 and answer.get("resource") == scope.resource), answer
        if route.method == "DELETE" and status == 204:
            break  # gone now, for the admin too
