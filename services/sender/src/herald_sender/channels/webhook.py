"""The webhook channel: POST the event to the notifier's URL, signed.

The notifier's `type_data` (validated by the API at creation, read defensively here):

    webhook_url   where to POST (the SSRF-safe client checks it again on every attempt)
    format        raw (default) | scalingo | cloud66 | cloudevents | convox | … (`formats`)
    convox_signing_key(s)  format convox: `Convox-Signature` keys (`herald_sender.convox`)
    secret        "whsec_…", and `secrets: [...]` during a rotation (`herald_sender.signing`)
    headers       {name: value} added to every request

Every request carries `webhook-id` (the delivery id, the receiver's idempotency key) and
`webhook-timestamp`; `webhook-signature` only when the notifier has a secret. Custom headers
never replace Herald's own: hop-by-hop headers, Host, Content-Length, Content-Type, the
signing headers and any header Herald sets are dropped at send time, and so are names or values
that are not valid HTTP (the API refuses all of these at creation already).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.notifiers import WebhookFormat
from herald_core.topics import Channel

from herald_sender.channels import SendReport
from herald_sender.chat import ChatOptions
from herald_sender.classify import classify_http
from herald_sender.convox import convox_headers
from herald_sender.endpoints import EndpointLimits
from herald_sender.formats import content_type, render_body, webhook_format
from herald_sender.outcomes import RESPONSE_EXCERPT_MAX
from herald_sender.safe_http import DEFAULT_LIMIT_PER_HOST, SafeHttpClient
from herald_sender.settings import SenderSettings
from herald_sender.signing import SIGNING_HEADERS, signing_headers

EVENT_TYPE_HEADER = "x-herald-event-type"

RESERVED_HEADERS = frozenset(
    {
        # hop-by-hop (RFC 9110 §7.6.1, plus the old Proxy-Connection and "Trailers")
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        # what the client and the format decide
        "host",
        "content-length",
        "content-type",
        EVENT_TYPE_HEADER,
        "convox-signature",
        *SIGNING_HEADERS,
    }
)
"""Lower-case names a notifier's `headers` may not set; a superset of the API's list."""

MAX_HEADER_VALUE = 2000
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}")
_HEADER_VALUE_FORBIDDEN = frozenset("\r\n\x00")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebhookRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def render_webhook(
    delivery: Delivery, now: datetime, options: ChatOptions | None = None
) -> WebhookRequest:
    """The request for one delivery attempt at `now` (the signing and `timestamp` clock). Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when the notifier has no webhook_url, an
            unknown or non-webhook format, or a malformed secret.
    """
    type_data = delivery.notifier.type_data
    url = type_data.get("webhook_url")
    if not isinstance(url, str) or not url:
        raise PermanentDeliveryError(
            FailureReason.INVALID_PAYLOAD, "the notifier has no webhook_url"
        )
    fmt = webhook_format(type_data)
    body = render_body(delivery, fmt, now, options)
    own = {
        "content-type": content_type(fmt),
        EVENT_TYPE_HEADER: delivery.event.type,
        **signing_headers(type_data, delivery.id, now, body),
    }
    if fmt is WebhookFormat.CONVOX:  # Convox's own signature, beside Standard Webhooks'
        own.update(convox_headers(type_data, now, body))
    return WebhookRequest(url=url, body=body, headers={**custom_headers(type_data), **own})


def custom_headers(type_data: Mapping[str, Any]) -> dict[str, str]:
    """The notifier's own `headers` that may be sent; the others are dropped silently. Pure.

    A name is kept once (case-insensitively, first wins), if it is a valid token not in
    `RESERVED_HEADERS`, with a string value free of CR, LF and NUL of at most
    `MAX_HEADER_VALUE` characters.
    """
    given = type_data.get("headers")
    if not isinstance(given, dict):
        return {}
    kept: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in given.items():
        lowered = name.lower() if isinstance(name, str) else ""
        if (
            not _HEADER_NAME.fullmatch(lowered)
            or lowered in RESERVED_HEADERS
            or lowered in seen
            or not isinstance(value, str)
            or len(value) > MAX_HEADER_VALUE
            or _HEADER_VALUE_FORBIDDEN.intersection(value)
        ):
            continue
        seen.add(lowered)
        kept[name] = value
    return kept


class WebhookSender:
    """Sends deliveries as HTTP POSTs through the SSRF-safe client."""

    channel: ClassVar[Channel] = Channel.WEBHOOK

    def __init__(
        self,
        client: SafeHttpClient,
        clock: Clock = _utc_now,
        limits: EndpointLimits | None = None,
        options: ChatOptions | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._options = options or ChatOptions()
        self._limits = (
            limits
            if limits is not None  # an EndpointLimits without endpoints yet is falsy
            else EndpointLimits(rate_per_s=0, concurrency=DEFAULT_LIMIT_PER_HOST)
        )

    @classmethod
    def from_settings(cls, settings: SenderSettings) -> WebhookSender:
        return cls(
            SafeHttpClient(
                allow_loopback=settings.allow_loopback_targets,
                connect_timeout_s=settings.connect_timeout_s,
                total_timeout_s=settings.request_timeout_s,
                max_body_bytes=settings.max_response_bytes,
                limit_per_host=settings.endpoint_concurrency,
            ),
            limits=EndpointLimits(
                rate_per_s=settings.endpoint_rate_per_s,
                concurrency=settings.endpoint_concurrency,
            ),
            options=settings.chat.options(),
        )

    async def __aenter__(self) -> Self:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    def admission(self, value: bytes | None) -> AbstractAsyncContextManager[object]:
        """The endpoint place of a delivery record, taken before the consumer's slot.

        Reads only the notifier's URL (a record that does not parse is admitted at once; the
        shell dead-letters it). Inside it, `send` does not wait for the endpoint again.
        """
        try:
            type_data = json.loads(value or b"")["notifier"]["type_data"]
        except (ValueError, KeyError, TypeError):
            return contextlib.nullcontext()
        if not isinstance(type_data, dict):
            return contextlib.nullcontext()
        return self._limits.slot(_endpoint_url(type_data))

    async def send(self, delivery: Delivery) -> SendReport:
        async with self._limits.slot(_endpoint_url(delivery.notifier.type_data)):
            # Rendered (and signed) once the endpoint's limits let it go: a fresh timestamp.
            request = render_webhook(delivery, self._clock(), self._options)
            result = await self._client.post(
                request.url, body=request.body, headers=request.headers
            )
        excerpt = response_excerpt(result.body)
        error = classify_http(result.status, result.headers, now=self._clock())
        if error is not None:
            error.response_excerpt = excerpt
            raise error
        return SendReport(status=result.status, response_excerpt=excerpt)


def _endpoint_url(type_data: Mapping[str, Any]) -> str:
    url = type_data.get("webhook_url")
    return url if isinstance(url, str) else ""


def response_excerpt(body: bytes) -> str | None:
    """The start of a response body as text (UTF-8, bad bytes replaced); None when empty. Pure."""
    if not body:
        return None
    # Decode a little more than needed: a multi-byte character cut at the limit is replaced.
    return body[: RESPONSE_EXCERPT_MAX * 4].decode("utf-8", errors="replace")[:RESPONSE_EXCERPT_MAX]
