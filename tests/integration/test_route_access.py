"""Every route that is not public refuses a caller without a token (401 problem), on the real
API over HTTP; every public route lets one in; an admin route tells any other token that what
it names does not exist (404). Read from the declarations (`herald_api.routes`),
so a route added later is covered the day it is declared."""

from __future__ import annotations

import re
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_api.http.declare import Auth, Route
from herald_api.routes import ROUTES

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
