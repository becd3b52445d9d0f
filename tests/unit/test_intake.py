"""Intake: every InvalidEvent reason, batches, normalisation, and garbage that never escapes."""

from __future__ import annotations

import json
import random

import pytest
from herald_core.catalog import CATALOG
from herald_core.envelope import Event
from herald_core.errors import FailureReason, InvalidEvent
from herald_core.intake import parse_event, parse_events

BASE = {
    "id": "evt-1",
    "type": "app_deployed",
    "created_at": "2026-03-12T17:05:14+01:00",
    "app_id": "app-1",
    "type_data": {"status": "success", "duration": 40},
}


def event(**changes):
    return {**BASE, **changes}


def reason_of(raw):
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    error = caught.value
    json.dumps(error.errors)  # JSON-safe, always
    assert error.detail
    return error.reason, error


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", FailureReason.INVALID_JSON),
        (b"{", FailureReason.INVALID_JSON),
        ("", FailureReason.INVALID_JSON),
        (b'{"id": NaN}', FailureReason.INVALID_JSON),
        ("[" * 50_000, FailureReason.INVALID_JSON),
        ("9" * 5000, FailureReason.INVALID_JSON),
        (b"[]", FailureReason.INVALID_ENVELOPE),
        (b'"app_deployed"', FailureReason.INVALID_ENVELOPE),
        (b"null", FailureReason.INVALID_ENVELOPE),
        (42, FailureReason.INVALID_ENVELOPE),
        (None, FailureReason.INVALID_ENVELOPE),
        ({}, FailureReason.INVALID_ENVELOPE),
        (event(app_id=None), FailureReason.INVALID_ENVELOPE),
        (event(created_at="2026-03-12T17:05:14"), FailureReason.INVALID_ENVELOPE),
        (event(surprise=1), FailureReason.INVALID_ENVELOPE),
        (event(type_data=[1, 2]), FailureReason.INVALID_ENVELOPE),
        (event(type="app_deploy"), FailureReason.UNKNOWN_TYPE),
        (event(type="DEPLOYMENT_SUCCESS"), FailureReason.UNKNOWN_TYPE),
        (event(type="META_DEPLOYMENT_RESULT"), FailureReason.UNKNOWN_TYPE),
        (event(type="critical_alerts"), FailureReason.UNKNOWN_TYPE),
        (event(type="App_Deployed"), FailureReason.UNKNOWN_TYPE),
        (event(type_data={}), FailureReason.INVALID_TYPE_DATA),
        (
            event(type_data={"status": "success", "duration": "long"}),
            FailureReason.INVALID_TYPE_DATA,
        ),
        (event(type_data={"status": "success", "duration": -1}), FailureReason.INVALID_TYPE_DATA),
        (
            event(type="app_alert_triggered", type_data={"notifier_ids": "no-1"}),
            FailureReason.INVALID_TYPE_DATA,
        ),
        (
            event(type="app_crashed", type_data={"crash_count": "twice"}),
            FailureReason.INVALID_TYPE_DATA,
        ),
        (event(type_data={"status": "success", "x": object()}), FailureReason.INVALID_TYPE_DATA),
    ],
)
def test_each_reason(raw, reason):
    got, _ = reason_of(raw)
    assert got is reason


def test_details_are_sentences_people_can_act_on():
    _, error = reason_of(event(type="app_deploy"))
    assert error.detail == "unknown event type 'app_deploy'"
    _, error = reason_of(event(type="DEPLOYMENT_SUCCESS"))
    assert "alias or group" in error.detail
    _, error = reason_of(event(type_data={"status": "success", "duration": "long"}))
    assert "'app_deployed'" in error.detail
    assert "duration" in error.detail
    assert error.errors[0]["loc"] == ["duration"]
    assert "input" not in error.errors[0]
    assert "url" not in error.errors[0]


def test_a_valid_event_is_canonical_and_reparses_to_itself():
    parsed = parse_event(json.dumps(event()).encode())
    assert isinstance(parsed, Event)
    assert parsed.type == "app_deployed"
    assert parsed.type_data == {"status": "success", "duration": 40}
    assert parse_event(parsed.to_json()) == parsed


def test_legacy_names_are_normalised():
    parsed = parse_event(event(type="deployment"))
    assert parsed.type == "app_deployed"
    assert parse_event(event(type="rename_app", type_data={"new_name": "b"})).type == "app_renamed"


