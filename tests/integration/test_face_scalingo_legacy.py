"""Scalingo's legacy notifications API (seed 002) through the real path: the face's own call →
Postgres → outbox → notify.config.notifiers → router → webhook sender → a local receiver.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_api.app import ApiService
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel
from herald_sender.app import SenderService
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver

from support.api import ADMIN_TOKEN
from support.helpers import (
    another_api,
    post_event,
    router_forgets,
    router_sees,
    running_sender,
    sender_settings,
)
from support.pipeline import Herald

pytestmark = pytest.mark.integration

SLACK = "https://hooks.slack.com/services/TXXXXX/BXXXXX/XXXXXXXXXX"


def event(app_id: str, event_type: str, type_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "deployer",
        "app_id": app_id,
        "app_name": "appname",
        "owner_id": f"org-{app_id}",
        "user": {"id": "51e6bc626edfe40bbb000001", "username": "johndoe", "email": "john@doe.com"},
        "type_data": type_data,
    }


DEPLOYED = {
    "deployment_id": "5343eccd646aa3012a140230",
    "pusher": "johndoe",
    "git_ref": "0123456789abcdef",
    "status": "success",
    "duration": 40,
}


async def test_a_webhook_notification_gets_deployments_in_seed_002s_json_and_nothing_else(
    admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"legacy-{unique}"
    status, _ = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "appname", "owner_id": f"org-{app_id}"}}
    )
    assert status == 201
    url = receiver.url(f"/{unique}/first")

    status, body = await admin.call(
        "POST", f"/v1/apps/{app_id}/notifications", {"notification": {"webhook_url": url}}
    )

    assert status == 201, body
    notification = body["notification"]
    assert notification == {
        "id": notification["id"],
        "app_id": app_id,
        "type": "webhook",
        "webhook_url": url,
        "active": True,
    }
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifications")
    assert (status, listed) == (200, {"notifications": [notification]})
    # A notifier underneath, in the notifiers API too.
    status, notifiers = await admin.call("GET", f"/v1/apps/{app_id}/notifiers")
    [notifier] = [n for n in notifiers["notifiers"] if n["id"] == notification["id"]]
    assert notifier["selected_event_ids"] == ["app_deployed"]
    assert notifier["type_data"]["format"] == "scalingo"
    assert notifier["type_data"]["face"] == "scalingo_legacy"

    await router_sees(herald, [notification["id"]])
    crash = event(app_id, "app_crashed", {"crash_count": 2})
    deployment = event(app_id, "app_deployed", DEPLOYED)
    # The same app, the same partition: the crash is routed before the deployment.
    await post_event(admin.http, herald, crash)
    await post_event(admin.http, herald, deployment)

    [request] = await receiver.wait_for(f"/{unique}/first")
    sent = request.json()
    assert sent == {
        "id": deployment["id"],
        "created_at": sent["created_at"],
        "user": deployment["user"],
        "app_id": app_id,
        "app_name": "appname",
        "type": "deployment",
        "type_data": DEPLOYED,
    }
    # Milliseconds, as in the seed: "2015-02-12T18:05:14.226+01:00".
    sent_at = datetime.fromisoformat(sent["created_at"])
    assert abs(sent_at - datetime.fromisoformat(deployment["created_at"])) < timedelta(
        milliseconds=1
    )
    assert len(receiver.on(f"/{unique}/first")) == 1  # the crash never came

    # One enabled notification per type: a second one is refused, a disabled one is fine.
    second_url = receiver.url(f"/{unique}/second")
    status, refused = await admin.call(
        "POST", f"/v1/apps/{app_id}/notifications", {"notification": {"webhook_url": second_url}}
    )
    assert status == 422, refused
    assert list(refused["errors"]) == ["type"]
    assert "already enabled" in refused["errors"]["type"][0]
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifications",
        {"notification": {"webhook_url": second_url, "active": False}},
    )
    assert status == 201, body
    second = body["notification"]
    status, refused = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifications/{second['id']}",
        {"notification": {"active": "true"}},
    )
    assert (status, list(refused["errors"])) == (422, ["type"])

    # DELETE stops the delivery; then the second one may be enabled, and it gets the next one.
    status, _ = await admin.call("DELETE", f"/v1/apps/{app_id}/notifications/{notification['id']}")
    assert status == 204
    status, body = await admin.call(
        "PATCH",
        f"/v1/apps/{app_id}/notifications/{second['id']}",
        {"notification": {"active": True}},
    )
    assert (status, body["notification"]["active"]) == (200, True), body
    await router_forgets(herald, [notification["id"]])
    await eventually(
        lambda: (
            herald.router.notifiers.get(second["id"]) is not None
            and herald.router.notifiers[second["id"]].active
        ),
        what="the router sees the second notification enabled",
    )
    again = event(app_id, "app_deployed", DEPLOYED)
    await post_event(admin.http, herald, again)
    [request] = await receiver.wait_for(f"/{unique}/second")
    assert request.json()["id"] == again["id"]
    # The router had forgotten the first notification before `again` was posted: nothing of
    # `again` can be on its way there.
    assert len(receiver.on(f"/{unique}/first")) == 1
    status, listed = await admin.call("GET", f"/v1/apps/{app_id}/notifications")
    assert [n["id"] for n in listed["notifications"]] == [second["id"]]


async def test_slack_notifications_take_slack_urls_only(admin: ApiClient, unique: str) -> None:
    app_id = f"legacy-slack-{unique}"
    await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "appname", "owner_id": f"org-{app_id}"}}
    )
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifications",
        {"notification": {"webhook_url": SLACK, "active": False}},
    )
    assert status == 201, body
    slack = body["notification"]
    assert (slack["type"], slack["active"]) == ("slack", False)
    path = f"/v1/apps/{app_id}/notifications/{slack['id']}"

    status, refused = await admin.call(
        "PATCH", path, {"notification": {"webhook_url": "https://myendpoint.com", "active": True}}
    )

    assert status == 422, refused
    assert list(refused["errors"]) == ["webhook_url"]
    assert "slack" in refused["errors"]["webhook_url"][0]
    status, body = await admin.call("PATCH", path, {"notification": {"active": True}})
    assert (status, body["notification"]["webhook_url"]) == (200, SLACK)
    # A slack one and a webhook one may both be enabled: one per type.
    status, _ = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifications",
        {"notification": {"webhook_url": "https://myendpoint.example.com/h"}},
    )
    assert status == 201
    status, body = await admin.call("PATCH", path, {"notification": {"webhook_url": ""}})
    assert (status, list(body["errors"])) == (422, ["webhook_url"])
    status, body = await admin.call("DELETE", f"/v1/apps/{app_id}/notifications/no-nothing")
    assert (status, body["resource"]) == (404, "notification")
    status, body = await admin.call("GET", f"/v1/apps/{app_id}-none/notifications")
    assert (status, body["resource"]) == (404, "app")


@pytest.fixture
async def slack_here_api(
    api: Any,
) -> AsyncIterator[ApiService]:
    """A second API on the same database, for which a loopback host is a Slack host (the
    session's `api` relays the outbox)."""
    async with another_api(api, chat_hosts={"slack": ["127.0.0.1"]}) as service:
        yield service


@pytest.fixture
async def slack_sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    settings = sender_settings(
        kafka_settings,
        Channel.SLACK,
        request_timeout_s=3,
        group_id=f"test-legacy-slack-{uuid.uuid4().hex[:8]}",
    )
    async with running_sender(settings) as service:
        yield service


async def test_a_slack_notification_posts_deployments_as_slack_messages(
    slack_here_api: ApiService,
    slack_sender: SenderService,
    http: Any,
    herald: Herald,
    receiver: HttpReceiver,
    unique: str,
) -> None:
    admin = ApiClient(http, slack_here_api.port, ADMIN_TOKEN)
    app_id = f"legacy-slack-msg-{unique}"
    await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "appname", "owner_id": f"org-{app_id}"}}
    )
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifications",
        {"notification": {"webhook_url": receiver.url(f"/{unique}/slack")}},
    )
    assert status == 201, body
    assert body["notification"]["type"] == "slack"
    await router_sees(herald, [body["notification"]["id"]])

    await post_event(admin.http, herald, event(app_id, "app_crashed", {"crash_count": 2}))
    await post_event(admin.http, herald, event(app_id, "app_deployed", DEPLOYED))

    [request] = await receiver.wait_for(f"/{unique}/slack", timeout_s=40)
    message = request.json()
    assert "type_data" not in message, "a Slack message, not seed 002's JSON"
    assert "appname" in json.dumps(message)
    assert len(receiver.on(f"/{unique}/slack")) == 1
