"""POST /v1/apps/{app}/notifiers/{id}/test through the real path: API → notify.deliveries.webhook
→ the session's webhook sender → a local receiver → notify.delivery-results → the API's answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from herald_api.app import ApiService
from herald_testing.api_client import ApiClient
from herald_testing.receivers import HttpReceiver

from support.api import ADMIN_TOKEN
from support.helpers import another_api, api_notifier, register_app
from support.pipeline import Herald

pytestmark = pytest.mark.integration


async def notifier_for(admin: ApiClient, app_id: str, platform: str, url: str) -> str:
    await register_app(admin, app_id, f"org-{app_id}")
    # The test ignores the selection.
    return await api_notifier(admin, app_id, url, events=("app_crashed",), platform=platform)


async def test_a_test_reaches_the_endpoint_and_answers_its_status_and_latency(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    notifier_id = await notifier_for(admin, app_id, "webhook", receiver.url(f"/{unique}"))

    status, body = await admin.call("POST", f"/v1/apps/{app_id}/notifiers/{notifier_id}/test")

    assert status == 200, body
    test = body["test"]
    assert (test["outcome"], test["status_code"], test["reason"]) == ("delivered", 200, None)
    assert (test["notifier_id"], test["channel"], test["event_type"]) == (
        notifier_id,
        "webhook",
        "app_deployed",
    )
    assert test["latency_ms"] >= 0
    [request] = receiver.on(f"/{unique}")
    assert request.headers["webhook-id"] == test["delivery_id"]
    assert "herald" in json.dumps(request.json())  # the sample event: pushed by "herald"

    # Another test is another event, so another delivery id; a legacy type name works too.
    status, again = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers/{notifier_id}/test",
        {"event_type": "deployment"},
    )
    assert status == 200, again
    assert again["test"]["event_type"] == "app_deployed"
    assert again["test"]["delivery_id"] != test["delivery_id"]
    assert len(receiver.on(f"/{unique}")) == 2


async def test_a_failing_endpoint_is_a_200_with_the_failure(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    receiver.statuses[f"/{unique}"] = 404
    notifier_id = await notifier_for(admin, app_id, "webhook", receiver.url(f"/{unique}"))

    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers/{notifier_id}/test",
        {"event_type": "app_crashed"},
    )

    assert status == 200, body
    test = body["test"]
    assert (test["outcome"], test["status_code"], test["event_type"]) == (
        "dead_lettered",
        404,
        "app_crashed",
    )
    assert test["reason"] == "client_error"
    assert "404" in test["detail"]
    assert len(receiver.on(f"/{unique}")) == 1  # one attempt: a test is never retried


async def test_what_cannot_be_tested(admin: ApiClient, receiver: HttpReceiver, unique: str) -> None:
    app_id = f"app-{unique}"
    notifier_id = await notifier_for(admin, app_id, "webhook", receiver.url(f"/{unique}"))
    path = f"/v1/apps/{app_id}/notifiers/{notifier_id}/test"

    status, body = await admin.call("POST", path, {"event_type": "no_such_type"})
    assert (status, list(body["errors"])) == (422, ["event_type"])
    status, body = await admin.call("POST", path, {"event": "app_deployed"})
    assert (status, list(body["errors"])) == (422, ["event"])
    status, body = await admin.call("POST", path, {"event_type": "app:budget:set"})  # audit-only
    assert (status, list(body["errors"])) == (422, ["event_type"]), body
    status, body = await admin.call("POST", path, raw=b"{not json")
    assert status == 400, body
    status, body = await admin.call("POST", f"/v1/apps/{app_id}/notifiers/no-nobody/test")
    assert (status, body["resource"]) == (404, "notifier")
    status, body = await admin.call("POST", f"/v1/apps/app-{unique}-none/notifiers/x/test")
    assert (status, body["resource"]) == (404, "app")
    assert receiver.requests == []


@pytest.fixture
async def impatient_api(
    api: Any,
) -> AsyncIterator[ApiService]:
    """A second API on the same database that waits one second for a test's result."""
    async with another_api(api, notifier_test_timeout_s=1.0) as service:
        yield service


async def test_no_result_in_time_is_a_504(
    admin: ApiClient, impatient_api: ApiService, http: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    # No Slack sender runs in the tests: nothing answers.
    notifier_id = await notifier_for(
        admin, app_id, "slack", "https://hooks.slack.com/services/T000/B000/XXXX"
    )

    status, body = await ApiClient(http, impatient_api.port, ADMIN_TOKEN).call(
        "POST", f"/v1/apps/{app_id}/notifiers/{notifier_id}/test"
    )

    assert status == 504, body
    assert "slack" in body["error"]
    assert impatient_api.results.waiting == 0
