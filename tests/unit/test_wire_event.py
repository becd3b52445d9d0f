"""The router's event decoder accepts what the `Event` model accepts, refuses what it refuses
(with the model's error), and reads the same fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from herald_core.envelope import Event
from herald_core.wire_event import WireEvent, decode_event
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

READ = ("id", "type", "created_at", "source", "app_id", "app_name", "owner_id", "addon_id", "rack")

# field → (values the model accepts, values it refuses or reads laxly)
FIELDS: dict[str, tuple[list[Any], list[Any]]] = {
    "id": (["evt-1", "e" * 200, "é✓"], ["", "e" * 201, 7, None]),
    "type": (["app_deployed", "t" * 120, "not_a_type"], ["", "t" * 121, None]),
    "created_at": (
        ["2026-03-12T17:00:00Z", "2026-03-12T17:00:00.123+01:00", "2026-03-12T17:00:00.5-05:30"],
        ["2026-03-12T17:00:00", "yesterday", None, 1773334800],
    ),
    "source": (["deployer", "s" * 120], ["", "s" * 121, None]),
    "app_id": (["app-1", None, "a" * 200, ""], ["a" * 201, 3]),
    "app_name": (["billing", None], ["n" * 201]),
    "owner_id": (["org-1", None], ["o" * 201, ["org-1"]]),
    "addon_id": (["ad-1", None], [False]),
    "rack": (["rack-1", None], [{"x": 1}]),
    "user": (
        [None, {}, {"id": "u-1", "username": "ada"}, {"email": "a@x", "extra": [1, {"y": None}]}],
        [{"id": 3}, "ada", {"username": ["a"]}],
    ),
    "type_data": ([{}, {"status": "success", "n": 1.5, "l": [1, None]}], [[], "x", None]),
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """Event records, most of them valid; about one field in twelve is wrong."""

    def value(field: str) -> Any:
        good, bad = FIELDS[field]
        return draw(st.sampled_from(bad if draw(st.integers(0, 11)) == 0 else good))

    record = {f: value(f) for f in ("id", "type", "created_at", "app_id")}
    for field in draw(st.lists(st.sampled_from(sorted(set(FIELDS) - set(record))), unique=True)):
        record[field] = value(field)
    if draw(st.integers(0, 15)) == 0:
        record["surprise"] = "unknown fields are refused"
    return record


def model_verdict(raw: bytes) -> Event | ValidationError:
    try:
        return Event.model_validate_json(raw)
    except ValidationError as exc:
        return exc


@settings(max_examples=1000, deadline=None)
@given(records())
def test_the_wire_decoder_agrees_with_the_model(record: dict[str, Any]):
    raw = json.dumps(record).encode()
    model = model_verdict(raw)
    if isinstance(model, ValidationError):
        with pytest.raises(ValidationError) as refused:
            decode_event(raw)
        assert refused.value.errors(include_context=False) == model.errors(include_context=False)
        return
    wire = decode_event(raw)
    assert {f: getattr(wire, f) for f in READ} == {f: getattr(model, f) for f in READ}
    assert wire.type_data == model.type_data
    assert (wire.user is None) == (model.user is None)


def test_a_lax_form_the_model_accepts_is_accepted():
    raw = b'{"id": "e", "type": "t", "created_at": "2026-03-12 17:00:00+00:00", "app_id": "a"}'
    assert isinstance(decode_event(raw), WireEvent)


def test_no_subject_is_refused_with_the_models_message():
    raw = b'{"id": "e", "type": "t", "created_at": "2026-03-12T17:00:00Z"}'
    with pytest.raises(ValidationError, match="an event needs an app_id or an owner_id"):
        decode_event(raw)
