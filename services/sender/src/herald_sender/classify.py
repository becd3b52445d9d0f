"""Turn an HTTP response status into a delivery outcome (docs/architecture.md, Channels). Pure.

    2xx         → None (delivered)
    408         → RetryableDeliveryError(TIMEOUT)
    425         → RetryableDeliveryError(CLIENT_ERROR)
    429         → RetryableDeliveryError(RATE_LIMITED)
    5xx         → RetryableDeliveryError(SERVER_ERROR)
    3xx         → PermanentDeliveryError(REDIRECT)       redirects are never followed
    401, 403    → PermanentDeliveryError(AUTH_ERROR)
    410         → EndpointGoneError(GONE)                permanent, and `gone`: disable the notifier
    other 4xx   → PermanentDeliveryError(CLIENT_ERROR)
    other       → RetryableDeliveryError(SERVER_ERROR)   1xx or out of range: a confused server

Every retryable error keeps the response's `Retry-After` (RFC 9110 §10.2.3), in seconds. An
HTTP-date `Retry-After` is counted from the response's own `Date` when it has a valid one: both
are the server's clock, so a sender whose clock is off waits what the server asked, neither
the offset more (a slow clock) nor less (a fast one). Without a `Date`, from the sender's now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import ClassVar

from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)

MAX_RETRY_AFTER_S = 7 * 24 * 3600.0
"""Longer `Retry-After` values are clamped to this; the retry tiers have the last word anyway."""

_RETRYABLE_4XX: dict[int, FailureReason] = {
    HTTPStatus.REQUEST_TIMEOUT: FailureReason.TIMEOUT,
    HTTPStatus.TOO_EARLY: FailureReason.CLIENT_ERROR,
    HTTPStatus.TOO_MANY_REQUESTS: FailureReason.RATE_LIMITED,
}
_AUTH_4XX: frozenset[int] = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})


class EndpointGoneError(PermanentDeliveryError):
    """410 Gone: the receiver says this endpoint will never come back; disable the notifier."""

    gone: ClassVar[bool] = True


def classify_http(
    status: int, headers: Mapping[str, str], *, now: datetime
) -> DeliveryError | None:
    """Classify a response status; None means delivered. Pure.

    Args:
        status: the HTTP status code.
        headers: the response headers; names are matched case-insensitively.
        now: the current time (aware), to turn an HTTP-date `Retry-After` into seconds.

    Returns:
        None for 2xx, else the error to raise (see the module docstring), carrying `status` as
        its `status_code`; never raises.
    """
    error = _classify(status, headers, now)
    if error is not None:
        error.status_code = status
    return error


def _classify(status: int, headers: Mapping[str, str], now: datetime) -> DeliveryError | None:
    if 200 <= status <= 299:
        return None
    detail = _describe(status)
    if 300 <= status <= 399:
        return PermanentDeliveryError(
            FailureReason.REDIRECT, f"{detail} (redirects are not followed)"
        )
    if status in _RETRYABLE_4XX or not 400 <= status <= 499:  # 408/425/429, 5xx, 1xx, garbage
        reason = _RETRYABLE_4XX.get(status, FailureReason.SERVER_ERROR)
        retry_after = parse_retry_after(
            _header(headers, "retry-after"), now=now, date=_header(headers, "date")
        )
        return RetryableDeliveryError(reason, detail, retry_after=retry_after)
    if status in _AUTH_4XX:
        return PermanentDeliveryError(FailureReason.AUTH_ERROR, detail)
    if status == HTTPStatus.GONE:
        return EndpointGoneError(FailureReason.GONE, detail)
    return PermanentDeliveryError(FailureReason.CLIENT_ERROR, detail)


def parse_retry_after(value: str | None, *, now: datetime, date: str | None = None) -> float | None:
    """Read a `Retry-After` value (delay-seconds or HTTP-date) as seconds to wait. Pure.

    An HTTP-date counts from `date` (the response's `Date` header) when that is a valid
    HTTP-date, else from `now`.

    Returns:
        Seconds to wait, at least 0 and at most `MAX_RETRY_AFTER_S`; None when the value is
        missing or malformed. Never raises.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        # 16 digits already exceed the cap; reading no more keeps float() from overflowing.
        return min(float(int(text[:16])), MAX_RETRY_AFTER_S)
    when = _http_date(text)
    if when is None:
        return None
    reference = _http_date(date) if date is not None else None
    if reference is None:
        reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    seconds = (when - reference).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _http_date(text: str) -> datetime | None:
    """An HTTP-date (or any RFC 5322 date) as an aware datetime; None when malformed."""
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with unknown origin (RFC 5322 §3.3)
        when = when.replace(tzinfo=UTC)
    return when


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _describe(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"
