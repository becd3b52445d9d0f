"""The router's compact notifiers accept what the `Notifier` model accepts, refuse what it
refuses, hold the same fields, and encode to the same bytes (which the view's digest hashes)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from herald_core.compact_notifiers import (
    CompactNotifier,
    decode_notifier,
    from_model,
    notifier_json,
    to_model,
)
from herald_core.notifiers import Notifier
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

SCOPES = {"app": "app_id", "owner": "owner_id", "user": "user_id"}
GOOD_TIMES = ["2026-03-12T17:00:00Z", "2026-03-12T17:00:00.123000+01:00", "2026-03-12T17:00:00.5Z"]

# field → (values the model accepts, values it refuses or reads laxly)
FIELDS: dict[str, tuple[list[Any], list[Any]]] = {
    "id": (["n-1", "x" * 200, "nö-✓"], ["", "x" * 201, 3, None]),
    "platform": (["webhook", "email", "slack"], ["carrier-pigeon"]),
    "name": (["", "Ops ✓", "n" * 200], ["n" * 201, None, 3]),
    "active": ([True, False], ["yes", 1, None]),
    "is_default": ([True, False], ["no"]),
    "app_ids": ([[], ["app-1", "app-2"]], ["app-1", [3]]),
    "addon_ids": ([[], ["ad-1"]], [None]),
    "racks": ([[], ["rack-1"]], [{}]),
    "families": ([[], ["convox"], ["scalingo", "cloud66"]], [["nope"]]),
    "selection": (
        [
            {},
            {"send_all_events": True},
            {"selected_event_ids": ["app_deployed"], "preset": "deployments"},
        ],
        [{"preset": "no-such-preset"}, {"send_all_alerts": True, "extra": 1}],
    ),
    "type_data": ([{}, {"url": "https://x.example/é", "n": 1.5, "l": [1, None]}], [[], "text"]),
    "version": ([1, 7], ["3", 2.0, 2.5, True, None]),
    "created_at": ([*GOOD_TIMES, None], ["2026-03-12T17:00:00", "yesterday", 0]),
    "updated_at": ([*GOOD_TIMES, None], ["2026-03-12T17:00:00"]),
}


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """Notifier records, most of them valid; about one field in twelve is wrong."""

    def value(field: str) -> Any:
        good, bad = FIELDS[field]
        return draw(st.sampled_from(bad if draw(st.integers(0, 11)) == 0 else good))

    scope = draw(st.sampled_from([*SCOPES] * 8 + ["team"]))
    record: dict[str, Any] = {"id": value("id"), "platform": value("platform"), "scope": scope}
    if scope in SCOPES and draw(st.integers(0, 11)):
        record[SCOPES[scope]] = draw(st.sampled_from(["app-1", "org-1", "u-1", "app-1", ""]))
    optional = sorted(set(FIELDS) - {"id", "platform"})
    for field in draw(st.lists(st.sampled_from(optional), unique=True)):
        record[field] = value(field)
    if draw(st.integers(0, 15)) == 0:
        record["surprise"] = "unknown fields are refused"
    return record


def model_verdict(raw: bytes) -> Notifier | None:
    try:
        return Notifier.model_validate_json(raw)
    except ValidationError:
        return None


@settings(max_examples=1000, deadline=None)
@given(records())
def test_the_compact_decoder_agrees_with_the_model(record: dict[str, Any]):
    raw = json.dumps(record).encode()
    model = model_verdict(raw)
    if model is None:
        with pytest.raises(ValidationError):
            decode_notifier(raw)
        return
    compact = decode_notifier(raw)
    assert to_model(compact) == model
    assert notifier_json(compact) == model.model_dump_json().encode()
    assert compact.channel is model.channel


def test_a_lax_form_the_model_accepts_is_accepted():
    raw = b'{"id": "n-1", "app_id": "app-1", "platform": "webhook", "version": "3"}'
    assert decode_notifier(raw).version == 3


def test_not_json_is_refused():
    with pytest.raises(ValidationError):
        decode_notifier(b"{not json")


def test_notifiers_of_one_app_share_its_id_and_an_equal_selection():
    def raw(k: int) -> bytes:
        return json.dumps(
            {
                "id": f"n-{k}",
                "app_id": "app-" + "1",  # a new string each time
                "platform": "webhook",
                "selection": {"selected_event_ids": ["app_deployed"]},
            }
        ).encode()

    first, second = decode_notifier(raw(1)), decode_notifier(raw(2))
    assert first.app_id is second.app_id
    assert first.selection is second.selection


def test_from_model_is_the_struct_of_the_same_notifier():
    model = Notifier(id="n-1", owner_id="org-1", scope="owner", platform="slack")
    compact = from_model(model)
    assert isinstance(compact, CompactNotifier)
    assert to_model(compact) == model
