"""Chat notifiers' host rules through the real API, with production's URL policy (no loopback).

Self-hosted services (Mattermost, Rocket.Chat) take any URL the URL policy allows; hosted ones
(Slack) only their service's hosts, and the 422 names the rule. Creation only: nothing is sent to
these addresses, and the URL policy checks a host name without resolving it at creation, so the
made-up names below need no DNS.

The strict API shares the session API's database and broker, without its outbox relay or
directory consumer (as in test_hostile_urls_api.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from herald_testing.api_client import ApiClient

from support.api import ADMIN_TOKEN
from support.helpers import another_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def strict_api(api: Any) -> AsyncIterator[Any]:
    """A second API with production's URL policy and no extra chat hosts."""
    async with another_api(api, allow_loopback_targets=False, chat_hosts={}) as service:
        yield service


@pytest.fixture
async def strict(strict_api: Any, http: Any, unique: str) -> tuple[ApiClient, str]:
    client = ApiClient(http, strict_api.port, ADMIN_TOKEN)
    app_id = f"app-chat-hosts-{unique}"
    status, body = await client.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "chat-hosts", "owner_id": "acme"}}
    )
    assert status == 201, body
    return client, app_id


async def create(
    client: ApiClient, app_id: str, platform_id: str, url: str
) -> tuple[int, dict[str, Any]]:
    """POST a notifier in Scalingo's shape."""
    body = {
        "notifier": {
            "name": f"team {platform_id}",
            "platform_id": platform_id,
            "send_all_alerts": True,
            "selected_event_ids": ["app_deployed", "app_crashed"],
            "type_data": {"webhook_url": url},
        }
    }
    status, answer = await client.call("POST", f"/v1/apps/{app_id}/notifiers", body)
    return status, answer


@pytest.mark.parametrize(
    ("platform_id", "url"),
    [
        ("mattermost", "https://chat.example.org/hooks/x"),
        ("rocket_chat", "https://rocket.example.net/hooks/6a4f/qkRB9pZ"),
        ("rocket_chat", "https://team.example.com:3000/hooks/abc"),
    ],
)
async def test_a_self_hosted_server_is_accepted(
    strict: tuple[ApiClient, str], platform_id: str, url: str
) -> None:
    client, app_id = strict
    status, body = await create(client, app_id, platform_id, url)
    assert status == 201, body
    assert (body["notifier"]["platform_id"], body["notifier"]["type_data"]["webhook_url"]) == (
        platform_id,
        url,
    )
    status, listed = await client.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert status == 200
    assert body["notifier"]["id"] in {n["id"] for n in listed["notifiers"]}


async def test_a_slack_notifier_on_another_host_is_refused_naming_the_rule(
    strict: tuple[ApiClient, str],
) -> None:
    client, app_id = strict
    status, problem = await create(client, app_id, "slack", "https://chat.example.org/hooks/x")
    assert status == 422, problem
    assert problem["type"].endswith("/validation-failed")
    assert problem["errors"] == {
        "type_data.webhook_url": [
            "must be a Slack webhook host (hooks.slack.com, hooks.slack-gov.com,"
            " *.cloud.mattermost.com): chat.example.org is not"
        ]
    }
    # the control: the same request with a Slack host is valid
    status, body = await create(
        client, app_id, "slack", "https://hooks.slack.com/services/T0/B0/XXXXXXXX"
    )
    assert status == 201, body


@pytest.mark.parametrize("platform_id", ["mattermost", "rocket_chat"])
async def test_a_self_hosted_service_still_gets_the_url_policy(
    strict: tuple[ApiClient, str], platform_id: str
) -> None:
    client, app_id = strict
    status, problem = await create(client, app_id, platform_id, "http://10.0.0.1/hooks/x")
    assert status == 422, problem
    assert list(problem["errors"]) == ["type_data.webhook_url"]
    [message] = problem["errors"]["type_data.webhook_url"]
    assert message.startswith("is not allowed: "), message
    assert "10.0.0.1" in message
    status, listed = await client.call("GET", f"/v1/apps/{app_id}/notifiers")
    assert [n["platform_id"] for n in listed["notifiers"]] == ["email"], "only the default"
