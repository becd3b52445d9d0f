"""The fast path (`fast_events`, msgspec) and the slow one (`parse_event`, pydantic) agree: what
the fast path accepts, the slow path accepts as the same event; it refuses nothing itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from herald_core.catalog import CATALOG
from herald_core.errors import InvalidEvent
from herald_core.fast_intake import fast_events
from herald_core.intake import parse_event
from herald_ingest.intake import decode_body
from hypothesis import given, settings
from hypothesis import strategies as st

BASE = {
    "id": "evt-1",
    "type": "app_deployed",
    "created_at": "2026-03-12T17:05:14+01:00",
    "source": "deployer",
    "app_id": "app-1",
    "owner_id": "org-1",
    "type_data": {"status": "success", "duration": 40},
}
TYPES = [*[t.id for t in CATALOG.types()][:40], "deployment", "critical_alerts", "nope", ""]

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
texts = st.one_of(
    st.sampled_from(["", "a", "x" * 120, "x" * 121, "x" * 200, "x" * 201, "☃" * 200, "é"]),
    st.text(max_size=10),
)
timestamps = st.sampled_from(
    [
        "2026-03-12T17:05:14+01:00",
        "2026-03-12T17:05:14Z",
        "2026-03-12T17:05:14.123456789Z",
        "2026-03-12T17:05:14",
        "2026-03-12 17:05:14Z",
        "2026-13-12T17:05:14Z",
        "2026-03-12T23:59:60Z",
        "1700000000",
        "",
    ]
)
type_data = st.one_of(
    st.sampled_from(
        [
            {"status": "success", "duration": 40},
            {"status": "success", "duration": -1},
            {"status": "success", "duration": "40"},
            {"status": "success", "duration": 4.5, "extra": [1, None]},
            {"status": "failure", "pusher": None},
            {},
            {"notifier_ids": ["no-1"]},
            {"crash_count": 2},
        ]
    ),
    st.dictionaries(st.text(max_size=12), json_value, max_size=4),
    json_value,
)
field_values: dict[str, st.SearchStrategy[Any]] = {
    "id": texts | json_value,
    "type": st.sampled_from(TYPES) | json_value,
    "created_at": timestamps | json_value,
    "source": texts | json_value,
    "app_id": texts | st.none() | json_value,
    "app_name": texts | st.none(),
    "owner_id": texts | st.none(),
    "addon_id": texts | st.none(),
    "rack": texts | st.none(),
    "user": st.none()
    | st.fixed_dictionaries(
        {}, optional={"id": texts | json_value, "username": texts, "x": json_value}
    )
    | json_value,
    "type_data": type_data,
}


@st.composite
def events(draw: st.DrawFn) -> Any:
    document: dict[str, Any] = dict(BASE)
    for name in draw(st.lists(st.sampled_from(sorted(field_values)), max_size=3, unique=True)):
        document[name] = draw(field_values[name])
    for name in draw(st.lists(st.sampled_from(sorted(BASE)), max_size=1)):
        del document[name]
    if draw(st.booleans()) and draw(st.booleans()):
        document[draw(st.text(max_size=6))] = draw(json_value)
    return document if draw(st.integers(0, 9)) else draw(json_value)


def slow(body: bytes) -> tuple[list[Any], bool] | None:
    """What the slow path accepts: every event, or None when it refuses anything."""
    try:
        items, batch = decode_body(body)
        return [parse_event(item) if isinstance(item, dict) else None for item in items], batch
    except InvalidEvent:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(events(), max_size=3), st.booleans())
def test_the_fast_path_accepts_only_what_the_slow_path_accepts_alike(documents, batch):
    body = json.dumps(documents if batch or len(documents) != 1 else documents[0]).encode()
    fast = fast_events(body)
    if fast is None:
        return
    expected = slow(body)
    assert expected is not None, body
    assert fast[1] == expected[1]
    assert fast[0] == expected[0]
    assert [e.to_json() for e in fast[0]] == [e.to_json() for e in expected[0] if e is not None]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(BASE),
        json.dumps([BASE, {**BASE, "id": "evt-2", "type": "deployment"}]),
        json.dumps({**BASE, "user": {"id": "u1", "email": "a@b.c", "extra": [1]}}),
        json.dumps({k: v for k, v in BASE.items() if k not in ("source", "app_id")}),
        "[]",
    ],
)
def test_well_formed_events_take_the_fast_path(body):
    fast = fast_events(body.encode())
    assert fast is not None
    assert fast == slow(body.encode())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b'{"id": NaN}',
        b"\xef\xbb\xbf" + json.dumps(BASE).encode(),
        json.dumps(BASE).encode("utf-16"),
        json.dumps({**BASE, "type_data": {"x": 1e308}}).replace("1e+308", "1e400").encode(),
        json.dumps({**BASE, "id": "\ud800"}).encode(),
        json.dumps({**BASE, "surprise": 1}).encode(),
        json.dumps({**BASE, "type": "critical_alerts"}).encode(),
        json.dumps({**BASE, "app_id": None, "owner_id": None}).encode(),
        json.dumps({**BASE, "created_at": "2026-03-12T17:05:14"}).encode(),
        json.dumps({**BASE, "type_data": {}}).encode(),
        json.dumps([BASE, 7]).encode(),
        b'{"id": "a", "id": "b"}',
        b'"app_deployed"',
    ],
)
def test_what_the_slow_path_judges(body):
    assert fast_events(body) is None
