"""The chat channels' HTTP side: post a rendered message to the service's webhook.

The message itself is rendered by `herald_sender.chat` (pure, one module per service); this module
turns it into a request, sends it through the SSRF-safe client under the endpoint's limits, and
classifies the answer, with each service's own rate-limit dialect:

    Slack, Mattermost, Rocket.Chat   POST JSON to `webhook_url`; 429 + `Retry-After`
    Discord                          POST JSON; 429 with `Retry-After`, `X-RateLimit-Reset-After`
                                     and a JSON body `{"retry_after": seconds}`; the longest wins
    Microsoft Teams (Workflows)      POST JSON; answers 202 Accepted
    Google Chat                      POST JSON (`application/json; charset=UTF-8`)
    Flowdock, Gitter                 POST JSON to `webhook_url` (Clever Cloud's formats)
    Hipchat (API v1)                 POST form-encoded to `<server>/v1/rooms/message`, with
                                     `auth_token` and `format=json` in the query string

Every request, Slack's Web API calls included, also carries `X-Herald-Delivery-Id` (the
delivery's id, the same on every attempt) and `X-Herald-Event-Id`: the services ignore them, but a
self-hosted server behind a proxy, or a test's receiver, can tell a repeat from a new message.

Slack's bot-token mode (deploy threads) lives in `herald_sender.channels.slack`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from herald_core.deliveries import Delivery
from herald_core.errors import DeliveryError, FailureReason, PermanentDeliveryError
from herald_core.headers import HERALD_DELIVERY_ID, HERALD_EVENT_ID
from herald_core.topics import Channel

from herald_sender.channels import SendReport
from herald_sender.channels.webhook import response_excerpt, trace_headers
from herald_sender.chat import (
    ChatOptions,
    hipchat_form,
    hipchat_url,
    render_chat,
    with_flow_token,
)
from herald_sender.classify import MAX_RETRY_AFTER_S, classify_http
from herald_sender.endpoints import EndpointLimits, admission_of, limits_of
from herald_sender.safe_http import SafeHttpClient
from herald_sender.settings import SenderSettings

JSON = "application/json"
HIPCHAT_DEFAULT_SERVER = "https://api.hipchat.com"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def identity_headers(delivery: Delivery) -> dict[str, str]:
    """The headers that name `delivery` and its event on every chat request, and its trace
    context (`traceparent`). Pure."""
    return {
        HERALD_DELIVERY_ID: delivery.id,
        HERALD_EVENT_ID: delivery.event.id,
        **trace_headers(delivery),
    }


def chat_request(channel: Channel, delivery: Delivery, payload: Mapping[str, Any]) -> ChatRequest:
    """The HTTP request that posts `payload` for `delivery`'s notifier. Pure.

    Raises:
        PermanentDeliveryError: INVALID_TYPE_DATA when the notifier lacks what the service needs.
    """
    type_data = delivery.notifier.type_data
    if channel is Channel.HIPCHAT:
        return _hipchat_request(type_data, payload, identity_headers(delivery))
    url = type_data.get("webhook_url")
    if not isinstance(url, str) or not url:
        raise PermanentDeliveryError(
            FailureReason.INVALID_TYPE_DATA, "the notifier has no webhook_url"
        )
    flow_token = type_data.get("flow_token")
    if channel is Channel.FLOWDOCK and isinstance(flow_token, str) and flow_token:
        payload = with_flow_token(payload, flow_token)
    content_type = f"{JSON}; charset=UTF-8" if channel is Channel.GOOGLECHAT else JSON
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"content-type": content_type, **identity_headers(delivery)}
    return ChatRequest(url=url, body=body, headers=headers)


def _hipchat_request(
    type_data: Mapping[str, Any], payload: Mapping[str, Any], identity: Mapping[str, str]
) -> ChatRequest:
    """API v1 `rooms/message` on the notifier's server (`webhook_url`, else Hipchat's own)."""
    url = _hipchat_target(type_data)
    if url is None:
        raise PermanentDeliveryError(FailureReason.INVALID_TYPE_DATA, "the notifier has no token")
    return ChatRequest(
        url=url,
        body=hipchat_form(payload),
        headers={"content-type": "application/x-www-form-urlencoded", **identity},
    )


def _hipchat_target(type_data: Mapping[str, Any]) -> str | None:
    token = type_data.get("token")
    if not isinstance(token, str) or not token:
        return None
    server = str(type_data.get("webhook_url") or HIPCHAT_DEFAULT_SERVER)
    return hipchat_url(token, base=server.removesuffix("/").removesuffix("/v1/rooms/message"))


def chat_target(channel: Channel, type_data: Mapping[str, Any]) -> str | None:
    """The URL `chat_request` posts a webhook notifier's messages to, or None (no URL: Slack's
    bot-token mode, or type_data `chat_request` refuses). Pure."""
    if channel is Channel.HIPCHAT:
        return _hipchat_target(type_data)
    url = type_data.get("webhook_url")
    return url if isinstance(url, str) and url else None


def discord_retry_after(headers: Mapping[str, str], body: bytes) -> float | None:
    """The longest wait Discord asks for in a 429 answer, in seconds, or None. Pure."""
    waits: list[float] = []
    reset_after = headers.get("x-ratelimit-reset-after")
    if reset_after is not None:
        waits += _seconds(reset_after)
    try:
        parsed = json.loads(body or b"null")
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        waits += _seconds(parsed.get("retry_after"))
    return min(max(waits), MAX_RETRY_AFTER_S) if waits else None


def _seconds(value: Any) -> list[float]:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return []
    return [seconds] if 0 <= seconds < float("inf") else []


def classify_chat(
    channel: Channel, status: int, headers: Mapping[str, str], body: bytes, *, now: datetime
) -> DeliveryError | None:
    """`classify_http`, with Discord's own rate-limit answer read too. Pure."""
    error = classify_http(status, headers, now=now)
    if error is not None and channel is Channel.DISCORD and status == 429:
        wait = discord_retry_after(headers, body)
        if wait is not None and (error.retry_after is None or wait > error.retry_after):
            error.retry_after = wait
    return error


