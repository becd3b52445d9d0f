"""The live stream's filter: owner, apps, add-ons, and types through aliases and groups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_api.stream.stream_filter import MAX_VALUES, FilterError, StreamFilter, parse_filter
from herald_core.envelope import Event


def event(**changes) -> Event:
    fields = {
        "id": "ev-1",
        "type": "app_deployed",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "source": "deployer",
        "app_id": "app-1",
        "owner_id": "org-1",
        "type_data": {"status": "success"},
        **changes,
    }
    return Event.model_validate(fields)


def matches(query: dict[str, list[str]], **changes) -> bool:
    return parse_filter("org-1", query).matches(event(**changes))


@pytest.mark.parametrize(
    ("query", "changes", "expected"),
    [
        ({}, {}, True),
        ({}, {"owner_id": "org-2"}, False),
        ({}, {"owner_id": None}, False),
        ({"app_id": ["app-1"]}, {}, True),
        ({"app_id": ["app-2", "app-1"]}, {}, True),
        ({"app_id": ["app-2"]}, {}, False),
        ({"app_id": ["app-1"]}, {"app_id": None}, False),
        ({"addon_id": ["ad-1"]}, {"addon_id": "ad-1"}, True),
        ({"addon_id": ["ad-1"]}, {}, False),
        ({"type": ["app_deployed"]}, {}, True),
        ({"type": ["app_restarted"]}, {}, False),
        ({"type": ["app_restarted", "app_deployed"]}, {}, True),
        ({"type": ["deployment"]}, {}, True),  # a legacy name means its type
        ({"type": ["DEPLOYMENT_SUCCESS"]}, {}, True),  # an alias whose condition holds
        ({"type": ["DEPLOYMENT_FAIL"]}, {}, False),
        ({"type": ["DEPLOYMENT_FAIL"]}, {"type_data": {"status": "build-error"}}, True),
        ({"type": ["META_DEPLOYMENT_RESULT"]}, {"type_data": {"status": "build-error"}}, True),
        ({"type": ["deployments"]}, {}, True),  # a group
        ({"type": ["app_deployed"], "app_id": ["app-2"]}, {}, False),  # AND across parameters
        ({}, {"type": "app:budget:set", "type_data": {}}, False),  # audit-only: never streamed
    ],
)
def test_an_event_matches_its_owners_stream_narrowed_by_the_query(query, changes, expected):
    assert matches(query, **changes) is expected


def test_unknown_types_and_bad_values_are_refused_with_every_problem():
    with pytest.raises(FilterError) as caught:
        parse_filter(
            "org-1",
            {"type": ["no_such_type", "app_deployed"], "app_id": [""], "addon_id": ["x" * 201]},
        )
    assert set(caught.value.errors) == {"type", "app_id", "addon_id"}
    assert "no_such_type" in caught.value.errors["type"][0]


def test_too_many_values_are_refused():
    with pytest.raises(FilterError, match="at most"):
        parse_filter("org-1", {"app_id": [f"app-{i}" for i in range(MAX_VALUES + 1)]})


def test_legacy_type_names_are_kept_as_their_current_type():
    assert parse_filter("org-1", {"type": ["deployment"]}).types == {"app_deployed"}


def test_a_record_without_the_owner_id_in_its_bytes_may_be_skipped_unparsed():
    stream = StreamFilter("org-1")
    mine, theirs = event().to_json(), event(owner_id="org-2").to_json()
    assert not stream.may_skip(mine)
    assert stream.may_skip(theirs)
    assert not StreamFilter('we"ird').may_skip(theirs), "ids needing escapes are always parsed"
