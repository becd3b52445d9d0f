"""Interop: Clever Cloud's own JavaScript client manages organisation notifications on Herald
(issue 8, docs/faces.md "Clever Cloud").

`js_clevercloud/interop.mjs` drives the unmodified client, npm `@clevercloud/client` (Clever
Cloud-authored; version pinned exactly in `js_clevercloud/package.json`, locked in
`package-lock.json`), with API-token auth (`Authorization: Bearer <token>`) and its `baseUrl`
pointed at the session's in-process API: the notification info (events, meta-events, webhook
formats), the owner's default e-mail hook, a webhook with two URLs and an e-mail hook created,
listed and deleted, a bad token, another owner's hooks, an invalid hook. It prints one line per
step and exits non-zero on the first failure; the test shows that output when it fails.

Node and npm are required: without them the test FAILS (no skip). When `js_clevercloud/
node_modules` does not hold the pinned client, `npm ci` is run there once per session (the npm
registry is needed then; `make install` runs it beforehand). The client declares Node 22+ in
its `engines`; it runs on the Node 20 of our machines (npm only warns), and this test is the
proof.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from herald_testing.node_client import NPM_CI_TIMEOUT_S, RUN_TIMEOUT_S, NodeClient, stdout_lines

from support.api import ADMIN_TOKEN

pytestmark = pytest.mark.integration

PACKAGE = "@clevercloud/client"
CLIENT = NodeClient(
    Path(__file__).parent / "js_clevercloud", PACKAGE, "Clever Cloud's JavaScript client"
)
STEPS = (
    "client.new",
    "auth.rejects_bad_token",
    "info.get",
    "emailhooks.list_default",
    "webhooks.create",
    "webhooks.list",
    "emailhooks.create",
    "emailhooks.list",
    "foreign.list",
    "foreign.create",
    "webhooks.create_invalid",
    "webhooks.delete",
    "emailhooks.delete",
    "emailhooks.delete_gone",
)


async def owner_with_app(herald_admin: Any, label: str) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:10]
    owner_id, app_id = f"orga_{label}_{suffix}", f"app_{label}_{suffix}"
    status, answer = await herald_admin("PUT", f"/v1/owners/{owner_id}", {"owner": {}})
    assert status == 201, answer
    status, answer = await herald_admin(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": app_id, "owner_id": owner_id}}
    )
    assert status == 201, answer
    return owner_id, app_id


@pytest.mark.timeout(NPM_CI_TIMEOUT_S + RUN_TIMEOUT_S + 30)
@pytest.mark.parametrize("token_kind", ["owner", "admin"])
async def test_clever_clouds_js_client_manages_hooks(
    api: Any, herald_api_url: str, herald_admin: Any, token_kind: str
) -> None:
    from herald_api.http.auth import TokenScope, create_token

    owner_id, app_id = await owner_with_app(herald_admin, "cc")
    foreign_owner, _ = await owner_with_app(herald_admin, "cc-foreign")
    token = ADMIN_TOKEN
    if token_kind == "owner":
        async with api.pool.acquire() as connection:
            _, token = await create_token(connection, "cc interop", TokenScope.OWNER, owner_id)
    environment = {
        "HERALD_API_URL": herald_api_url,
        "HERALD_API_TOKEN": token,
        "HERALD_OWNER_ID": owner_id,
        "HERALD_APP_ID": app_id,
        "HERALD_FOREIGN_OWNER_ID": foreign_owner,
    }
    if token_kind == "admin":  # an admin sees every owner: make the foreign one unregistered
        environment["HERALD_FOREIGN_OWNER_ID"] = f"orga_unregistered_{uuid.uuid4().hex[:8]}"

    code, report = await CLIENT.run(env=environment)

    print(report)  # shown by pytest -rP, and on failure
    assert code == 0, report
    lines = stdout_lines(report)
    for step in STEPS:
        assert any(line.startswith(f"ok   {step}:") for line in lines), f"no {step}\n{report}"
    assert lines[-1].startswith(f"PASS {PACKAGE} "), report
    # What the client created and deleted is gone from Herald too.
    assert await herald_admin("GET", f"/v2/notifications/webhooks/{owner_id}") == (200, [])
    assert await herald_admin("GET", f"/v2/notifications/emailhooks/{owner_id}") == (200, [])
