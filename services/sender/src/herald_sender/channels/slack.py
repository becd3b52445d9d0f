"""Slack: incoming webhooks, or a bot token with deploy threads.

A Slack notifier's `type_data` picks the mode:

    {"webhook_url": "https://hooks.slack.com/services/…"}    incoming webhook: one message per
                                                              event (Mattermost's Slack-compatible
                                                              hooks work too)
    {"bot_token": "xoxb-…", "channel": "C0123…"}             Web API: `chat.postMessage`, and
                                                              `chat.update` for the later events
                                                              of a deployment (deploy threads)

In bot-token mode the events of one deployment (`herald_sender.threads`) rewrite the message the
first one posted. The message reference (channel id and `ts`) is stored on the compacted topic
`notify.state.slack-threads` as an output of the attempt — acknowledged before the delivery's
offset is committed — and read back into memory when a sender starts, so a restarted sender
updates the same message. The Web API base URL is a setting (`chat.slack_api_base_url`) so that a
stand-in can play Slack in tests.

Slack answers API errors with HTTP 200 and `{"ok": false, "error": "<code>"}`:

    internal_error, fatal_error, service_unavailable, request_timeout, ratelimited  retryable
    not_authed, invalid_auth, account_inactive, token_revoked, token_expired,
    no_permission, missing_scope, access_denied                                     auth_error
    message_not_found, cant_update_message, edit_window_closed (chat.update)        post anew
    anything else (channel_not_found, is_archived, not_in_channel, invalid_blocks…) client_error
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

import structlog
from herald_core.deliveries import Delivery
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.settings import KafkaSettings
from herald_core.thread_state import ThreadRef
from herald_core.topics import Channel
from herald_kafka.config_view import MaterializedView
from herald_kafka.producer import OutgoingRecord

from herald_sender.channels import SendReport
from herald_sender.channels.chat import ChatRequest, ChatSender, client_of, identity_headers
from herald_sender.chat import ChatOptions, render_chat
from herald_sender.endpoints import EndpointLimits, limits_of
from herald_sender.safe_http import SafeHttpClient
from herald_sender.settings import SenderSettings
from herald_sender.threads import (
    THREADS_TOPIC,
    ThreadStep,
    after_send,
    deploy_thread,
    message_to_update,
    state_key,
)

log = structlog.get_logger(__name__)

RETRYABLE_API_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
AUTH_API_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "access_denied",
    }
)
MESSAGE_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class MessageGone(Exception):
    """`chat.update` found no message to rewrite: post a new one."""


def api_error(method: str, answer: Mapping[str, Any]) -> DeliveryError | MessageGone | None:
    """The failure a Web API answer means, or None when it says `ok`. Pure."""
    if answer.get("ok") is True:
        return None
    code = str(answer.get("error") or "unknown_error")[:100]
    detail = f"Slack {method} answered {code}"
    if code in RETRYABLE_API_ERRORS:
        return RetryableDeliveryError(FailureReason.SERVER_ERROR, detail)
    if code in AUTH_API_ERRORS:
        return PermanentDeliveryError(FailureReason.AUTH_ERROR, detail)
    if method == "chat.update" and code in MESSAGE_GONE_ERRORS:
        return MessageGone(detail)
    return PermanentDeliveryError(FailureReason.CLIENT_ERROR, detail)


def api_request(
    base_url: str, method: str, token: str, payload: Mapping[str, Any], delivery: Delivery
) -> ChatRequest:
    """A Web API call for `delivery`: JSON body, bearer token, the delivery's identity. Pure."""
    return ChatRequest(
        url=f"{base_url.rstrip('/')}/{method}",
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
        headers={
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {token}",
            **identity_headers(delivery),
        },
    )


def bot_credentials(type_data: Mapping[str, Any]) -> tuple[str, str] | None:
    """(token, channel) when the notifier is in bot-token mode, else None. Pure."""
    token, channel = type_data.get("bot_token"), type_data.get("channel")
    if isinstance(token, str) and token and isinstance(channel, str) and channel:
        return token, channel
    return None


def latest_ref(own: ThreadRef | None, seen: ThreadRef | None) -> ThreadRef | None:
    """Of this process's own write and the one read from the topic, the later (own on a tie:
    the topic may not have shown it yet). With several sender instances a partition can move
    away and come back: what was written here meanwhile is not the thread's last word. Pure."""
    if own is None or seen is None:
        return own or seen
    return seen if seen.updated_at > own.updated_at else own


