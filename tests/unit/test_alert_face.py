"""The Scalingo alert face: Go durations, wire ⇄ AlertRule, validation (docs/alerts.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_api.faces.scalingo.alert_face import (
    InvalidAlert,
    InvalidDuration,
    alert_from_create,
    alert_patched,
    event_data,
    format_go_duration,
    parse_go_duration,
    to_wire,
)
from herald_api.model.alert_rules import without_notifier
from herald_core.alerts import AlertRule, Metric

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("0s", 0),
        ("90s", 90 * S),
        ("30m", 1800 * S),
        ("30m0s", 1800 * S),
        ("1h30m", 5400 * S),
        ("1h30m0s", 5400 * S),
        ("1.5s", 1_500_000_000),
        ("1.5h", 5400 * S),
        (".5s", S // 2),
        ("250ms", 250_000_000),
        ("3us", 3_000),
        ("3µs", 3_000),
        ("7ns", 7),
        ("+5m", 300 * S),
        ("-2m", -120 * S),
        ("1h1m1s1ms", 3661 * S + 1_000_000),
    ],
)
def test_go_durations_parse_like_time_parse_duration(text, ns):
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "5", "m", "1x", "1h 30m", "1.2.3s", "h1", "-", "s" * 65])
def test_what_go_refuses_is_refused(text):
    with pytest.raises(InvalidDuration):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (250_000_000, "250ms"),
        (S, "1s"),
        (1_500_000_000, "1.5s"),
        (90 * S, "1m30s"),
        (1800 * S, "30m0s"),
        (5400 * S, "1h30m0s"),
        (3600 * S, "1h0m0s"),
        (5 * 60 * S + 30 * S, "5m30s"),
        (-120 * S, "-2m0s"),
    ],
)
def test_go_durations_format_like_duration_string(ns, text):
    assert format_go_duration(ns) == text
    assert parse_go_duration(text) == ns


def create(body, known=("no-1", "no-2")):
    return alert_from_create(
        body, alert_id="al-1", app_id="app-1", known_notifiers=list(known), now=NOW
    )


def test_a_go_client_create_body_becomes_a_rule_in_seconds():
    # What go-scalingo's AlertAdd marshals: the whole Alert struct, read-only members included.
    body = {
        "id": "",
        "app_id": "",
        "container_type": "web",
        "metric": "rpm_per_container",
        "limit": 150,
        "disabled": False,
        "send_when_below": True,
        "duration_before_trigger": 300 * S,
        "remind_every": "30m0s",
        "created_at": "0001-01-01T00:00:00Z",
        "updated_at": "0001-01-01T00:00:00Z",
        "metadata": None,
        "notifiers": ["no-2", "no-1", "no-2"],
    }
    rule = create(body)
    assert rule == AlertRule(
        id="al-1",
        app_id="app-1",
        container_type="web",
        metric=Metric.RPM_PER_CONTAINER,
        limit=150.0,
        send_when_below=True,
        duration_before_trigger_s=300.0,
        remind_every_s=1800.0,
        notifier_ids=("no-2", "no-1"),
        created_at=NOW,
        updated_at=NOW,
    )


def test_the_answer_is_scalingos_shape_with_nanoseconds_and_a_go_string():
    rule = create(
        {"metric": "5XX", "limit": 1, "duration_before_trigger": "1m30s", "remind_every": 5400 * S}
    )
    assert to_wire(rule) == {
        "id": "al-1",
        "app_id": "app-1",
        "container_type": "web",
        "metric": "5XX",
        "limit": 1.0,
        "send_when_below": False,
        "duration_before_trigger": 90 * S,
        "remind_every": "1h30m0s",
        "disabled": False,
        "notifiers": [],
        "metadata": {},
        "created_at": "2026-11-23T17:00:00Z",
        "updated_at": "2026-11-23T17:00:00Z",
    }


@pytest.mark.parametrize("none", ["", None, 0, "0s"])
def test_no_reminder_is_omitted_from_the_answer(none):
    rule = create({"metric": "cpu", "limit": 0.8, "remind_every": none})
    assert rule.remind_every_s is None
    assert "remind_every" not in to_wire(rule)


def test_go_sends_an_empty_container_type_when_unset_and_gets_web():
    assert create({"metric": "cpu", "limit": 0.8, "container_type": ""}).container_type == "web"
    assert create({"metric": "cpu", "limit": 0.8}).container_type == "web"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"limit": 1}, "metric", "is required"),
        ({"metric": "cpu"}, "limit", "is required"),
        ({"metric": "disk", "limit": 1}, "metric", "must be one of"),
        ({"metric": "cpu", "limit": "high"}, "limit", "must be a number"),
        ({"metric": "cpu", "limit": True}, "limit", "must be a number"),
        ({"metric": "cpu", "limit": -1}, "limit", "must not be negative"),
        ({"metric": "cpu", "limit": 10**400}, "limit", "must be a number"),
        (
            {"metric": "cpu", "limit": 1, "duration_before_trigger": 10**400},
            "duration_before_trigger",
            "at most",
        ),
        ({"metric": "cpu", "limit": 1, "remind_every": 1e300}, "remind_every", "at most"),
        (
            {"metric": "cpu", "limit": 1, "duration_before_trigger": -1},
            "duration_before_trigger",
            "negative",
        ),
        (
            {"metric": "cpu", "limit": 1, "duration_before_trigger": "-5m"},
            "duration_before_trigger",
            "negative",
        ),
        (
            {"metric": "cpu", "limit": 1, "duration_before_trigger": 1.5},
            "duration_before_trigger",
            "whole",
        ),
        (
            {"metric": "cpu", "limit": 1, "duration_before_trigger": "soon"},
            "duration_before_trigger",
            "not a duration",
        ),
        ({"metric": "cpu", "limit": 1, "remind_every": "-1h"}, "remind_every", "negative"),
        ({"metric": "cpu", "limit": 1, "remind_every": "9000h"}, "remind_every", "at most"),
        ({"metric": "cpu", "limit": 1, "remind_every": [1]}, "remind_every", "must be a duration"),
        ({"metric": "cpu", "limit": 1, "notifiers": ["no-9"]}, "notifiers", "no notifier 'no-9'"),
        ({"metric": "cpu", "limit": 1, "notifiers": "no-1"}, "notifiers", "must be a list"),
        (
            {"metric": "cpu", "limit": 1, "container_type": "web server"},
            "container_type",
            "container type",
        ),
        ({"metric": "cpu", "limit": 1, "disabled": "yes"}, "disabled", "true or false"),
        ({"metric": "cpu", "limit": 1, "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_every_problem_is_named_by_field(body, field, message):
    with pytest.raises(InvalidAlert) as caught:
        create(body)
    assert any(message in m for m in caught.value.errors[field]), caught.value.errors


def test_all_problems_are_listed_at_once():
    with pytest.raises(InvalidAlert) as caught:
        create({"metric": "disk", "limit": -3, "notifiers": ["x"]})
    assert set(caught.value.errors) == {"metric", "limit", "notifiers"}


def test_a_patch_changes_only_what_it_sends_and_bumps_the_version():
    rule = create({"metric": "cpu", "limit": 0.8, "remind_every": "10m", "notifiers": ["no-1"]})
    # What go-scalingo's AlertUpdate marshals: remind_every as a time.Duration (nanoseconds).
    patched = alert_patched(
        rule,
        {"limit": 0.9, "remind_every": 3600 * S, "disabled": True},
        known_notifiers=["no-1"],
        now=LATER,
    )
    assert (patched.limit, patched.remind_every_s, patched.disabled) == (0.9, 3600.0, True)
    assert (patched.metric, patched.notifier_ids, patched.created_at) == (
        Metric.CPU,
        ("no-1",),
        NOW,
    )
    assert (patched.version, patched.updated_at) == (2, LATER)
    cleared = alert_patched(patched, {"remind_every": ""}, known_notifiers=[], now=LATER)
    assert cleared.remind_every_s is None


def test_a_patch_validates_like_a_create():
    rule = create({"metric": "cpu", "limit": 0.8})
    with pytest.raises(InvalidAlert) as caught:
        alert_patched(rule, {"metric": "gpu", "container_type": ""}, known_notifiers=[], now=LATER)
    assert set(caught.value.errors) == {"metric", "container_type"}


def test_a_deleted_notifier_leaves_the_rules_that_listed_it():
    rule = create({"metric": "cpu", "limit": 0.8, "notifiers": ["no-1", "no-2"]})
    changed = without_notifier(rule, "no-1", LATER)
    assert changed is not None
    assert (changed.notifier_ids, changed.version, changed.updated_at) == (("no-2",), 2, LATER)
    assert without_notifier(changed, "no-1", LATER) is None


def test_event_data_is_the_catalogs_alert_config_data():
    from herald_core.catalog.type_data import AlertConfigData

    rule = create({"metric": "memory", "limit": 0.8, "notifiers": ["no-1"]})
    data = event_data(rule)
    assert AlertConfigData.model_validate(data).model_dump(exclude_unset=True) == data
    assert data["notifier_ids"] == ["no-1"]
    assert data["alert_id"] == "al-1"
