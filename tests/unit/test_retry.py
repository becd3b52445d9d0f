"""next_hop: the retry schedule as a table (docs/architecture.md, docs/contributing.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from herald_core.errors import FailureReason, PermanentDeliveryError, RetryableDeliveryError
from herald_core.retry import (
    DeadLetter,
    RetryHop,
    RetryState,
    RetryTier,
    due_at_ms,
    epoch_ms,
    next_hop,
    retry_tiers_of,
)

NOW = datetime(2026, 3, 12, 16, 0, 0, tzinfo=UTC)
TIERS = retry_tiers_of(["10s", "1m", "10m", "1h", "6h"], [10, 60, 600, 3600, 21600])


def retryable(retry_after=None, reason=FailureReason.SERVER_ERROR):
    return RetryableDeliveryError(reason, "HTTP 503 Service Unavailable", retry_after=retry_after)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "tier", "wait_s"),
    [
        (1, None, "10s", 10),
        (2, None, "1m", 60),
        (3, None, "10m", 600),
        (4, None, "1h", 3600),
        (5, None, "6h", 21600),
        # Retry-After rounds up to the first tier at or after the attempt's own
        (1, 0, "10s", 10),
        (1, 10, "10s", 10),
        (1, 11, "1m", 60),
        (1, 120, "10m", 600),
        (3, 5, "10m", 600),  # never earlier than the attempt's own tier
        (2, 3600, "1h", 3600),
        (1, 21600, "6h", 21600),
        # longer than every tier: the last one, and not before Retry-After
        (1, 86400, "6h", 86400),
        (5, 30000, "6h", 30000),
    ],
)
def test_retryable_errors_hop_to_a_tier(attempt, retry_after, tier, wait_s):
    hop = next_hop(attempt, retryable(retry_after), TIERS, NOW)

    assert isinstance(hop, RetryHop)
    assert hop.tier.name == tier
    assert hop.due_at == NOW + timedelta(seconds=wait_s)


@pytest.mark.parametrize("attempt", [6, 7, 100])
def test_after_the_last_tier_the_delivery_is_exhausted(attempt):
    hop = next_hop(attempt, retryable(retry_after=1), TIERS, NOW)

    assert isinstance(hop, DeadLetter)
    assert hop.reason == FailureReason.EXHAUSTED
    assert f"after {attempt} attempts" in hop.detail
    assert "server_error: HTTP 503" in hop.detail


@pytest.mark.parametrize("attempt", [1, 3, 6])
@pytest.mark.parametrize(
    "reason", [FailureReason.CLIENT_ERROR, FailureReason.AUTH_ERROR, FailureReason.REDIRECT]
)
def test_permanent_errors_are_dead_lettered_with_their_reason(attempt, reason):
    error = PermanentDeliveryError(reason, "HTTP 404 Not Found")

    assert next_hop(attempt, error, TIERS, NOW) == DeadLetter(reason, "HTTP 404 Not Found")


def test_no_tiers_means_no_retry():
    assert next_hop(1, retryable(), (), NOW).reason == FailureReason.EXHAUSTED  # type: ignore[union-attr]


def test_attempts_count_from_one():
    with pytest.raises(ValueError, match="from 1"):
        next_hop(0, retryable(), TIERS, NOW)


@pytest.mark.parametrize(
    ("names", "delays", "message"),
    [
        (["10s", "1m"], [10], "1 delays but the topic file declares 2"),
        (["10s"], [10, 60], "2 delays but the topic file declares 1"),
        (["10s"], [-1], "≥ 0"),
    ],
)
def test_tiers_need_one_delay_per_name(names, delays, message):
    with pytest.raises(ValueError, match=message):
        retry_tiers_of(names, delays)


def test_tiers_pair_names_and_delays():
    assert retry_tiers_of(["a", "b"], [0.2, 1]) == (RetryTier("a", 0.2), RetryTier("b", 1.0))


@pytest.mark.parametrize(
    ("headers", "state"),
    [
        ([], RetryState(0, None, ("here", 1, 7))),
        (
            [
                ("x-attempt", b"3"),
                ("x-first-failed-at", b"2026-03-12T16:00:00+00:00"),
                ("x-original-topic", b"notify.deliveries.webhook"),
                ("x-original-partition", b"2"),
                ("x-original-offset", b"41"),
            ],
            RetryState(3, "2026-03-12T16:00:00+00:00", ("notify.deliveries.webhook", 2, 41)),
        ),
        ([("x-attempt", b"x"), ("x-original-offset", b"4")], RetryState(0, None, ("here", 1, 7))),
    ],
)
def test_retry_state_is_read_from_headers(headers, state):
    assert RetryState.of(headers, ("here", 1, 7)) == state


@pytest.mark.parametrize(
    ("attempt", "retries_from", "read_from", "step"),
    [
        (None, None, 0, 1),  # a first attempt
        (b"3", None, 0, 4),
        (b"6", b"6", 6, 1),  # replayed after six attempts: the schedule starts over
        (b"8", b"6", 6, 3),
        (b"2", b"6", 2, 1),  # never past the attempts made
        (b"3", b"x", 0, 4),  # malformed: the schedule as if never replayed
        (b"3", b"-2", 0, 4),
    ],
)
def test_the_schedule_step_counts_from_where_it_started_over(
    attempt, retries_from, read_from, step
):
    headers = [
        *([("x-attempt", attempt)] if attempt is not None else []),
        *([("x-retries-from", retries_from)] if retries_from is not None else []),
    ]
    state = RetryState.of(headers, ("here", 1, 7))
    assert (state.retries_from, state.step) == (read_from, step)


@pytest.mark.parametrize(
    ("headers", "due"),
    [([], None), ([("x-due-at", b"17")], 17), ([("x-due-at", b"soon")], None)],
)
def test_due_at_header(headers, due):
    assert due_at_ms(headers) == due


def test_epoch_ms_never_rounds_down():
    assert epoch_ms(NOW) == int(NOW.timestamp()) * 1000
    assert epoch_ms(NOW + timedelta(microseconds=1)) == int(NOW.timestamp()) * 1000 + 1
