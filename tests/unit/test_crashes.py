"""The crash-counting rule of services/derive (docs/derive.md), table-driven on `evaluate`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.topics import EVENTS, load_topic_file
from herald_derive.crashes import (
    HISTORY,
    CrashState,
    Position,
    crashed_event_id,
    evaluate,
    is_replay,
    is_reset,
)
from herald_derive.settings import DeriveSettings

APP = "app-1"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def ev(kind: str, minute: float, *, event_id: str | None = None, **type_data: Any) -> Event:
    """A canonical event of APP, `minute` minutes after T0 (id derived from kind and minute)."""
    return parse_event(
        {
            "id": event_id or f"{kind}@{float(minute):g}",
            "type": kind,
            "created_at": (T0 + timedelta(minutes=minute)).isoformat(),
            "source": "platform",
            "app_id": APP,
            "app_name": "my-app",
            "owner_id": "owner-1",
            "user": {"id": "u1", "username": "johndoe"},
            "type_data": type_data,
        }
    )


def crash(minute: float, event_id: str | None = None) -> Event:
    return ev("app_crashed_repeated", minute, event_id=event_id, container_type="web", exit_code=1)


def deployed(minute: float, status: str = "success") -> Event:
    return ev("app_deployed", minute, status=status, deployment_id="d-1")


def restarted(minute: float) -> Event:
    return ev("app_restarted", minute)


def run(events: list[Event], **options: Any) -> tuple[CrashState | None, list[Event]]:
    """Fold `events` from no state; returns the final state and every emitted event."""
    state: CrashState | None = None
    emitted: list[Event] = []
    for event in events:
        state, out = evaluate(state, event, **options)
        emitted.extend(out)
    return state, emitted


def counts(emitted: list[Event]) -> list[tuple[int, str]]:
    return [(e.type_data["crash_count"], e.type_data["crash_event_id"]) for e in emitted]


def crashes(first: int, last: int, *, every: float = 1.0) -> list[Event]:
    return [crash(n * every) for n in range(first, last + 1)]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param(crashes(1, 1), [], id="one crash: nothing"),
        pytest.param(crashes(1, 2), [(2, "app_crashed_repeated@2")], id="the 2nd"),
        pytest.param(
            crashes(1, 13),
            [
                (2, "app_crashed_repeated@2"),
                (5, "app_crashed_repeated@5"),
                (12, "app_crashed_repeated@12"),
            ],
            id="2nd 5th 12th, not 13th",
        ),
        pytest.param(
            crashes(5, 20),
            [
                (2, "app_crashed_repeated@6"),
                (5, "app_crashed_repeated@9"),
                (12, "app_crashed_repeated@16"),
            ],
            id="counts from the app's first crash seen",
        ),
    ],
)
def test_emits_on_the_thresholds_only(events: list[Event], expected: list[tuple[int, str]]) -> None:
    _, emitted = run(events)
    assert counts(emitted) == expected


def test_emits_exactly_on_2_5_12_over_a_long_streak() -> None:
    state, emitted = run(crashes(1, 30))
    assert [e.type_data["crash_count"] for e in emitted] == [2, 5, 12]
    assert state is not None
    assert state.count == 30


@pytest.mark.parametrize(
    ("reset", "resets"),
    [
        pytest.param(deployed(3.5), True, id="successful deployment"),
        pytest.param(restarted(3.5), True, id="restart"),
        pytest.param(deployed(3.5, status="crashed-error"), False, id="failed deployment"),
        pytest.param(deployed(3.5, status="build-error"), False, id="failed build"),
        pytest.param(ev("app_scaled", 3.5), False, id="scale"),
        pytest.param(ev("app_crashed", 3.5, crash_count=2), False, id="app_crashed itself"),
    ],
)
def test_what_ends_a_streak(reset: Event, resets: bool) -> None:
    state, emitted = run([*crashes(1, 3), reset, *crashes(4, 6)])
    assert state is not None
    if resets:
        assert counts(emitted) == [(2, "app_crashed_repeated@2"), (2, "app_crashed_repeated@5")]
        assert (state.count, state.reset_at) == (3, reset.created_at)
    else:
        assert [c for c, _ in counts(emitted)] == [2, 5]
        assert (state.count, state.reset_at) == (6, None)


def test_convox_promotion_resets_through_its_alias() -> None:
    promoted = ev("app:promote:completed", 3.5)
    assert is_reset(promoted)
    assert not is_reset(ev("app:promote:errored", 3.5))
    state, _ = run([*crashes(1, 3), promoted])
    assert state is not None
    assert state.count == 0


@pytest.mark.parametrize(
    ("gap", "count_after"),
    [
        pytest.param(timedelta(hours=23, minutes=59), 4, id="just inside: same streak"),
        pytest.param(timedelta(hours=24), 1, id="exactly the quiet period: new streak"),
        pytest.param(timedelta(days=3), 1, id="long after: new streak"),
    ],
)
def test_quiet_period_since_the_last_crash(gap: timedelta, count_after: int) -> None:
    late = crash((timedelta(minutes=3) + gap).total_seconds() / 60)
    state, emitted = run([*crashes(1, 3), late])
    assert state is not None
    assert state.count == count_after
    assert [c for c, _ in counts(emitted)] == [2]


def test_quiet_period_is_measured_from_the_latest_crash_not_the_first() -> None:
    hourly = [crash(n * 60) for n in range(1, 30)]  # one crash an hour for 29 hours
    state, emitted = run(hourly)
    assert state is not None
    assert state.count == 29
    assert [c for c, _ in counts(emitted)] == [2, 5, 12]


def test_new_streak_after_the_quiet_period_emits_again() -> None:
    next_day = [crash(n + 3 * 24 * 60) for n in range(1, 3)]
    _, emitted = run([*crashes(1, 2), *next_day])
    assert [c for c, _ in counts(emitted)] == [2, 2]


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        pytest.param((3,), [3], id="one threshold"),
        pytest.param((1, 10), [1, 10], id="first crash counts"),
        pytest.param((2, 5, 12, 20), [2, 5, 12, 20], id="one more"),
    ],
)
def test_custom_thresholds(thresholds: tuple[int, ...], expected: list[int]) -> None:
    _, emitted = run(crashes(1, 25), thresholds=thresholds)
    assert [c for c, _ in counts(emitted)] == expected


def test_custom_quiet_period() -> None:
    state, _ = run(crashes(1, 3, every=10), quiet_period=timedelta(minutes=5))
    assert state is not None
    assert state.count == 1


def test_a_redelivered_crash_is_not_counted_twice() -> None:
    first, second = crash(1), crash(2)
    state, emitted = run([first, second, second, first, crash(3), second])
    assert state is not None
    assert state.count == 3
    assert counts(emitted) == [(2, "app_crashed_repeated@2")]


def test_a_redelivery_returns_the_same_state_object() -> None:
    state, _ = evaluate(None, crash(1))
    again, emitted = evaluate(state, crash(1))
    assert again is state
    assert emitted == []


def test_a_redelivered_reset_changes_nothing() -> None:
    reset = restarted(3.5)
    state, _ = run([*crashes(1, 3), reset, crash(4)])
    again, emitted = evaluate(state, reset)
    assert again is state
    assert emitted == []


def test_redeliveries_are_recognised_within_the_history() -> None:
    state, _ = run(crashes(1, HISTORY + 5))
    assert state is not None
    assert len(state.recent_event_ids) == HISTORY
    assert evaluate(state, crash(HISTORY + 5))[0] is state
    assert evaluate(state, crash(6))[0] is state


def fold_read(
    events: list[Event], state: CrashState | None = None, *, partition: int = 3, first: int = 100
) -> tuple[CrashState | None, list[Event]]:
    """Fold `events` as read from one partition, from offset `first` on."""
    emitted: list[Event] = []
    for offset, event in enumerate(events, start=first):
        state, out = evaluate(state, event, position=Position(partition, offset))
        emitted.extend(out)
    return state, emitted


def test_a_replay_longer_than_the_id_history_is_recognised_by_offset() -> None:
    # A worker applied 3 x HISTORY crashes and was killed before committing; the worker that
    # takes its partition over reads them all again from the same offsets.
    stream = crashes(1, 3 * HISTORY)
    state, emitted = fold_read(stream)
    replayed, again = fold_read(stream, state)
    assert replayed is state
    assert again == []
    assert state is not None
    assert (state.count, state.applied_partition, state.applied_offset) == (
        3 * HISTORY,
        3,
        100 + 3 * HISTORY - 1,
    )
    assert counts(emitted) == [(n, f"app_crashed_repeated@{n}") for n in (2, 5, 12)]


def test_a_replay_then_new_records_go_on_counting() -> None:
    state, _ = fold_read(crashes(1, 40))  # offsets 100..139
    # the replay starts at the last commit (offset 110) and goes on past what was applied
    state, emitted = fold_read(crashes(11, 45), state, first=110)
    assert state is not None
    assert state.count == 45
    assert state.applied_offset == 144
    assert emitted == []


def test_the_stored_offset_is_that_of_the_latest_record_that_changed_the_state() -> None:
    state, _ = fold_read([crash(1), ev("app_scaled", 2), crash(3)])
    assert state is not None
    assert state.applied_offset == 102
    unchanged, _ = evaluate(state, ev("app_scaled", 4), position=Position(3, 103))
    assert unchanged is state


@pytest.mark.parametrize(
    ("position", "replay"),
    [
        (Position(3, 99), True),
        (Position(3, 100), True),
        (Position(3, 101), False),
        (Position(4, 50), False),  # another partition: offsets are not comparable
        (None, False),
    ],
)
def test_is_replay(position: Position | None, replay: bool) -> None:
    state = CrashState(count=1, applied_partition=3, applied_offset=100)
    assert is_replay(state, position) is replay
    assert is_replay(None, position) is False


def test_a_state_stored_before_offsets_were_kept_still_parses() -> None:
    old = CrashState(count=2, last_event_id="e").model_dump_json(
        exclude={"applied_partition", "applied_offset"}
    )
    state = CrashState.model_validate_json(old)
    assert (state.count, state.applied_offset) == (2, None)
    assert not is_replay(state, Position(0, 1))


@pytest.mark.parametrize(
    ("events", "count", "emitted"),
    [
        pytest.param(
            [crash(1), crash(3), crash(2)], 3, [2], id="a late crash counts in the streak"
        ),
        pytest.param(
            [crash(1), crash(2), restarted(5), crash(4)], 0, [2], id="crash before a reset: stale"
        ),
        pytest.param(
            [crash(1), crash(2), restarted(5), restarted(4), crash(6)],
            1,
            [2],
            id="an older reset than the last one: ignored",
        ),
        pytest.param(
            [crash(1), crash(2), crash(6), crash(7), deployed(5)],
            2,
            [2],
            id="a late reset keeps the crashes after it",
        ),
        pytest.param(
            [crash(1), crash(2), crash(3), deployed(5), crash(4)],
            0,
            [2],
            id="a crash before the reset, arriving after it: ignored",
        ),
    ],
)
def test_out_of_order_created_at(events: list[Event], count: int, emitted: list[int]) -> None:
    state, out = run(events)
    assert state is not None
    assert state.count == count
    assert [c for c, _ in counts(out)] == emitted


def test_first_and_last_crash_times_follow_created_at_not_arrival() -> None:
    state, _ = run([crash(5), crash(3), crash(4)])
    assert state is not None
    assert (state.first_crash_at, state.last_crash_at) == (
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=5),
    )
    assert state.crash_times == tuple(T0 + timedelta(minutes=m) for m in (3, 4, 5))


def test_events_without_crash_history_leave_no_state() -> None:
    assert run([deployed(1), restarted(2), ev("app_scaled", 3)]) == (None, [])


def test_events_of_other_kinds_leave_the_state_unchanged() -> None:
    state, _ = run(crashes(1, 2))
    for other in (ev("app_scaled", 9), ev("app_crashed", 9, crash_count=2), deployed(9, "aborted")):
        assert evaluate(state, other) == (state, [])


def test_an_owner_event_without_app_is_ignored() -> None:
    owner_crash = crash(1).model_copy(update={"app_id": None})
    assert evaluate(None, owner_crash) == (None, [])


def test_the_emitted_event_validates_and_carries_the_crash() -> None:
    trigger = crash(2)
    _, [emitted] = run([crash(1), trigger])

    assert parse_event(emitted.to_json()) == emitted
    assert emitted.id == crashed_event_id(APP, trigger.id)
    assert emitted.type == "app_crashed"
    assert emitted.source == "derive"
    assert emitted.created_at == trigger.created_at
    assert (emitted.app_id, emitted.app_name, emitted.owner_id, emitted.user) == (
        trigger.app_id,
        trigger.app_name,
        trigger.owner_id,
        trigger.user,
    )
    assert emitted.type_data == {
        "container_type": "web",
        "exit_code": 1,
        "crash_count": 2,
        "first_crash_at": (T0 + timedelta(minutes=1)).isoformat(),
        "crash_event_id": trigger.id,
    }


def test_the_emitted_id_is_deterministic() -> None:
    _, first = run(crashes(1, 2))
    _, again = run(crashes(1, 2))
    assert [e.id for e in first] == [e.id for e in again]
    assert crashed_event_id(APP, "c-1") != crashed_event_id(APP, "c-2")
    assert crashed_event_id(APP, "c-1") != crashed_event_id("app-2", "c-1")


def test_the_state_survives_its_json_form() -> None:
    state, _ = run([*crashes(1, 3), restarted(3.5), crash(4)])
    assert state is not None
    assert CrashState.model_validate_json(state.model_dump_json()) == state


def test_settings_defaults_and_validation() -> None:
    settings = DeriveSettings()
    assert settings.thresholds == (2, 5, 12)
    assert settings.quiet_period == timedelta(hours=24)
    assert settings.app_id == "herald-derive"
    assert settings.table_partitions == 6
    assert DeriveSettings(thresholds=(12, 2, 5, 5)).thresholds == (2, 5, 12)
    with pytest.raises(ValueError, match="thresholds"):
        DeriveSettings(thresholds=(0, 2))
    with pytest.raises(ValueError, match="quiet_period"):
        DeriveSettings(quiet_period=timedelta(0))


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERALD_DERIVE_THRESHOLDS", "[3, 7]")
    monkeypatch.setenv("HERALD_DERIVE_QUIET_PERIOD", "PT6H")
    monkeypatch.setenv("HERALD_DERIVE_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
    settings = DeriveSettings()
    assert settings.thresholds == (3, 7)
    assert settings.quiet_period == timedelta(hours=6)
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.kafka.client_id == "herald-derive"


def test_the_topic_file_declares_the_changelog_faust_needs() -> None:
    """The broker auto-creates nothing and faust is told to declare nothing (docs/derive.md)."""
    settings = DeriveSettings()
    specs = {s.name: s for s in load_topic_file()}
    changelog = specs[settings.changelog_topic]
    assert changelog.config["cleanup.policy"] == "compact"
    assert changelog.partitions == specs[EVENTS].partitions == settings.table_partitions
