"""Fixtures of the interop tests: Scalingo's own clients against Herald's config API.

The session's real Kafka and Postgres come from `herald_testing.fixtures` and the in-process API
from `support.api` (both registered in tests/conftest.py, shared with tests/integration). On top
of them:

- `herald_api_url`: the API's base URL on loopback, without `/v1` (it also serves the exchange).
- `herald_admin`: one request to the API with the admin token.
- `register_app`: registers a fresh app (admin token) and returns it with an app-scoped token.
- `herald_app`, `herald_app_id`, `herald_api_token`: one such app per test, and its token.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from support.api import ADMIN_TOKEN


@dataclass(frozen=True)
class HeraldApp:
    """An app registered in Herald, and a plaintext API token scoped to it."""

    app_id: str
    owner_id: str
    token: str


RegisterApp = Callable[..., Awaitable[HeraldApp]]


@pytest.fixture(scope="session")
def herald_api_url(api: Any) -> str:
    return f"http://{api.settings.http.host}:{api.port}"


AdminCall = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def herald_admin(herald_api_url: str) -> AdminCall:
    """`await herald_admin("GET", "/v1/...", body)` → (status, parsed JSON or None), as admin."""

    async def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, herald_api_url + path, json=body, headers=headers) as answer,
        ):
            text = await answer.text()
            return answer.status, (json.loads(text) if text else None)

    return call


@pytest.fixture
def register_app(api: Any, herald_admin: AdminCall) -> RegisterApp:
    """`await register_app("label")` → a freshly registered app and an app-scoped token."""
    from herald_api.http.auth import TokenScope, create_token

    async def register(label: str = "interop") -> HeraldApp:
        suffix = uuid.uuid4().hex[:10]
        app_id, owner_id = f"app-{label}-{suffix}", f"owner-{label}-{suffix}"
        app = {"name": f"herald-{label}-{suffix}", "owner_id": owner_id}
        status, answer = await herald_admin("PUT", f"/v1/apps/{app_id}", {"app": app})
        assert status == 201, f"PUT /v1/apps/{app_id} answered {status}: {answer}"
        async with api.pool.acquire() as connection:
            _, token = await create_token(connection, f"{label} app token", TokenScope.APP, app_id)
        return HeraldApp(app_id, owner_id, token)

    return register


@pytest.fixture
async def herald_app(register_app: RegisterApp) -> HeraldApp:
    return await register_app()


@pytest.fixture
def herald_app_id(herald_app: HeraldApp) -> str:
    return herald_app.app_id


@pytest.fixture
def herald_api_token(herald_app: HeraldApp) -> str:
    return herald_app.token
