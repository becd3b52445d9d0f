"""The webhook channel: POST the event to the notifier's URL.

Formats (DESIGN.md §4) start with `raw`: the envelope exactly as on `notify.events` and the live
stream. The delivery id is sent as `webhook-id`, the receiver's idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Self

from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.topics import Channel

from herald_sender.classify import classify_http
from herald_sender.safe_http import SafeHttpClient
from herald_sender.settings import SenderSettings


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def render_webhook(delivery: Delivery) -> WebhookRequest:
    """The request for one delivery. Pure.

    Raises:
        PermanentDeliveryError: when the notifier has no webhook_url.
    """
    url = delivery.notifier.type_data.get("webhook_url")
    if not isinstance(url, str) or not url:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD, "the notifier has no webhook_url"
        )
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "x-herald-event-type": delivery.event.type,
    }
    return WebhookRequest(url=url, body=delivery.event.to_json(), headers=headers)


class WebhookSender:
    """Sends deliveries as HTTP POSTs through the SSRF-safe client."""

    channel: ClassVar[Channel] = Channel.WEBHOOK

    def __init__(self, client: SafeHttpClient) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> WebhookSender:
        return cls(
            SafeHttpClient(
                allow_loopback=settings.allow_loopback_targets,
                connect_timeout_s=settings.connect_timeout_s,
                total_timeout_s=settings.request_timeout_s,
                max_body_bytes=settings.max_response_bytes,
            )
        )

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def send(self, delivery: Delivery) -> int | None:
        request = render_webhook(delivery)
        result = await self._client.post(request.url, body=request.body, headers=request.headers)
        error = classify_http(result.status, result.headers, now=datetime.now(UTC))
        if error is not None:
            raise error
        return result.status
