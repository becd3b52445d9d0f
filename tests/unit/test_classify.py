"""classify_http and parse_retry_after (herald_sender.classify)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from herald_core.errors import FailureReason, PermanentDeliveryError, RetryableDeliveryError
from herald_sender.classify import (
    MAX_RETRY_AFTER_S,
    EndpointGoneError,
    classify_http,
    parse_retry_after,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_2xx_is_delivered(status):
    assert classify_http(status, {}, now=NOW) is None


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (408, FailureReason.TIMEOUT),
        (425, FailureReason.CLIENT_ERROR),
        (429, FailureReason.RATE_LIMITED),
        (500, FailureReason.SERVER_ERROR),
        (502, FailureReason.SERVER_ERROR),
        (503, FailureReason.SERVER_ERROR),
        (504, FailureReason.SERVER_ERROR),
        (599, FailureReason.SERVER_ERROR),
        (101, FailureReason.SERVER_ERROR),
        (600, FailureReason.SERVER_ERROR),
        (0, FailureReason.SERVER_ERROR),
    ],
)
def test_retryable(status, reason):
    error = classify_http(status, {}, now=NOW)
    assert isinstance(error, RetryableDeliveryError)
    assert error.retryable
    assert error.reason is reason
    assert error.retry_after is None
    assert str(status) in error.detail


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (300, FailureReason.REDIRECT),
        (301, FailureReason.REDIRECT),
        (302, FailureReason.REDIRECT),
        (307, FailureReason.REDIRECT),
        (308, FailureReason.REDIRECT),
        (401, FailureReason.AUTH_ERROR),
        (403, FailureReason.AUTH_ERROR),
        (400, FailureReason.CLIENT_ERROR),
        (404, FailureReason.CLIENT_ERROR),
        (405, FailureReason.CLIENT_ERROR),
        (413, FailureReason.CLIENT_ERROR),
        (422, FailureReason.CLIENT_ERROR),
        (499, FailureReason.CLIENT_ERROR),
    ],
)
def test_permanent(status, reason):
    error = classify_http(status, {"Retry-After": "30"}, now=NOW)
    assert isinstance(error, PermanentDeliveryError)
    assert not error.retryable
    assert error.reason is reason
    assert not isinstance(error, EndpointGoneError)
    assert not getattr(error, "gone", False)


def test_410_gone_is_permanent_and_flagged():
    error = classify_http(410, {}, now=NOW)
    assert isinstance(error, EndpointGoneError)
    assert isinstance(error, PermanentDeliveryError)
    assert error.gone is True
    assert error.reason is FailureReason.GONE
    assert "410 Gone" in error.detail


def test_redirect_detail_does_not_echo_location():
    error = classify_http(302, {"Location": "https://evil.example/SECRET"}, now=NOW)
    assert error is not None
    assert "SECRET" not in str(error)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "120"}, 120.0),
        (429, {"retry-after": " 7 "}, 7.0),
        (503, {"RETRY-AFTER": "0"}, 0.0),
        (503, {"Retry-After": "Sat, 01 Mar 2025 12:01:30 GMT"}, 90.0),
        (408, {"Retry-After": "5"}, 5.0),
        (425, {"Retry-After": "1"}, 1.0),
        (500, {"Retry-After": "soon"}, None),
        (502, {"Content-Type": "text/plain"}, None),
    ],
)
def test_retry_after_is_kept(status, headers, retry_after):
    error = classify_http(status, headers, now=NOW)
    assert isinstance(error, RetryableDeliveryError)
    assert error.retry_after == retry_after


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        ("  60\t", 60.0),
        ("-5", None),
        ("1.5", None),
        ("1e3", None),
        ("\u0661\u0662", None),  # Arabic-Indic digits pass str.isdigit but are not delay-seconds
        ("9" * 400, MAX_RETRY_AFTER_S),
        (str(10 * 24 * 3600), MAX_RETRY_AFTER_S),
        ("Sat, 01 Mar 2025 12:00:10 GMT", 10.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),  # in the past: retry now
        ("Saturday, 01-Mar-25 12:00:20 GMT", 20.0),  # obsolete RFC 850 form
        ("Sat Mar  1 12:00:30 2025", 30.0),  # obsolete asctime form
        ("Sat, 01 Mar 2025 13:00:00 +0100", 0.0),
        ("Sat, 01 Mar 2025 12:00:45 -0000", 45.0),
        ("Mon, 01 Mar 2100 12:00:00 GMT", MAX_RETRY_AFTER_S),
        ("not a date", None),
        ("Sat, 99 Foo 2025 12:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


def test_parse_retry_after_accepts_any_aware_or_naive_now():
    value = "Sat, 01 Mar 2025 12:00:10 GMT"
    paris = timezone(timedelta(hours=1))
    assert parse_retry_after(value, now=datetime(2025, 3, 1, 13, 0, 0, tzinfo=paris)) == 10.0
    assert parse_retry_after(value, now=datetime(2025, 3, 1, 12, 0, 0)) == 10.0


@pytest.mark.parametrize("offset_s", [-600, 600])
def test_an_http_date_counts_from_the_responses_date_whatever_the_senders_clock(offset_s):
    """The server wrote both dates with its clock: a sender 10 minutes off waits the 3 s asked,
    not 603 s (a slow clock) nor 0 (a fast one)."""
    headers = {
        "Retry-After": "Sat, 01 Mar 2025 12:00:03 GMT",
        "Date": "Sat, 01 Mar 2025 12:00:00 GMT",
    }
    sender_now = NOW + timedelta(seconds=offset_s)
    assert parse_retry_after(headers["Retry-After"], now=sender_now, date=headers["Date"]) == 3.0
    error = classify_http(429, headers, now=sender_now)
    assert isinstance(error, RetryableDeliveryError)
    assert error.retry_after == 3.0


@pytest.mark.parametrize("date", [None, "", "yesterday", "Sat, 99 Foo 2025 12:00:00 GMT"])
def test_without_a_valid_date_an_http_date_counts_from_now(date):
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:10 GMT", now=NOW, date=date) == 10.0


def test_the_responses_date_does_not_change_delay_seconds():
    assert parse_retry_after("30", now=NOW, date="Sat, 01 Mar 2025 11:00:00 GMT") == 30.0


def test_classify_is_pure():
    headers = {"Retry-After": "Sat, 01 Mar 2025 12:01:00 GMT"}
    first = classify_http(503, headers, now=NOW)
    second = classify_http(503, headers, now=NOW)
    assert first is not None
    assert second is not None
    assert (first.reason, first.detail, first.retry_after) == (
        second.reason,
        second.detail,
        second.retry_after,
    )
    assert headers == {"Retry-After": "Sat, 01 Mar 2025 12:01:00 GMT"}


@pytest.mark.parametrize("status", [301, 404, 410, 429, 503, 101])
def test_every_failure_carries_the_receivers_status(status):
    error = classify_http(status, {}, now=NOW)
    assert error is not None
    assert error.status_code == status
