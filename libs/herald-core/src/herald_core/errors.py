"""Herald's error taxonomy, in one place (docs/contributing.md).

    NotifyError
    ├── InvalidEvent            a record or request that can never be processed: → DLQ / HTTP 4xx
    ├── RecordTooLarge          what a record would become does not fit the broker: → DLQ
    ├── UnsafeUrl               a URL the SSRF policy refuses (urlpolicy)
    └── DeliveryError           a failed delivery attempt, classified by the channel
        ├── RetryableDeliveryError   timeout, connect, 5xx, 408/425/429, SMTP 4xx
        └── PermanentDeliveryError   other 4xx, 3xx, bad address, SMTP 5xx

`FailureReason` is the only value used as a metric label for failures. Messages never hold
secrets: URLs are passed through `redact_url` before they reach a `detail`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class FailureReason(StrEnum):
    """Why something failed; a closed set, safe as a metric label."""

    CLIENT_ERROR = "client_error"
    GONE = "gone"  # 410: the endpoint will never come back; the notifier gets disabled
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    RATE_LIMITED = "rate_limited"
    AUTH_ERROR = "auth_error"
    REDIRECT = "redirect"
    UNSAFE_URL = "unsafe_url"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_TYPE_DATA = "invalid_type_data"
    INVALID_JSON = "invalid_json"
    INVALID_ENVELOPE = "invalid_envelope"
    INVALID_RECIPIENT = "invalid_recipient"
    NOTIFIER_DISABLED = "notifier_disabled"
    EXHAUSTED = "exhausted"
    TOO_LARGE = "too_large"  # an event, or a record made from it, larger than Herald writes
    INTERNAL = "internal"


class NotifyError(Exception):
    """Base of every error Herald raises on purpose."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidEvent(NotifyError):
    """An event that cannot be accepted (bad JSON, envelope, type or type_data). Never retried."""

    def __init__(
        self, reason: FailureReason, detail: str, *, errors: list[dict[str, object]] | None = None
    ) -> None:
        super().__init__(reason, detail)
        self.errors = errors or []


class RecordTooLarge(NotifyError):
    """A record whose outputs would exceed the largest record Herald writes (the broker would
    refuse them): dead-lettered with reason `too_large`, never retried."""

    def __init__(self, detail: str) -> None:
        super().__init__(FailureReason.TOO_LARGE, detail)


class UnsafeUrl(NotifyError):
    """A URL refused by the outgoing-request policy."""

    def __init__(self, detail: str) -> None:
        super().__init__(FailureReason.UNSAFE_URL, detail)


class DeliveryError(NotifyError):
    """A failed delivery attempt. The channel classifies; the sender shell acts.

    `response_excerpt` is the start of the receiver's answer when it sent one (an HTTP error
    body), kept with the attempt in the delivery history; the channel sets it. `status_code` is
    the receiver's HTTP status or SMTP reply code when it answered one (set by `classify_http`
    and the e-mail channel's `classify_smtp`). `delivered` lists
    the recipients (indices into the attempted delivery's `recipients`) this attempt did deliver
    before it failed, for channels that deliver to several (e-mail); the shell writes them into
    the retry record so that a retry sends only to the others.
    """

    retryable: ClassVar[bool] = False

    def __init__(
        self,
        reason: FailureReason,
        detail: str,
        *,
        retry_after: float | None = None,
        response_excerpt: str | None = None,
        status_code: int | None = None,
        delivered: tuple[int, ...] = (),
    ) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after
        self.response_excerpt = response_excerpt
        self.status_code = status_code
        self.delivered = delivered


class RetryableDeliveryError(DeliveryError):
    """Worth another attempt later (optionally not before `retry_after` seconds)."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Will fail again however often it is tried: dead-letter it."""
