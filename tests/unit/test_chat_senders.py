"""The chat channels' HTTP side, pure parts: requests, rate-limit dialects, Slack API answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from herald_core.deliveries import Delivery
from herald_core.errors import (
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.headers import HERALD_DELIVERY_ID, HERALD_EVENT_ID
from herald_core.topics import Channel
from herald_sender.channels import sender_factories
from herald_sender.channels.chat import chat_request, classify_chat, discord_retry_after
from herald_sender.channels.slack import MessageGone, api_error, api_request, bot_credentials
from herald_sender.chat import ChatOptions, render_chat
from herald_sender.chat.samples import sample_delivery

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CHAT = [
    c for c in Channel if c not in {Channel.EMAIL, Channel.WEBHOOK, Channel.APNS, Channel.WEBPUSH}
]


def with_type_data(delivery: Delivery, **type_data: object) -> Delivery:
    notifier = delivery.notifier.model_copy(
        update={"type_data": {**delivery.notifier.type_data, **type_data}}
    )
    return delivery.model_copy(update={"notifier": notifier})


def test_every_chat_channel_has_a_sender():
    assert set(CHAT) <= set(sender_factories())


@pytest.mark.parametrize("channel", [c for c in CHAT if c is not Channel.HIPCHAT], ids=str)
def test_chat_requests_post_the_rendered_json_to_the_webhook(channel):
    delivery = with_type_data(
        sample_delivery("deployment_success", channel), webhook_url="https://hooks.example/x"
    )
    payload = render_chat(channel, delivery, ChatOptions())
    request = chat_request(channel, delivery, payload)
    assert request.url == "https://hooks.example/x"
    assert request.headers["content-type"].startswith("application/json")
    assert json.loads(request.body) == payload


def chat_delivery(channel: Channel) -> Delivery:
    """A sample delivery whose notifier has what `channel` needs to build a request."""
    extra = {"token": "hc-1"} if channel is Channel.HIPCHAT else {}
    return with_type_data(
        sample_delivery("crash", channel), webhook_url="https://hooks.example/x", **extra
    )


@pytest.mark.parametrize("channel", CHAT, ids=str)
def test_every_chat_request_names_its_delivery_and_event(channel):
    delivery = chat_delivery(channel)
    request = chat_request(channel, delivery, render_chat(channel, delivery, ChatOptions()))
    assert request.headers[HERALD_DELIVERY_ID] == delivery.id
    assert request.headers[HERALD_EVENT_ID] == delivery.event.id


def test_a_chat_notifier_without_url_is_a_permanent_error():
    delivery = sample_delivery("crash", Channel.DISCORD)
    with pytest.raises(PermanentDeliveryError) as refused:
        chat_request(Channel.DISCORD, delivery, {})
    assert refused.value.reason is FailureReason.INVALID_TYPE_DATA


def test_flowdock_gets_its_flow_token_at_send_time_only():
    delivery = with_type_data(
        sample_delivery("crash", Channel.FLOWDOCK),
        webhook_url="https://api.flowdock.com/messages",
        flow_token="ft-123",
    )
    payload = render_chat(Channel.FLOWDOCK, delivery, ChatOptions())
    assert "flow_token" not in payload
    assert json.loads(chat_request(Channel.FLOWDOCK, delivery, payload).body)["flow_token"] == (
        "ft-123"
    )


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (None, "https://api.hipchat.com/v1/rooms/message"),
        ("https://hipchat.example.org", "https://hipchat.example.org/v1/rooms/message"),
        (
            "https://hipchat.example.org/v1/rooms/message",
            "https://hipchat.example.org/v1/rooms/message",
        ),
    ],
)
def test_hipchat_posts_a_form_with_the_token_in_the_query(server, expected):
    extra = {"token": "hc-1"} | ({"webhook_url": server} if server else {})
    delivery = with_type_data(sample_delivery("crash", Channel.HIPCHAT), **extra)
    payload = render_chat(Channel.HIPCHAT, delivery, ChatOptions())
    request = chat_request(Channel.HIPCHAT, delivery, payload)
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == expected
    assert parse_qs(parts.query)["auth_token"] == ["hc-1"]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode())["room_id"] == ["ops"]


def test_hipchat_without_a_token_is_refused():
    delivery = sample_delivery("crash", Channel.HIPCHAT)
    with pytest.raises(PermanentDeliveryError):
        chat_request(Channel.HIPCHAT, delivery, {"room_id": "ops"})


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"x-ratelimit-reset-after": "0.4"}, b'{"retry_after": 1.5}', 1.5),
        ({"x-ratelimit-reset-after": "2.5"}, b'{"retry_after": 1.5}', 2.5),
        ({}, b'{"retry_after": 0.25, "global": false}', 0.25),
        ({}, b"not json", None),
        ({"x-ratelimit-reset-after": "soon"}, b"{}", None),
        ({}, b'{"retry_after": -3}', None),
    ],
)
def test_discord_retry_after_takes_the_longest_wait(headers, body, expected):
    assert discord_retry_after(headers, body) == expected


def test_a_discord_429_waits_as_long_as_discord_asks():
    error = classify_chat(
        Channel.DISCORD, 429, {"retry-after": "1"}, b'{"retry_after": 4.2}', now=NOW
    )
    assert isinstance(error, RetryableDeliveryError)
    assert error.retry_after == 4.2
    slack = classify_chat(
        Channel.SLACK, 429, {"retry-after": "1"}, b'{"retry_after": 4.2}', now=NOW
    )
    assert slack is not None
    assert slack.retry_after == 1.0, "only Discord speaks that dialect"


def test_success_is_no_error():
    assert classify_chat(Channel.MSTEAMS, 202, {}, b"", now=NOW) is None


@pytest.mark.parametrize(
    ("method", "answer", "kind", "reason"),
    [
        (
            "chat.postMessage",
            {"ok": False, "error": "ratelimited"},
            RetryableDeliveryError,
            FailureReason.SERVER_ERROR,
        ),
        (
            "chat.postMessage",
            {"ok": False, "error": "invalid_auth"},
            PermanentDeliveryError,
            FailureReason.AUTH_ERROR,
        ),
        (
            "chat.postMessage",
            {"ok": False, "error": "channel_not_found"},
            PermanentDeliveryError,
            FailureReason.CLIENT_ERROR,
        ),
        ("chat.update", {"ok": False, "error": "message_not_found"}, MessageGone, None),
        (
            "chat.postMessage",
            {"ok": False, "error": "message_not_found"},
            PermanentDeliveryError,
            FailureReason.CLIENT_ERROR,
        ),
        ("chat.postMessage", {}, PermanentDeliveryError, FailureReason.CLIENT_ERROR),
    ],
)
def test_slack_api_answers(method, answer, kind, reason):
    error = api_error(method, answer)
    assert isinstance(error, kind)
    if reason is not None:
        assert error.reason is reason  # type: ignore[union-attr]


def test_slack_ok_is_no_error():
    assert api_error("chat.update", {"ok": True, "ts": "1.2"}) is None


def test_slack_api_requests_carry_the_bot_token_and_the_delivery():
    delivery = sample_delivery("crash", Channel.SLACK)
    request = api_request(
        "https://slack.example/api/", "chat.update", "xoxb-1", {"ts": "1.2"}, delivery
    )
    assert request.url == "https://slack.example/api/chat.update"
    assert request.headers["authorization"] == "Bearer xoxb-1"
    assert request.headers[HERALD_DELIVERY_ID] == delivery.id
    assert request.headers[HERALD_EVENT_ID] == delivery.event.id
    assert json.loads(request.body) == {"ts": "1.2"}


@pytest.mark.parametrize(
    ("type_data", "expected"),
    [
        ({"bot_token": "xoxb-1", "channel": "C1"}, ("xoxb-1", "C1")),
        ({"bot_token": "xoxb-1"}, None),
        ({"webhook_url": "https://hooks.slack.com/services/x"}, None),
        ({"bot_token": "", "channel": "C1"}, None),
    ],
)
def test_bot_token_mode(type_data, expected):
    assert bot_credentials(type_data) == expected
