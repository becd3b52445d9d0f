"""The alerter's pure evaluation (services/alerter evaluate.py) over synthetic metric series."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_alerter.evaluate import (
    RESOLVED,
    TRIGGERED,
    AlertState,
    Point,
    Verdict,
    alert_event_id,
    dropped_rules,
    evaluate,
    needs_checkpoint,
    outlived,
    parse_point,
    rules_for,
)
from herald_alerter.settings import AlerterSettings
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.catalog import answers_to
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.topics import load_topic_file
from pydantic import ValidationError

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
APP = "app-1"


def rule(**changes: Any) -> AlertRule:
    fields: dict[str, Any] = {
        "id": "al-1",
        "app_id": APP,
        "metric": Metric.CPU,
        "limit": 80.0,
        "duration_before_trigger_s": 120,
        "notifier_ids": ("n-mail", "n-hook"),
        **changes,
    }
    return AlertRule(**fields)


def alerts(*rules: AlertRule) -> AppAlerts:
    return AppAlerts(app_id=APP, owner_id="owner-1", app_name="shop", alerts=rules)


def point(second: float, value: float, **changes: Any) -> MetricPoint:
    fields: dict[str, Any] = {
        "app_id": APP,
        "metric": Metric.CPU,
        "value": value,
        "at": T0 + timedelta(seconds=second),
        **changes,
    }
    return MetricPoint(**fields)


def run(
    series: Iterable[tuple[float, float]], the_rule: AlertRule | None = None
) -> tuple[AlertState | None, list[tuple[float, Verdict]], list[Event]]:
    """Fold (second, value) points in order; returns the state, verdicts and every event."""
    r = the_rule or rule()
    app = alerts(r)
    state: AlertState | None = None
    verdicts, events = [], []
    for second, value in series:
        result = evaluate(state, point(second, value), r, app)
        state = result.state
        verdicts.append((second, result.verdict))
        events.extend(result.events)
    return state, verdicts, events


def kinds(events: list[Event]) -> list[tuple[str, float]]:
    """(type, seconds after T0) of each event."""
    return [(e.type, (e.created_at - T0).total_seconds()) for e in events]


def test_fires_once_the_value_stayed_beyond_the_limit_for_the_duration() -> None:
    state, verdicts, events = run([(0, 90), (60, 95), (119, 91), (120, 92), (180, 99)])
    assert [v for _, v in verdicts] == [
        Verdict.PENDING,
        Verdict.PENDING,
        Verdict.PENDING,
        Verdict.FIRED,
        Verdict.FIRING,
    ]
    assert kinds(events) == [(TRIGGERED, 120)]
    assert state is not None
    assert state.since == T0
    assert state.fired_at == T0 + timedelta(seconds=120)


def test_not_before_the_duration() -> None:
    _, _, events = run([(0, 90), (60, 95), (119.9, 91)])
    assert events == []


def test_zero_duration_fires_on_the_first_point_beyond() -> None:
    _, _, events = run([(0, 50), (10, 81)], rule(duration_before_trigger_s=0))
    assert kinds(events) == [(TRIGGERED, 10)]


def test_equal_to_the_limit_is_within() -> None:
    _, verdicts, events = run([(0, 80), (500, 80)], rule(duration_before_trigger_s=0))
    assert events == []
    assert {v for _, v in verdicts} == {Verdict.WITHIN}


def test_flapping_restarts_the_clock_and_never_fires() -> None:
    series = [(t, 90 if (t // 60) % 2 == 0 else 70) for t in range(0, 1200, 60)]
    _, verdicts, events = run(series)
    assert events == []
    assert Verdict.PENDING in {v for _, v in verdicts}


def test_flapping_then_staying_beyond_fires_from_the_last_crossing() -> None:
    _, _, events = run([(0, 90), (60, 70), (100, 90), (200, 90), (220, 90)])
    assert kinds(events) == [(TRIGGERED, 220)]
    assert events[0].type_data["since"] == (T0 + timedelta(seconds=100)).isoformat()


def test_below_threshold_rules_fire_below_and_resolve_above() -> None:
    below = rule(metric=Metric.RPM, limit=10, send_when_below=True, duration_before_trigger_s=60)
    series = [(0, 20), (10, 5), (40, 3), (70, 9), (80, 10)]
    app = alerts(below)
    state, events = None, []
    for second, value in series:
        result = evaluate(state, point(second, value, metric=Metric.RPM), below, app)
        state = result.state
        events.extend(result.events)
    assert kinds(events) == [(TRIGGERED, 70), (RESOLVED, 80)]
    assert events[0].type_data["send_when_below"] is True
    assert events[0].type_data["value"] == 9


def test_reminders_every_interval_while_firing() -> None:
    every = rule(duration_before_trigger_s=0, remind_every_s=300)
    series = [(0, 90), (100, 90), (299, 90), (300, 90), (310, 90), (650, 90), (1600, 90)]
    _, verdicts, events = run(series, every)
    triggered = [e for e in events if e.type == TRIGGERED]
    assert [(e.created_at - T0).total_seconds() for e in triggered] == [0, 300, 650, 1600]
    # several intervals elapsed at once give one reminder, numbered by the last one
    assert [e.type_data["reminder"] for e in triggered] == [0, 1, 2, 5]
    assert [e.type for e in events] == [TRIGGERED] * 4  # one event per transition
    assert len({e.id for e in events}) == len(events)
    assert (310, Verdict.FIRING) in verdicts


def test_no_reminder_without_remind_every() -> None:
    _, _, events = run(
        [(t, 90) for t in range(0, 100_000, 1000)], rule(duration_before_trigger_s=0)
    )
    assert [e.type for e in events] == [TRIGGERED]


def test_resolves_when_back_within_the_limit() -> None:
    state, _, events = run([(0, 90), (120, 91), (200, 95), (260, 40), (300, 30)])
    assert kinds(events) == [(TRIGGERED, 120), (RESOLVED, 260)]
    resolved = events[1]
    assert resolved.type_data["status"] == "resolved"
    assert resolved.type_data["since"] == T0.isoformat()
    assert resolved.type_data["duration_s"] == 260
    assert resolved.type_data["value"] == 40
    assert state is not None
    assert not state.firing
    assert state.since is None


def test_a_new_incident_after_a_resolution_has_new_ids() -> None:
    r = rule(duration_before_trigger_s=0)
    _, _, events = run([(0, 90), (10, 50), (20, 90), (30, 50)], r)
    assert [e.type for e in events] == [TRIGGERED, RESOLVED] * 2
    assert len({e.id for e in events}) == 4


def test_the_emitted_events_validate_and_carry_the_rule() -> None:
    _, _, events = run([(0, 90), (120, 91)])
    (triggered,) = events
    assert parse_event(triggered.to_json()) == triggered
    assert (triggered.source, triggered.app_id, triggered.owner_id, triggered.app_name) == (
        "alerter",
        APP,
        "owner-1",
        "shop",
    )
    data = triggered.type_data
    assert data["notifier_ids"] == ["n-mail", "n-hook"]
    assert (data["alert_id"], data["metric"], data["limit"], data["container_type"]) == (
        "al-1",
        "cpu",
        80.0,
        "web",
    )
    assert (data["status"], data["value"], data["reminder"]) == ("firing", 91, 0)
    assert answers_to(triggered.type, triggered.type_data) >= {"alert:firing", "critical_alerts"}
    assert triggered.id == alert_event_id(TRIGGERED, APP, "al-1", T0, 0)


def test_out_of_order_points_are_ignored() -> None:
    state, verdicts, events = run([(0, 90), (60, 90), (30, 10), (120, 90)])
    assert (30, Verdict.LATE) in verdicts
    assert kinds(events) == [(TRIGGERED, 120)]  # the late 10 did not reset it
    late = evaluate(state, point(100, 10), rule(), alerts(rule()))
    assert late.verdict is Verdict.LATE
    assert late.events == ()
    assert late.state is state


def test_duplicate_points_change_nothing() -> None:
    _, verdicts, events = run([(0, 90), (120, 90), (120, 90), (120, 10)])
    assert [v for _, v in verdicts][2:] == [Verdict.DUPLICATE, Verdict.DUPLICATE]
    assert kinds(events) == [(TRIGGERED, 120)]


def test_a_replay_gives_the_same_events() -> None:
    series = [(0, 90), (120, 91), (400, 92), (500, 10)]
    every = rule(remind_every_s=100)
    assert run(series, every)[2] == run(series, every)[2]


def test_disabled_rules_do_nothing() -> None:
    off = rule(disabled=True, duration_before_trigger_s=0)
    _, verdicts, events = run([(0, 99), (500, 99)], off)
    assert events == []
    assert {v for _, v in verdicts} == {Verdict.IGNORED}
    assert rules_for(alerts(off), point(0, 99)) == []


@pytest.mark.parametrize(
    ("changes", "watched"),
    [
        ({}, True),
        ({"metric": Metric.MEMORY}, False),
        ({"container_type": "worker"}, False),
    ],
)
def test_rules_watch_one_metric_of_one_container_type(
    changes: dict[str, Any], watched: bool
) -> None:
    assert (rules_for(alerts(rule()), point(0, 90, **changes)) != []) is watched


def test_deleted_disabled_and_retargeted_rules_lose_their_state() -> None:
    a, b, c, d = (rule(id=f"al-{k}") for k in "abcd")
    old = alerts(a, b, c, d)
    new = alerts(
        a.model_copy(update={"limit": 95.0}),
        b.model_copy(update={"disabled": True}),
        c.model_copy(update={"metric": Metric.SWAP}),
    )
    assert dropped_rules(old, new) == {"al-b", "al-c", "al-d"}
    assert dropped_rules(old, None) == {"al-a", "al-b", "al-c", "al-d"}
    assert dropped_rules(None, new) == set()
    # the same, told from a recovered state and the rule as it is now
    state = AlertState(Metric.CPU, "web", False, T0)
    now = {r.id: r for r in new.alerts}
    assert [k for k in "abcd" if outlived(state, now.get(f"al-{k}"))] == ["b", "c", "d"]


def test_a_new_limit_keeps_the_incident_and_resolves_against_it() -> None:
    r = rule(duration_before_trigger_s=0)
    app = alerts(r)
    fired = evaluate(None, point(0, 90), r, app)
    raised = r.model_copy(update={"limit": 95.0})
    result = evaluate(fired.state, point(10, 92), raised, alerts(raised))
    assert result.verdict is Verdict.RESOLVED
    assert result.events[0].type_data["limit"] == 95.0


def test_a_state_of_another_watch_starts_over() -> None:
    r = rule(duration_before_trigger_s=0)
    fired = evaluate(None, point(0, 90), r, alerts(r))
    below = r.model_copy(update={"send_when_below": True, "limit": 10.0})
    result = evaluate(fired.state, point(10, 50), below, alerts(below))
    assert result.verdict is Verdict.WITHIN
    assert result.events == ()


def test_the_state_round_trips_through_json() -> None:
    state, _, _ = run([(0, 90), (120, 91)], rule(remind_every_s=60))
    assert state is not None
    assert AlertState.from_json(state.to_json()) == state


def test_a_state_written_by_the_faust_alerter_still_reads() -> None:
    """The changelog keeps the JSON the faust-based alerter wrote (pydantic's form)."""
    written = (
        b'{"metric":"cpu","container_type":"web","send_when_below":false,'
        b'"last_at":"2026-03-01T08:02:00Z","since":"2026-03-01T08:00:00Z",'
        b'"fired_at":"2026-03-01T08:02:00Z","reminders":0}'
    )
    state = AlertState.from_json(written)
    assert state == AlertState(
        Metric.CPU, "web", False, T0 + timedelta(seconds=120), T0, T0 + timedelta(seconds=120)
    )
    assert AlertState.from_json(state.to_json()) == state
    with pytest.raises(ValidationError):
        AlertState.from_json(written.replace(b"reminders", b"extra"))
    with pytest.raises(ValidationError):
        AlertState.from_json(written.replace(b"08:02:00Z", b"08:02:00"))  # no time zone


@pytest.mark.parametrize(
    "raw",
    [
        b'{"app_id":"a","metric":"cpu","value":91.5,"at":"2026-03-01T08:00:00Z"}',
        b'{"app_id":"a","metric":"rpm","value":3,"at":"2026-03-01T08:00:00.25+02:00",'
        b'"container_type":"worker","extra":1}',
        b'{"app_id":"a","metric":"5XX","value":"3","at":"2026-03-01T08:00:00Z"}',  # lax
        b'{"app_id":"a","metric":"cpu","value":1,"at":1772352000}',  # unix time
        b'{"app_id":"a","metric":"cpu","value":true,"at":"2026-03-01T08:00:00Z"}',  # lax
        b'{"app_id":"a","metric":"cpu","value":1,"at":"2026-03-01 08:00:00Z"}',
    ],
)
def test_parse_point_reads_what_metric_point_reads(raw: bytes) -> None:
    expected = MetricPoint.model_validate_json(raw)
    parsed = parse_point(raw)
    assert parsed == Point(
        expected.app_id, expected.metric, expected.container_type, expected.value, expected.at
    )
    assert parsed.at.isoformat() == expected.at.isoformat()  # event ids are built from it


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'{"app_id":"a","metric":"disk_io","value":1,"at":"2026-03-01T08:00:00Z"}',
        b'{"app_id":"a","metric":"cpu","value":1,"at":"2026-03-01T08:00:00"}',  # naive
        b'{"app_id":"a","metric":"cpu","value":1,"at":"2026-W09-7T08:00:00Z"}',
        b'{"metric":"cpu","value":1,"at":"2026-03-01T08:00:00Z"}',
    ],
)
def test_parse_point_refuses_what_metric_point_refuses(raw: bytes) -> None:
    with pytest.raises(ValidationError) as refused:
        MetricPoint.model_validate_json(raw)
    with pytest.raises(ValidationError) as also:
        parse_point(raw)
    assert also.value.errors() == refused.value.errors()


def test_settings_and_topic_file_declare_the_state_changelog() -> None:
    settings = AlerterSettings()
    assert settings.http.port == 18085
    specs = {s.name: s.partitions for s in load_topic_file()}
    assert specs[settings.state_changelog] == settings.table_partitions
    assert specs["platform.metrics"] == specs["notify.config.alerts"] == settings.table_partitions


def test_transitions_are_checkpointed_and_quiet_points_only_now_and_then() -> None:
    r = rule(duration_before_trigger_s=0)
    app = alerts(r)
    first = evaluate(None, point(0, 50), r, app).state
    assert first is not None
    assert needs_checkpoint(None, first, 300)
    quiet = evaluate(first, point(10, 60), r, app).state
    assert quiet is not None
    assert not needs_checkpoint(first, quiet, 300)  # only last_at moved
    assert needs_checkpoint(first, quiet, 0)
    later = evaluate(quiet, point(300, 60), r, app).state
    assert later is not None
    assert needs_checkpoint(first, later, 300)
    fired = evaluate(quiet, point(20, 90), r, app).state
    assert fired is not None
    assert needs_checkpoint(first, fired, 300)
