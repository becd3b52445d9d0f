"""Every chat service through the real path (issue 7).

    event → ingest (HTTP) → router → notify.deliveries.<service> → the service's sender
          → a local receiver playing the service's webhook, with its rate-limit answers

One sender per service runs in-process with a unique consumer group and retry delays scaled
down; the rate-limited attempt goes through the retry tier and arrives again no sooner than the
service asked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel
from herald_sender.app import SenderService
from herald_sender.settings import ChatSettings
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Reply
from herald_testing.slack_standin import SlackStandIn

from support.helpers import deployed, post_event, sender_settings, sentinel
from support.pipeline import Herald

pytestmark = pytest.mark.integration

DELAYS = (0.3, 0.6, 1.0, 2.0, 3.0)
SESSION = uuid.uuid4().hex[:8]
"""One consumer group per service for the module: a later sender goes on where the last stopped."""
THREAD_EVENTS = ("release:create", "release:promote", "app:promote:completed")


async def start_sender(
    kafka_settings: KafkaSettings, channel: Channel, group_id: str | None = None, **chat: Any
) -> SenderService:
    service = SenderService(
        sender_settings(
            kafka_settings,
            channel,
            request_timeout_s=3,
            retry_delays_s=DELAYS,
            group_id=group_id or f"test-chat-{channel.value}-{SESSION}",
            chat=ChatSettings(dashboard_url_template="https://dash.example.com/{app_name}", **chat),
        )
    )
    await service.__aenter__()
    await eventually(lambda: service.ready()[0], timeout_s=60, what=f"{channel} sender ready")
    return service


class Senders:
    """Starts senders for a test and stops those still running at its end."""

    def __init__(self, kafka_settings: KafkaSettings) -> None:
        self._kafka = kafka_settings
        self.running: list[SenderService] = []

    async def __call__(
        self, channel: Channel, group_id: str | None = None, **chat: Any
    ) -> SenderService:
        service = await start_sender(self._kafka, channel, group_id, **chat)
        self.running.append(service)
        return service

    async def stop(self, service: SenderService) -> None:
        self.running.remove(service)
        await service.__aexit__(None, None, None)


@pytest.fixture
async def senders(kafka_settings: KafkaSettings) -> AsyncIterator[Senders]:
    started = Senders(kafka_settings)
    yield started
    for service in reversed(started.running):
        await service.__aexit__(None, None, None)


def chat_notifier(app_id: str, channel: Channel, type_data: dict[str, Any]) -> Notifier:
    return Notifier(
        id=f"n-{uuid.uuid4().hex[:12]}",
        name=f"{channel} test",
        scope=Scope.APP,
        app_id=app_id,
        platform=channel,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data=type_data,
    )


def check_slack(body: dict[str, Any]) -> None:
    assert isinstance(body["text"], str)
    assert body["text"]
    assert "blocks" in body or "attachments" in body


def check_mattermost(body: dict[str, Any]) -> None:
    attachment = body["attachments"][0]
    assert attachment["fallback"]
    assert attachment["color"]


def check_rocketchat(body: dict[str, Any]) -> None:
    assert body["text"]
    assert isinstance(body["attachments"], list)


def check_discord(body: dict[str, Any]) -> None:
    assert body["allowed_mentions"] == {"parse": []}
    embed = body["embeds"][0]
    assert embed["title"]
    assert isinstance(embed["color"], int)


def check_teams(body: dict[str, Any]) -> None:
    assert body["type"] == "message"
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"


def check_googlechat(body: dict[str, Any]) -> None:
    assert body["text"]
    assert body["cardsV2"][0]["card"]


def check_flowdock(body: dict[str, Any]) -> None:
    assert body


def check_gitter(body: dict[str, Any]) -> None:
    assert body["message"]


RATE_LIMITED = {
    Channel.SLACK: Reply(429, {"Retry-After": "1"}, body="rate_limited"),
    Channel.MATTERMOST: Reply(429, {"Retry-After": "1"}),
    Channel.ROCKETCHAT: Reply(429, {"Retry-After": "1"}),
    Channel.DISCORD: Reply(
        429,
        {"Content-Type": "application/json", "X-RateLimit-Reset-After": "0.4"},
        body=json.dumps({"message": "You are being rate limited.", "retry_after": 1.0}),
    ),
    Channel.MSTEAMS: Reply(429, {"Retry-After": "1"}),
    Channel.GOOGLECHAT: Reply(429, {"Retry-After": "1"}),
    Channel.FLOWDOCK: Reply(429, {"Retry-After": "1"}),
    Channel.GITTER: Reply(429, {"Retry-After": "1"}),
}
CHECKS: dict[Channel, Callable[[dict[str, Any]], None]] = {
    Channel.SLACK: check_slack,
    Channel.MATTERMOST: check_mattermost,
    Channel.ROCKETCHAT: check_rocketchat,
    Channel.DISCORD: check_discord,
    Channel.MSTEAMS: check_teams,
    Channel.GOOGLECHAT: check_googlechat,
    Channel.FLOWDOCK: check_flowdock,
    Channel.GITTER: check_gitter,
}


@pytest.mark.parametrize("channel", list(CHECKS), ids=str)
async def test_a_deployment_reaches_the_service_after_its_rate_limit(
    herald: Herald,
    senders: Senders,
    receiver: HttpReceiver,
    http: aiohttp.ClientSession,
    channel: Channel,
) -> None:
    await senders(channel)
    app_id = f"app-{uuid.uuid4().hex[:10]}"
    path = f"/{channel.value}/{app_id}"
    receiver.scripts[path] = [RATE_LIMITED[channel]]
    await herald.add_notifier(chat_notifier(app_id, channel, {"webhook_url": receiver.url(path)}))

    await post_event(http, herald, deployed(app_id))
    first, second = await receiver.wait_for(path, count=2, timeout_s=30)

    assert first.body == second.body, "the retried message is the same message"
    assert second.at - first.at >= 0.9, "the service's Retry-After (1 s) was honoured"
    body = second.json()
    CHECKS[channel](body)
    assert "my-app" in json.dumps(body), "the message names the app"
    assert first.headers["Content-Type"].startswith("application/json")


async def test_hipchat_room_message_through_api_v1(
    herald: Herald, senders: Senders, receiver: HttpReceiver, http: aiohttp.ClientSession
) -> None:
    await senders(Channel.HIPCHAT)
    app_id = f"app-{uuid.uuid4().hex[:10]}"
    server = receiver.url(f"/hipchat/{app_id}")
    notifier = chat_notifier(
        app_id, Channel.HIPCHAT, {"webhook_url": server, "token": "hc-token", "room": "ops"}
    )
    await herald.add_notifier(notifier)

    await post_event(http, herald, deployed(app_id))
    (request,) = await receiver.wait_for(f"/hipchat/{app_id}/v1/rooms/message", timeout_s=30)
    form = parse_qs(request.body.decode())
    query = parse_qs(request.query)
    assert query["auth_token"] == ["hc-token"]
    assert form["room_id"] == ["ops"]
    assert "my-app" in form["message"][0]
    assert form["color"][0] in {"yellow", "green", "red", "purple", "gray"}


def mentions_sentinel(payload: dict[str, Any]) -> bool:
    return "RSENTINEL" in json.dumps(payload)


def deploy_event(app_id: str, event_type: str, **type_data: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "convox",
        "app_id": app_id,
        "app_name": "my-app",
        "owner_id": "owner-1",
        "rack": "production",
        "type_data": {"release_id": "RABCDEF", "actor": "jane", **type_data},
    }


async def test_a_deploy_thread_is_one_post_then_updates_even_across_a_restart(
    herald: Herald, senders: Senders, http: aiohttp.ClientSession
) -> None:
    slack = await SlackStandIn().start()
    try:
        first_sender = await senders(Channel.SLACK, slack_api_base_url=slack.api_base_url)
        app_id = f"app-{uuid.uuid4().hex[:10]}"
        notifier = chat_notifier(
            app_id, Channel.SLACK, {"bot_token": slack.token, "channel": "C0DEPLOYS"}
        )
        notifier = notifier.model_copy(
            update={
                "selection": Selection(
                    selected_event_ids=(
                        "release:create",
                        "release:promote",
                        "app:promote:completed",
                    )
                )
            }
        )
        await herald.add_notifier(notifier)

        event = deploy_event(app_id, "release:create", status="created")
        await post_event(http, herald, event)
        await eventually(lambda: len(slack.calls) == 1, timeout_s=30, what="chat.postMessage")
        await post_event(http, herald, deploy_event(app_id, "release:promote", status="start"))
        await eventually(lambda: len(slack.calls) == 2, timeout_s=30, what="first chat.update")

        await senders.stop(first_sender)  # a restart between two events
        group = first_sender.settings.consumer_group
        await senders(Channel.SLACK, group, slack_api_base_url=slack.api_base_url)
        await post_event(http, herald, deploy_event(app_id, "app:promote:completed"))
        await eventually(lambda: len(slack.calls) >= 3, timeout_s=60, what="second chat.update")
        # A sentinel: another release of the app, a new thread; the same notifier, so its
        # delivery follows the others in their partition, and its post comes after their calls.
        await sentinel(
            http,
            herald,
            deploy_event(app_id, "release:create", status="created", release_id="RSENTINEL"),
            lambda: any(mentions_sentinel(c.payload) for c in slack.calls),
            what="the sentinel's chat.postMessage",
            timeout_s=60,
        )

        calls = [c for c in slack.calls if not mentions_sentinel(c.payload)]
        messages = [ts for ts, payload in slack.messages.items() if not mentions_sentinel(payload)]
        assert [c.method for c in calls] == ["chat.postMessage", "chat.update", "chat.update"]
        (ts,) = messages
        assert [c.payload["ts"] for c in calls[1:]] == [ts, ts]
        assert all(c.payload["channel"] == "C0DEPLOYS" for c in calls)
        assert calls[-1].payload != calls[0].payload, "the message shows the result"
    finally:
        await slack.stop()
