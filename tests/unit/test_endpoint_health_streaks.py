"""The endpoint health state machine (herald_recorder.health), and the API's disable event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_api.native.notifier_health_api import disabled_event
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.envelope import Event
from herald_core.markers import TEST_EVENT_SOURCE
from herald_core.notifier_commands import DisableNotifier, DisableSkip, disable_skip
from herald_core.notifiers import Notifier
from herald_core.topics import Channel
from herald_recorder.health import (
    RECENT_MAX,
    Change,
    Policy,
    Streak,
    Verdict,
    disable_command,
    disabled,
    step,
)
from herald_recorder.settings import RecorderSettings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(window=timedelta(days=5), min_failures=3)
FAIL, OK = AttemptOutcome.RETRY_SCHEDULED, AttemptOutcome.DELIVERED


def result(
    n: int, outcome: AttemptOutcome = FAIL, *, hours: float | None = None, **changes: Any
) -> DeliveryResult:
    """Result of delivery `d-n`, at T0 + `hours` (default: n hours)."""
    fields: dict[str, Any] = {
        "delivery_id": f"d-{n}",
        "event_id": f"e-{n}",
        "event_type": "app_deployed",
        "notifier_id": "no-1",
        "channel": Channel.WEBHOOK,
        "outcome": outcome,
        "reason": None if outcome is OK else "server_error",
        "duration_ms": 5.0,
        "at": T0 + timedelta(hours=n if hours is None else hours),
        **changes,
    }
    return DeliveryResult(**fields)


def run(
    results: list[DeliveryResult], policy: Policy = POLICY, streak: Streak | None = None
) -> tuple[Streak, list[Verdict]]:
    current, verdicts = streak or Streak(), []
    for r in results:
        current, verdict = step(current, r, policy)
        verdicts.append(verdict)
    return current, verdicts


DAY = 24.0


@pytest.mark.parametrize(
    ("hours", "outcomes", "disables"),
    [
        ((0, 2 * DAY, 5 * DAY), (FAIL, FAIL, FAIL), [False, False, True]),
        ((0, 2 * DAY, 4 * DAY), (FAIL, FAIL, FAIL), [False, False, False]),  # window not spanned
        ((0, 5 * DAY), (FAIL, FAIL), [False, False]),  # too few failures
        ((0, 1, 5 * DAY, 6 * DAY), (FAIL, FAIL, FAIL, FAIL), [False, False, True, True]),
        ((0, 2 * DAY, 3 * DAY, 5 * DAY), (FAIL, FAIL, OK, FAIL), [False] * 4),  # success resets
        (
            (0, 1, 2, 3),
            (FAIL, AttemptOutcome.DEAD_LETTERED, FAIL, FAIL),
            [False] * 4,
        ),
    ],
)
def test_disable_after_min_failures_spanning_the_window(
    hours: tuple[float, ...], outcomes: tuple[AttemptOutcome, ...], disables: list[bool]
) -> None:
    results = [result(i, o, hours=h) for i, (h, o) in enumerate(zip(hours, outcomes, strict=True))]
    _, verdicts = run(results)
    assert [v.disable for v in verdicts] == disables


def test_streak_fields_and_reason() -> None:
    streak, verdicts = run([result(1, hours=0), result(2, hours=60), result(3, hours=120)])
    assert streak.consecutive_failures == 3
    assert (streak.first_failure_at, streak.last_failure_at) == (T0, T0 + timedelta(hours=120))
    assert verdicts[-1] == Verdict(Change.FAILED, disable=True, reason="server_error")


def test_gone_disables_at_once() -> None:
    gone = result(1, AttemptOutcome.DEAD_LETTERED, reason="gone", status_code=410)
    streak, verdict = step(Streak(), gone, POLICY)
    assert verdict == Verdict(Change.FAILED, disable=True, reason="gone")
    assert streak.consecutive_failures == 1


def test_a_success_resets_and_older_results_are_stale() -> None:
    streak, verdicts = run([result(1), result(2), result(5, OK)])
    assert streak == Streak(reset_at=T0 + timedelta(hours=5))
    assert verdicts[-1].change is Change.RESET
    # A failure from before the success, arriving late (another partition), changes nothing.
    late, verdict = step(streak, result(3), POLICY)
    assert (late, verdict.change) == (streak, Change.STALE)
    # An older success too.
    assert step(streak, result(4, OK), POLICY) == (streak, Verdict(Change.STALE))


def test_duplicates_count_once() -> None:
    once, _ = run([result(1), result(2, hours=2 * DAY)])
    twice, verdicts = run(
        [result(1), result(2, hours=2 * DAY), result(1), result(2, hours=2 * DAY)]
    )
    assert twice == once
    assert [v.change for v in verdicts[2:]] == [Change.DUPLICATE, Change.DUPLICATE]
    # The same delivery's next attempt is another failure.
    again, _ = run([result(1), result(1, attempt=2, hours=3)])
    assert again.consecutive_failures == 2


def test_a_duplicate_cannot_reach_min_failures() -> None:
    repeated = [result(1, hours=0), result(2, hours=6 * DAY)] * 5
    streak, verdicts = run(repeated)
    assert streak.consecutive_failures == 2
    assert not any(v.disable for v in verdicts)


def test_out_of_order_failures_widen_the_streak() -> None:
    streak, verdicts = run([result(3, hours=5 * DAY), result(1, hours=0), result(2, hours=DAY)])
    assert (streak.first_failure_at, streak.last_failure_at) == (T0, T0 + timedelta(days=5))
    assert [m.key for m in streak.recent] == ["d-1:1", "d-2:1", "d-3:1"]
    assert verdicts[-1].disable, "three failures now span the window, whatever their order"


def test_a_late_success_keeps_only_the_failures_after_it() -> None:
    # Failures at 0h, 10h and 20h; then a success made at 5h arrives (another partition).
    streak, _ = run([result(1, hours=0), result(2, hours=10), result(3, hours=20)])
    streak, verdict = step(streak, result(4, OK, hours=5), POLICY)
    assert verdict.change is Change.RESET
    assert streak.consecutive_failures == 2
    assert streak.first_failure_at == T0 + timedelta(hours=10)
    assert streak.last_failure_at == T0 + timedelta(hours=20)
    assert streak.reset_at == T0 + timedelta(hours=5)
    # A success older than the whole streak was already superseded: only reset_at moves.
    early, _ = step(
        Streak(consecutive_failures=1, first_failure_at=T0, last_failure_at=T0, reset_at=None),
        result(9, OK, hours=-1),
        POLICY,
    )
    assert early.consecutive_failures == 0, "no failure remembered after it: a plain reset"


def test_results_that_are_not_the_endpoints_fault_are_ignored() -> None:
    blocked = result(1, AttemptOutcome.DEAD_LETTERED, reason="notifier_disabled")
    assert step(Streak(), blocked, POLICY) == (Streak(), Verdict(Change.IGNORED))


def test_notifier_tests_count_neither_way() -> None:
    flagged = result(1, AttemptOutcome.DEAD_LETTERED, test=True)
    assert step(Streak(), flagged, POLICY) == (Streak(), Verdict(Change.IGNORED))
    # results written before `DeliveryResult.test` existed are recognised too
    failed_test = result(1, AttemptOutcome.DEAD_LETTERED, detail="test delivery, not retried: 503")
    assert step(Streak(), failed_test, POLICY) == (Streak(), Verdict(Change.IGNORED))
    streak, _ = run([result(1), result(2)])
    event = Event(
        id="e-t",
        type="app_deployed",
        created_at=T0,
        source=TEST_EVENT_SOURCE,
        app_id="app-1",
        type_data={},
    )
    notifier = Notifier(id="no-1", app_id="app-1", platform=Channel.WEBHOOK)
    delivery = Delivery.for_(event, notifier, T0)
    passed_test = result(3, OK, delivery=delivery)
    assert step(streak, passed_test, POLICY) == (streak, Verdict(Change.IGNORED))


def test_recent_failures_are_bounded() -> None:
    streak, _ = run([result(i, hours=i / 100) for i in range(RECENT_MAX + 10)])
    assert len(streak.recent) == RECENT_MAX
    assert streak.consecutive_failures == RECENT_MAX + 10
    assert streak.recent[0].key == "d-10:1", "the oldest are forgotten"


def test_disabled_starts_afresh_after_the_last_failure() -> None:
    streak, _ = run([result(1, hours=0), result(2, hours=5 * DAY), result(3, hours=6 * DAY)])
    fresh = disabled(streak)
    assert fresh == Streak(reset_at=T0 + timedelta(days=6))
    # Retries already in flight when it was disabled are stale, not a new streak.
    assert step(fresh, result(4, hours=3 * DAY), POLICY)[1].change is Change.STALE
    assert disabled(Streak()) == Streak()


def test_settings_defaults() -> None:
    settings = RecorderSettings()
    assert settings.health_window_s == 5 * 86_400
    assert settings.health_min_failures == 3
    assert not hasattr(settings, "api_url"), "the recorder never calls the api"


def test_disable_event_carries_the_streak() -> None:
    notifier = Notifier(
        id="no-1", name="hooks", app_id="app-1", owner_id="org-1", platform=Channel.WEBHOOK
    )
    why = DisableNotifier(
        notifier_id="no-1", reason="gone", failing_since=T0, consecutive_failures=4, decided_at=T0
    )
    event = disabled_event(notifier, why, now=T0, app=("my-app", "org-2"))
    assert (event.type, event.app_id, event.owner_id, event.app_name) == (
        "notifier_disabled",
        "app-1",
        "org-2",
        "my-app",
    )
    data = event.type_data
    assert data["notifier_id"] == "no-1"
    assert data["notifier_name"] == "hooks"
    assert data["reason"] == "gone"
    assert data["consecutive_failures"] == 4
    assert str(data["failing_since"]).startswith("2026-03-01")


def test_a_disable_verdict_becomes_a_command_keyed_by_the_notifier() -> None:
    streak, verdicts = run([result(1, hours=0), result(2, hours=3 * DAY), result(3, hours=6 * DAY)])
    verdict = verdicts[-1]
    assert verdict.disable
    decided = T0 + timedelta(days=6, minutes=1)
    command = disable_command("no-1", streak, verdict, decided)
    assert command == DisableNotifier(
        notifier_id="no-1",
        reason="server_error",
        failing_since=T0,
        consecutive_failures=3,
        decided_at=decided,
    )
    assert command.key == b"no-1"
    assert DisableNotifier.model_validate_json(command.to_json()) == command
    assert command.decided_by == "recorder"


def test_gone_reads_as_the_reason_and_an_unnamed_failure_as_failing() -> None:
    gone = Verdict(Change.FAILED, disable=True, reason="gone")
    assert disable_command("no-1", Streak(), gone, T0).reason == "gone"
    unnamed = Verdict(Change.FAILED, disable=True)
    assert disable_command("no-1", Streak(), unnamed, T0).reason == "failing"


@pytest.mark.parametrize(
    ("current", "skip"),
    [
        (None, DisableSkip.UNKNOWN),
        ({"active": False}, DisableSkip.ALREADY_INACTIVE),
        ({"updated_at": T0 + timedelta(seconds=1)}, DisableSkip.CHANGED_SINCE),
        ({"updated_at": T0}, None),
        ({"updated_at": T0 - timedelta(days=1)}, None),
        ({}, None),
    ],
    ids=["unknown", "inactive", "changed-after", "changed-at", "changed-before", "never-changed"],
)
def test_disable_skip(current: dict[str, Any] | None, skip: DisableSkip | None) -> None:
    command = DisableNotifier(notifier_id="no-1", reason="gone", decided_at=T0)
    notifier = (
        None
        if current is None
        else Notifier(id="no-1", app_id="app-1", platform=Channel.WEBHOOK, **current)
    )
    assert disable_skip(command, notifier) is skip


def test_a_command_without_an_aware_decision_time_is_refused() -> None:
    with pytest.raises(ValueError, match="decided_at"):
        DisableNotifier.model_validate_json(b'{"notifier_id": "no-1", "reason": "gone"}')
    with pytest.raises(ValueError, match="timezone"):
        DisableNotifier.model_validate(
            {"notifier_id": "no-1", "reason": "gone", "decided_at": "2026-03-01T12:00:00"}
        )