def test_type_data_is_normalised_extras_kept_nulls_dropped():
    data = {"status": "success", "duration": "40", "git_ref": None, "extra": {"k": [1]}}
    parsed = parse_event(event(type_data=data))
    assert parsed.type_data == {"status": "success", "duration": 40, "extra": {"k": [1]}}


def test_nested_scalingo_shapes_are_lifted():
    transfer = {"old_owner": {"id": "u1"}, "new_owner": {"id": "u2", "email": "b@x.io"}}
    parsed = parse_event(event(type="transfer_app", type_data=transfer))
    assert parsed.type == "app_transferred"
    assert parsed.type_data["old_owner_id"] == "u1"
    assert parsed.type_data["new_owner_id"] == "u2"
    assert parsed.type_data["new_owner"] == {"id": "u2", "email": "b@x.io"}
    invited = {"collaborator": {"email": "c@x.io", "is_limited": "true"}}
    parsed = parse_event(event(type="new_collaborator", type_data=invited))
    assert parsed.type_data["email"] == "c@x.io"
    assert parsed.type_data["is_limited"] is True


def test_alert_events_carry_notifier_ids():
    data = {"metric": "cpu", "value": 97.5, "limit": 90, "notifier_ids": ["no-1", "no-2"]}
    parsed = parse_event(event(type="app_alert_triggered", type_data=data))
    assert parsed.type_data["notifier_ids"] == ["no-1", "no-2"]
    assert parse_event(event(type="alert:firing", type_data={})).type_data == {"notifier_ids": []}


def test_every_catalog_type_accepts_its_minimal_type_data():
    minimal = {"app_deployed": {"status": "success"}}
    for event_type in CATALOG.types():
        parsed = parse_event(event(type=event_type.id, type_data=minimal.get(event_type.id, {})))
        assert parsed.type == event_type.id


def test_a_batch_keeps_order_and_isolates_bad_items():
    batch = [event(id="a"), event(id="b", type="nope"), 7, event(id="c", type="job.fail")]
    results = parse_events(json.dumps(batch))
    assert [type(r) for r in results] == [Event, InvalidEvent, InvalidEvent, Event]
    assert results[1].reason is FailureReason.UNKNOWN_TYPE
    assert results[2].reason is FailureReason.INVALID_ENVELOPE
    assert results[3].type == "job.fail"


@pytest.mark.parametrize(
    ("raw", "count"),
    [(json.dumps(event()).encode(), 1), (event(), 1), ([event(), event()], 2), (b"[]", 0)],
)
def test_parse_events_takes_one_object_or_an_array(raw, count):
    assert len(parse_events(raw)) == count


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"not json", FailureReason.INVALID_JSON), (b"12", FailureReason.INVALID_ENVELOPE)],
)
def test_parse_events_refuses_what_is_no_batch(raw, reason):
    with pytest.raises(InvalidEvent) as caught:
        parse_events(raw)
    assert caught.value.reason is reason


def garbage(rng: random.Random):
    """Random bytes, random JSON, and valid events with one field broken."""
    choice = rng.randrange(4)
    if choice == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if choice == 1:
        values = [None, True, 1, -1.5, "x", [], {}, [1, {"a": None}], "é" * 3, 10**30]
        return json.dumps(rng.choice(values)).encode()
    broken = dict(BASE)
    key = rng.choice([*BASE, "user", "type_data", "rack"])
    broken[key] = rng.choice([None, 1, 1.5, "", "x", "x" * 300, [], {}, {"id": 1}, True, [None]])
    if choice == 2:
        return broken
    return json.dumps(broken).encode()[: rng.randrange(1, 200)]


def test_garbage_never_raises_anything_but_invalid_event():
    rng = random.Random(20260312)
    reasons = set()
    for _ in range(2000):
        raw = garbage(rng)
        try:
            parsed = parse_event(raw)
        except InvalidEvent as error:
            json.dumps(error.errors)
            reasons.add(error.reason)
        else:
            assert parse_event(parsed.to_json()) == parsed
    assert reasons == {
        FailureReason.INVALID_JSON,
        FailureReason.INVALID_ENVELOPE,
        FailureReason.UNKNOWN_TYPE,
        FailureReason.INVALID_TYPE_DATA,
    }


def test_deep_and_cyclic_type_data_is_refused_not_raised():
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic
    for nested in (deep, cyclic):
        reason, _ = reason_of(event(type_data={"status": "success", "nested": nested}))
        assert reason is FailureReason.INVALID_TYPE_DATA