class ThreadStore:
    """The deploy threads' message references: the state topic in memory, plus own writes."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self._view: MaterializedView[ThreadRef] = MaterializedView(
            kafka, {THREADS_TOPIC: ThreadRef.model_validate_json}
        )
        self._written: dict[str, ThreadRef] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, ready_timeout_s: float = 60.0) -> None:
        """Read the topic to its end; sending waits for this (a restart must know its threads)."""
        await self._view.start()
        self._task = asyncio.create_task(self._view.run(self._stop), name="slack-threads-view")
        await self._view.wait_ready(ready_timeout_s)
        log.info("slack_threads_loaded", threads=len(self._view.table(THREADS_TOPIC)))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        await self._view.stop()

    def get(self, key: str) -> ThreadRef | None:
        """The thread's latest reference: this process's own write until the topic shows a
        later one (another sender instance that owned the partition meanwhile)."""
        return latest_ref(self._written.get(key), self._view.table(THREADS_TOPIC).get(key))

    def put(self, key: str, ref: ThreadRef) -> OutgoingRecord:
        """Remember `ref` now; the returned record makes it durable once acknowledged."""
        self._written[key] = ref
        if len(self._written) > 10_000:  # the view has caught up with the older ones by now
            self._written.pop(next(iter(self._written)))
        return OutgoingRecord(THREADS_TOPIC, ref.model_dump_json().encode(), key.encode())


class SlackSender(ChatSender):
    """Slack's incoming webhooks, and its Web API with deploy threads for bot-token notifiers."""

    channel: ClassVar[Channel] = Channel.SLACK

    def __init__(
        self,
        client: SafeHttpClient,
        options: ChatOptions,
        *,
        limits: EndpointLimits,
        api_base_url: str = "https://slack.com/api",
        threads: ThreadStore | None = None,
    ) -> None:
        super().__init__(client, options, limits=limits)
        self._api_base_url = api_base_url
        self._threads = threads

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> Self:
        return cls(
            client_of(settings),
            settings.chat.options(),
            limits=limits_of(settings),
            api_base_url=settings.chat.slack_api_base_url,
            threads=ThreadStore(settings.kafka),
        )

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self._threads is not None:
            await self._threads.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._threads is not None:
            await self._threads.stop()
        await super().__aexit__(*exc)

    async def send(self, delivery: Delivery) -> SendReport:
        payload = render_chat(Channel.SLACK, delivery, self._options)
        credentials = bot_credentials(delivery.notifier.type_data)
        if credentials is None:
            return await super().send(delivery)
        token, channel = credentials
        step = deploy_thread(delivery.event)
        if step is None or self._threads is None:
            report, _ = await self._post_message(delivery, token, channel, payload)
            return report
        return await self._threaded(delivery, token, channel, payload, step)

    async def _threaded(
        self,
        delivery: Delivery,
        token: str,
        channel: str,
        payload: Mapping[str, Any],
        step: ThreadStep,
    ) -> SendReport:
        assert self._threads is not None
        key = state_key(delivery.notifier.id, step)
        current = message_to_update(step, self._threads.get(key))
        report: SendReport | None = None
        if current is not None:
            try:
                report, _ = await self._call(
                    delivery,
                    "chat.update",
                    token,
                    {**payload, "channel": current.channel, "ts": current.ts},
                )
                at, ts = current.channel, current.ts
            except MessageGone as gone:
                log.info("slack_thread_message_gone", detail=str(gone), thread=key)
        if report is None:
            report, (at, ts) = await self._post_message(delivery, token, channel, payload)
        record = self._threads.put(key, after_send(step, at, ts, datetime.now(UTC)))
        return SendReport(
            status=report.status, response_excerpt=report.response_excerpt, outputs=(record,)
        )

    async def _post_message(
        self, delivery: Delivery, token: str, channel: str, payload: Mapping[str, Any]
    ) -> tuple[SendReport, tuple[str, str]]:
        report, answer = await self._call(
            delivery, "chat.postMessage", token, {**payload, "channel": channel}
        )
        return report, (str(answer.get("channel") or channel), str(answer.get("ts") or ""))

    async def _call(
        self, delivery: Delivery, method: str, token: str, payload: Mapping[str, Any]
    ) -> tuple[SendReport, dict[str, Any]]:
        """One Web API call for `delivery`: the report and Slack's answer.

        Raises:
            DeliveryError: the classified failure.
            MessageGone: `chat.update` found no message to rewrite.
        """
        request = api_request(self._api_base_url, method, token, payload, delivery)
        report, body = await self.post(request)
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise RetryableDeliveryError(
                FailureReason.SERVER_ERROR,
                f"Slack {method} answered no JSON object",
                response_excerpt=report.response_excerpt,
            )
        error = api_error(method, answer)
        if isinstance(error, DeliveryError):
            error.response_excerpt = report.response_excerpt
            raise error
        if isinstance(error, MessageGone):
            raise error
        return report, answer
