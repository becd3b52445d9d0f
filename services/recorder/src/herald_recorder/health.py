"""Endpoint health: a notifier's streak of failed deliveries, and when it ends in a disable. Pure.

    result ──▶ step(streak, result, policy) ──▶ (new streak, Verdict)
    Verdict(disable=True) ──▶ disable_command(…) ──▶ a DisableNotifier for notify.commands.notifiers

- `delivered` resets the streak; `retry_scheduled` and `dead_lettered` extend it.
- A failure with reason `gone` (the endpoint answered 410) disables at once.
- Otherwise the notifier is disabled once at least `min_failures` failures in a row span at
  least `window` (docs/decisions.md: an endpoint that keeps failing for days).

Results arrive at least once and out of order (they are keyed by delivery id, so one notifier's
results are spread over partitions), hence:

- `reset_at` is the time of the latest success (or disable): any result at or before it is
  stale and changes nothing, so a replayed old failure cannot start a new streak;
- the keys (delivery id, attempt) and times of the latest failures are kept (`RECENT_MAX` of
  them): a duplicate of one of them is not counted twice, and a success that arrives after
  failures that happened later than it keeps exactly those later failures;
- a result whose reason says the notifier was already disabled is not the endpoint's fault,
  and a notifier test counts neither way (its failure is shown to whoever ran it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from herald_core.deliveries import AttemptOutcome, DeliveryResult
from herald_core.errors import FailureReason
from herald_core.markers import TEST_DETAIL_PREFIX, TEST_EVENT_SOURCE
from herald_core.notifier_commands import DisableNotifier

RECENT_MAX = 64  # failures remembered per notifier, for duplicates and out-of-order successes

# Failures that say nothing about the endpoint.
NOT_THE_ENDPOINT = frozenset({FailureReason.NOTIFIER_DISABLED.value})
# A notifier test's result says so (`DeliveryResult.test`); results written before that field
# existed are recognised by the sample event's source and the sender's detail of a failed test
# (both shared markers, `herald_core.markers`).


@dataclass(frozen=True)
class Mark:
    """One counted failure: its (delivery id, attempt) key and its time."""

    key: str
    at: datetime


@dataclass(frozen=True)
class Streak:
    """A notifier's failures since its latest success; the empty streak is a healthy notifier."""

    consecutive_failures: int = 0
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    reset_at: datetime | None = None
    recent: tuple[Mark, ...] = ()  # oldest first, at most RECENT_MAX


@dataclass(frozen=True)
class Policy:
    window: timedelta
    min_failures: int


class Change(StrEnum):
    """What a result did to the streak (a log field, and the unit tests' handle)."""

    FAILED = "failed"
    RESET = "reset"
    STALE = "stale"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Verdict:
    change: Change
    disable: bool = False
    reason: str | None = None  # why to disable: "gone", or the failing endpoint's latest reason


def result_key(result: DeliveryResult) -> str:
    return f"{result.delivery_id}:{result.attempt}"


def is_test(result: DeliveryResult) -> bool:
    """Whether `result` is a notifier test's (POST …/notifiers/{id}/test). Pure."""
    if result.test:
        return True
    if result.delivery is not None and result.delivery.event.source == TEST_EVENT_SOURCE:
        return True
    return (result.detail or "").startswith(TEST_DETAIL_PREFIX)


def step(streak: Streak, result: DeliveryResult, policy: Policy) -> tuple[Streak, Verdict]:
    """The streak after `result`, and whether the notifier is to be disabled now. Pure."""
    if is_test(result) or (
        result.outcome is not AttemptOutcome.DELIVERED and result.reason in NOT_THE_ENDPOINT
    ):
        return streak, Verdict(Change.IGNORED)
    if streak.reset_at is not None and result.at <= streak.reset_at:
        return streak, Verdict(Change.STALE)
    if result.outcome is AttemptOutcome.DELIVERED:
        return _succeeded(streak, result.at), Verdict(Change.RESET)
    key = result_key(result)
    if any(mark.key == key for mark in streak.recent):
        return streak, Verdict(Change.DUPLICATE)
    failed = _failed(streak, Mark(key, result.at))
    return failed, _verdict(failed, result, policy)


def _succeeded(streak: Streak, at: datetime) -> Streak:
    later = tuple(mark for mark in streak.recent if mark.at > at)
    if not later:
        return Streak(reset_at=at)
    # Failures that happened after this (late) success: they stay a streak of their own. When
    # every remembered failure is later, older ones may have been forgotten: count what we know.
    return Streak(
        consecutive_failures=len(later),
        first_failure_at=later[0].at,
        last_failure_at=streak.last_failure_at,
        reset_at=at,
        recent=later,
    )


def _failed(streak: Streak, mark: Mark) -> Streak:
    recent = tuple(sorted((*streak.recent, mark), key=lambda m: m.at))[-RECENT_MAX:]
    first, last = streak.first_failure_at, streak.last_failure_at
    return replace(
        streak,
        consecutive_failures=streak.consecutive_failures + 1,
        first_failure_at=mark.at if first is None else min(first, mark.at),
        last_failure_at=mark.at if last is None else max(last, mark.at),
        recent=recent,
    )


def _verdict(streak: Streak, result: DeliveryResult, policy: Policy) -> Verdict:
    if result.reason == FailureReason.GONE.value:
        return Verdict(Change.FAILED, disable=True, reason=FailureReason.GONE.value)
    assert streak.first_failure_at is not None
    assert streak.last_failure_at is not None
    spans = streak.last_failure_at - streak.first_failure_at >= policy.window
    if spans and streak.consecutive_failures >= policy.min_failures:
        return Verdict(Change.FAILED, disable=True, reason=result.reason or "failing")
    return Verdict(Change.FAILED)


def disabled(streak: Streak) -> Streak:
    """The streak once its notifier is disabled: a fresh start after its latest failure. Pure.

    Results of attempts made before the disable (retries in flight) are then stale, so
    re-enabling the notifier does not disable it again on the strength of old failures.
    """
    return Streak(reset_at=streak.last_failure_at or streak.reset_at)


def disable_command(
    notifier_id: str, streak: Streak, verdict: Verdict, now: datetime
) -> DisableNotifier:
    """The record that tells the api to disable `notifier_id`, from its streak. Pure."""
    return DisableNotifier(
        notifier_id=notifier_id,
        reason=verdict.reason or "failing",
        failing_since=streak.first_failure_at,
        consecutive_failures=streak.consecutive_failures,
        decided_at=now,
    )
