"""The sender's retry plumbing that needs no broker: the tier record, the dead letter's retry
headers, the retry settings and the start-up check against the topic file's tiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from herald_core import headers as h
from herald_core.headers import header
from herald_core.retry import RetryState, epoch_ms
from herald_core.topics import retry_tiers
from herald_sender.app import SenderService
from herald_sender.outcomes import dead_letter_record, retry_record
from herald_sender.settings import SenderSettings

FAILED_AT = datetime(2026, 3, 12, 16, 0, 0, tzinfo=UTC)
DUE_AT = FAILED_AT + timedelta(seconds=60)
INCOMING = [
    (h.CE_ID, b"evt-1"),
    (h.DELIVERY_ID, b"d-1"),
    (h.ATTEMPT, b"1"),
    (h.DUE_AT, b"1"),
    (h.LAST_ERROR, b"old"),
    (h.FIRST_FAILED_AT, b"2026-03-12T15:59:50+00:00"),
]
FIRST = RetryState(0, None, ("notify.deliveries.webhook", 2, 41))
LATER = RetryState(1, "2026-03-12T15:59:50+00:00", ("notify.deliveries.webhook", 2, 41))


def hop(state=FIRST, original=INCOMING):
    return retry_record(
        b"{}",
        b"n-1",
        original,
        topic="notify.deliveries.webhook.retry.1m",
        attempt=state.attempts + 1,
        due_at=DUE_AT,
        state=state,
        failed_at=FAILED_AT,
        last_error="server_error: HTTP 503 Service Unavailable",
    )


def test_retry_record_goes_to_the_tier_with_value_and_key():
    record = hop()
    assert (record.topic, record.value, record.key) == (
        "notify.deliveries.webhook.retry.1m",
        b"{}",
        b"n-1",
    )


@pytest.mark.parametrize(
    ("state", "key", "value"),
    [
        (FIRST, h.ATTEMPT, "1"),
        (LATER, h.ATTEMPT, "2"),
        (FIRST, h.DUE_AT, str(epoch_ms(DUE_AT))),
        (FIRST, h.FIRST_FAILED_AT, FAILED_AT.isoformat()),
        (LATER, h.FIRST_FAILED_AT, "2026-03-12T15:59:50+00:00"),
        (FIRST, h.LAST_ERROR, "server_error: HTTP 503 Service Unavailable"),
        (FIRST, h.ORIGINAL_TOPIC, "notify.deliveries.webhook"),
        (FIRST, h.ORIGINAL_PARTITION, "2"),
        (FIRST, h.ORIGINAL_OFFSET, "41"),
        (FIRST, h.DELIVERY_ID, "d-1"),
        (FIRST, h.CE_ID, "evt-1"),
    ],
)
def test_retry_record_headers_are_written_once(state, key, value):
    record = hop(state)
    assert [k for k, _ in record.headers].count(key) == 1
    assert header(record.headers, key) == value


def test_dead_letter_carries_the_first_failure_when_given():
    record = dead_letter_record(
        b"{}",
        b"n-1",
        INCOMING,
        channel="webhook",
        reason="exhausted",
        detail="gave up after 6 attempts",
        attempt=6,
        source=LATER.source,
        first_failed_at=LATER.first_failed_at,
    )
    assert header(record.headers, h.FIRST_FAILED_AT) == "2026-03-12T15:59:50+00:00"
    assert header(record.headers, h.DLQ_REASON) == "exhausted"
    assert h.DUE_AT not in dict(record.headers)


def test_retry_settings_default_to_the_topic_files_tiers():
    settings = SenderSettings()
    assert len(settings.retry_delays_s) == len(retry_tiers())
    assert settings.retry_consumer_group == "herald-sender-webhook-retry"


def test_retry_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("HERALD_SENDER_RETRY_DELAYS_S", "[1, 2, 3, 4, 5.5]")
    monkeypatch.setenv("HERALD_SENDER_GROUP_ID", "g")
    settings = SenderSettings()
    assert settings.retry_delays_s == (1, 2, 3, 4, 5.5)
    assert settings.retry_consumer_group == "g-retry"


def test_the_sender_refuses_to_start_with_delays_that_do_not_match_the_tiers():
    with pytest.raises(ValueError, match="retry_delays_s has 2 delays"):
        SenderService(SenderSettings(retry_delays_s=(1, 2)))