class ChatSender:
    """Posts rendered messages to one chat service's webhooks; one subclass per channel."""

    channel: ClassVar[Channel]

    def __init__(
        self,
        client: SafeHttpClient,
        options: ChatOptions,
        *,
        limits: EndpointLimits,
        clock: Clock = _utc_now,
    ) -> None:
        self._client = client
        self._options = options
        self._limits = limits
        self._clock = clock

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> Self:
        return cls(
            client_of(settings),
            settings.chat.options(),
            limits=limits_of(settings),
        )

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def admission(self, value: bytes | None) -> AbstractAsyncContextManager[object]:
        """The endpoint place of a delivery record, taken before the consumer's slot
        (`herald_sender.endpoints.admission_of`)."""
        return admission_of(self._limits, value, functools.partial(chat_target, self.channel))

    async def send(self, delivery: Delivery) -> SendReport:
        payload = render_chat(self.channel, delivery, self._options)
        report, _ = await self.post(chat_request(self.channel, delivery, payload))
        return report

    async def post(self, request: ChatRequest) -> tuple[SendReport, bytes]:
        """Send one request under its endpoint's limits: the report and the body read.

        Raises:
            DeliveryError: the classified failure, with the answer's excerpt.
        """
        async with self._limits.slot(request.url):
            result = await self._client.post(
                request.url, body=request.body, headers=request.headers
            )
        excerpt = response_excerpt(result.body)
        error = classify_chat(
            self.channel, result.status, result.headers, result.body, now=self._clock()
        )
        if error is not None:
            error.response_excerpt = excerpt
            raise error
        return SendReport(status=result.status, response_excerpt=excerpt), result.body


def client_of(settings: SenderSettings) -> SafeHttpClient:
    return SafeHttpClient(
        allow_loopback=settings.allow_loopback_targets,
        connect_timeout_s=settings.connect_timeout_s,
        total_timeout_s=settings.request_timeout_s,
        max_body_bytes=settings.max_response_bytes,
        limit_per_host=settings.host_concurrency,
    )


class MattermostSender(ChatSender):
    channel = Channel.MATTERMOST


class RocketChatSender(ChatSender):
    channel = Channel.ROCKETCHAT


class DiscordSender(ChatSender):
    channel = Channel.DISCORD


class TeamsSender(ChatSender):
    channel = Channel.MSTEAMS


class GoogleChatSender(ChatSender):
    channel = Channel.GOOGLECHAT


class FlowdockSender(ChatSender):
    channel = Channel.FLOWDOCK


class GitterSender(ChatSender):
    channel = Channel.GITTER


class HipchatSender(ChatSender):
    channel = Channel.HIPCHAT


CHAT_SENDERS: tuple[type[ChatSender], ...] = (
    MattermostSender,
    RocketChatSender,
    DiscordSender,
    TeamsSender,
    GoogleChatSender,
    FlowdockSender,
    GitterSender,
    HipchatSender,
)
"""Every chat channel but Slack, which has its own module for its bot-token mode."""
