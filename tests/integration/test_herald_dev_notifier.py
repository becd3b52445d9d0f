"""`herald-dev notifier` is a client of the config API: the real command, as a subprocess, against
the session's API, then the notifier in the API, in Postgres, on the compacted topic (the router
sees it through the API's outbox), and an event for its app delivered through ingest → router →
sender to the receiver.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

import asyncpg
import pytest
from herald_core.deliveries import delivery_id
from herald_devstack.admin import sample_event
from herald_testing.api_client import ApiClient
from herald_testing.receivers import HttpReceiver

from support.api import ADMIN_TOKEN
from support.helpers import post_event, router_forgets, router_sees
from support.pipeline import Herald

pytestmark = pytest.mark.integration

CREATED = re.compile(r"notifier (\S+) created for app (\S+)")


async def herald_dev(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `python -m herald_devstack …` without blocking the loop the API serves on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "herald_devstack",
        *args,
        env={**os.environ, "COLUMNS": "250", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


def api_options(api: Any) -> list[str]:
    return ["--api-url", f"http://127.0.0.1:{api.port}", "--token", ADMIN_TOKEN]


async def test_notifier_add_goes_through_the_api_to_delivery(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    postgres_url: str,
    http: Any,
    unique: str,
) -> None:
    app_id, owner_id = f"dev-add-{unique}", f"acme-{unique}"
    path = f"/dev/{app_id}"
    code, out = await herald_dev(
        "notifier", "add", "--app", app_id, "--owner", owner_id, "--event", "app_deployed",
        "--event", "app_crashed", "--url", receiver.url(path), "--name", "CI hook",
        *api_options(api),
    )  # fmt: skip
    assert code == 0, out
    assert f"app {app_id} registered (owner {owner_id})" in out
    created = CREATED.search(out)
    assert created, out
    notifier_id = created[1]
    assert created[2] == app_id

    # the API has the app and the notifier, in Scalingo's shape
    status, app = await admin.call("GET", f"/v1/apps/{app_id}")
    assert (status, app["app"]["owner_id"]) == (200, owner_id)
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert status == 200
    [mine] = [n for n in listed["notifiers"] if n["id"] == notifier_id]
    assert (mine["name"], mine["platform_id"], mine["active"]) == ("CI hook", "webhook", True)
    assert mine["selected_event_ids"] == ["app_deployed", "app_crashed"]
    assert mine["send_all_events"] is False
    assert mine["type_data"]["webhook_url"] == receiver.url(path)

    # Postgres has it, so `herald-api rebuild-topics` would republish it
    connection = await asyncpg.connect(postgres_url)
    try:
        row = await connection.fetchrow(
            "SELECT scope, app_id, owner_id, document FROM notifiers WHERE id = $1", notifier_id
        )
    finally:
        await connection.close()
    assert row is not None
    assert (row["scope"], row["app_id"], row["owner_id"]) == ("app", app_id, owner_id)

    # the outbox published it to the compacted topic, where the router reads it
    await router_sees(herald, [notifier_id])
    event = sample_event(app_id, "app_deployed", owner_id=owner_id)
    await post_event(http, herald, event)
    [request] = await receiver.wait_for(path, timeout_s=30)
    assert request.headers["webhook-id"] == delivery_id(event["id"], notifier_id)
    assert request.json()["id"] == event["id"]

    # a second notifier on the same app: the app is not registered again
    code, out = await herald_dev(
        "notifier", "add", "--app", app_id, "--send-all", "--url", receiver.url(path + "/all"),
        *api_options(api),
    )  # fmt: skip
    assert code == 0, out
    assert "registered" not in out
    second = CREATED.search(out)
    assert second, out
    code, out = await herald_dev("notifier", "list", "--app", app_id, *api_options(api))
    assert code == 0, out
    assert notifier_id in out
    assert second[1] in out

    # remove goes through the API too: gone from the API and from the router's view
    code, out = await herald_dev(
        "notifier", "remove", notifier_id, "--app", app_id, *api_options(api)
    )
    assert code == 0, out
    status, _ = await admin.call("GET", f"/v1/apps/{app_id}/notifiers/{notifier_id}")
    assert status == 404
    await router_forgets(herald, [notifier_id])


async def test_notifier_add_shows_the_problems_the_api_answers(
    api: Any, admin: ApiClient, unique: str
) -> None:
    app_id = f"dev-bad-{unique}"
    code, out = await herald_dev(
        "notifier", "add", "--app", app_id, "--event", "app_deploy", "--platform", "slack",
        "--url", "https://chat.example.org/hooks/x", *api_options(api),
    )  # fmt: skip
    assert code == 1, out
    assert "the API answered 422" in out
    assert "selected_event_ids: unknown event type 'app_deploy'" in out
    assert "type_data.webhook_url: must be a Slack webhook host (" in out
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert status == 200
    assert [n["platform_id"] for n in listed["notifiers"]] == ["email"], "only the app's default"


async def test_notifier_add_says_when_the_api_is_not_running(unique: str) -> None:
    from herald_devstack.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    code, out = await herald_dev(
        "notifier", "add", "--app", f"dev-{unique}", "--event", "app_deployed", "--api-url", url
    )
    assert code == 1, out
    assert f"the config API does not answer at {url}" in out
    assert "make up" in out


async def test_notifier_add_with_a_token_the_api_refuses(api: Any, unique: str) -> None:
    code, out = await herald_dev(
        "notifier", "add", "--app", f"dev-{unique}", "--event", "app_deployed",
        "--api-url", f"http://127.0.0.1:{api.port}", "--token", "hrld_not-a-token",
    )  # fmt: skip
    assert code == 1, out
    assert "the API answered 401" in out
