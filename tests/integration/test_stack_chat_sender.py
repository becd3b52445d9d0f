"""The local stack's one sender process for every chat channel (`sender-chat`, `--channel
slack,mattermost,…`), as `herald-dev up` runs it: Slack and Discord notifiers made through the
API, events through ingest and the router, and the one process posts to both receivers (real
HTTP servers on loopback playing their incoming webhooks); its one health port exports both
channels' metrics, each with its own `channel` label, and Prometheus keeps that label.

The stack is the session's `secured_stack` (tests/integration/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from herald_devstack.admin import ConfigApi, notifier_body, post_event, sample_event
from herald_devstack.stack import CHAT_CHANNELS, CHAT_SENDER, Stack
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.scrape import sample_value

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PLATFORMS = ("slack", "discord")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def prometheus_series(stack: Stack, expr: str) -> list[dict[str, str]]:
    """The label sets of the instant vector Prometheus answers for `expr`."""
    query = urllib.parse.urlencode({"query": expr})
    body = json.loads(get(f"{stack.prometheus.url}/api/v1/query?{query}"))
    assert body["status"] == "success", body
    return [dict(result["metric"]) for result in body["data"]["result"]]


def check_slack(body: dict[str, Any]) -> None:
    assert isinstance(body["text"], str)
    assert body["text"]
    assert "blocks" in body or "attachments" in body


def check_discord(body: dict[str, Any]) -> None:
    assert body["allowed_mentions"] == {"parse": []}
    assert body["embeds"][0]["title"]


async def test_one_process_sends_slack_and_discord_and_exports_both_channels(
    secured_stack: Stack,
) -> None:
    stack = secured_stack
    chat = stack.spec(CHAT_SENDER)
    assert chat.argv[-1].split(",") == [channel.value for channel in CHAT_CHANNELS]
    assert [spec.name for spec in stack.services if spec.name.startswith("sender-")] == [
        "sender-webhook",
        "sender-email",
        CHAT_SENDER,
    ]
    receiver = await HttpReceiver().start()
    try:
        api = ConfigApi(stack.api_url, stack.settings.api_admin_token)
        app_id = f"chat-{uuid.uuid4().hex[:8]}"
        await asyncio.to_thread(api.ensure_app, app_id, "u-dev")
        paths = {platform: f"/{platform}/{app_id}" for platform in PLATFORMS}
        for platform, path in paths.items():
            body = notifier_body(
                platform=platform,
                url=receiver.url(path),
                events=["app_deployed"],
                send_all=False,
                name=f"{platform} of the chat sender",
            )
            await asyncio.to_thread(api.create_notifier, app_id, body)

        # the router applies the new notifiers within a moment: post until both have a post
        async def both_posted() -> bool:
            status, answer = await asyncio.to_thread(
                post_event,
                stack.ingest_url,
                sample_event(app_id, "app_deployed"),
                stack.settings.ingest_token,
            )
            assert status == 202, answer
            await asyncio.sleep(1)
            return all(receiver.on(path) for path in paths.values())

        await eventually(both_posted, timeout_s=90, what="a Slack and a Discord post")
        check_slack(receiver.on(paths["slack"])[0].json())
        check_discord(receiver.on(paths["discord"])[0].json())

        # one health port, both channels' metrics, each with its own label
        scraped = (await asyncio.to_thread(get, f"http://127.0.0.1:{chat.port}/metrics")).decode()
        for platform in PLATFORMS:
            sent = sample_value(scraped, "herald_notifications_total", {"channel": platform})
            assert sent is not None, f"no herald_notifications_total for {platform}"
            assert sent >= 1, (platform, sent)

        # Prometheus: the one job, each channel's series labelled by the metric's own label
        def scraped_by_prometheus() -> bool:
            series = prometheus_series(stack, f'herald_notifications_total{{job="{CHAT_SENDER}"}}')
            return {s.get("channel") for s in series} >= set(PLATFORMS)

        await eventually(scraped_by_prometheus, timeout_s=60, what="both channels in Prometheus")
        series = prometheus_series(stack, f'herald_notifications_total{{job="{CHAT_SENDER}"}}')
        assert {s["instance_name"] for s in series} == {CHAT_SENDER}
        assert not prometheus_series(stack, f'{{job="{CHAT_SENDER}", exported_channel!=""}}')

        # the dashboards' `$channel` variable (label_values(herald_dlq_records, channel)) lists
        # every chat channel the one process sends
        every_chat = {channel.value for channel in CHAT_CHANNELS}

        def every_chat_channel_sampled() -> bool:
            series = prometheus_series(stack, f'herald_dlq_records{{job="{CHAT_SENDER}"}}')
            return {s.get("channel") for s in series} == every_chat

        await eventually(every_chat_channel_sampled, timeout_s=60, what="every DLQ depth")
    finally:
        await receiver.stop()
