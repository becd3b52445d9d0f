"""herald-client's pure parts: `build_event` against the whole catalog, the `platform.events`
record, and the reading of ingest's HTTP answers (tests/integration/test_herald_client.py sends
for real)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from herald_api.model.sample_events import sample_type_data
from herald_client import (
    AuthenticationError,
    EventsRejectedError,
    EventUser,
    InvalidEventError,
    RequestRefusedError,
    UnavailableError,
    build_event,
    event_types,
    platform_record,
    protocol,
)
from herald_core.catalog import CATALOG
from herald_core.intake import parse_event

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TYPES = sorted(CATALOG.types(), key=lambda t: t.id)


@pytest.mark.parametrize("event_type", TYPES, ids=lambda t: t.id)
def test_every_catalog_type_builds_from_its_sample(event_type):
    type_data = sample_type_data(event_type, NOW)

    event = build_event(
        event_type.id,
        app_id="app-1",
        owner_id="owner-1",
        type_data=type_data,
        user=EventUser(id="u-1", username="ada"),
        source="deployer",
        event_id="ev-1",
        created_at=NOW,
    )

    assert (event.type, event.id, event.created_at, event.source) == (
        event_type.id,
        "ev-1",
        NOW,
        "deployer",
    )
    assert parse_event(event.to_json()) == event  # canonical: ingest takes it as it is
    assert set(type_data) <= set(event.type_data)


def test_event_types_are_every_sendable_catalog_type():
    assert event_types() == [t.id for t in TYPES]
    assert len(event_types()) > 100


def test_a_legacy_name_becomes_the_canonical_type_and_defaults_are_drawn():
    first = build_event("deployment", app_id="a", type_data={"status": "success"})
    second = build_event("deployment", app_id="a", type_data={"status": "success"})

    assert first.type == "app_deployed"
    assert first.id != second.id
    assert first.created_at.tzinfo is not None


def test_an_unknown_type_is_refused_with_close_matches():
    with pytest.raises(InvalidEventError) as caught:
        build_event("app_deploy", app_id="a")

    assert caught.value.reason == "unknown_type"
    assert "'app_deployed'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_group_id_is_not_an_event_type():
    with pytest.raises(InvalidEventError, match="alias or group") as caught:
        build_event("critical_alerts", app_id="a")
    assert caught.value.reason == "unknown_type"


def test_bad_type_data_is_refused_naming_the_fields():
    with pytest.raises(InvalidEventError) as caught:
        build_event("app_deployed", app_id="a", type_data={"duration": "forty seconds"})

    assert caught.value.reason == "invalid_type_data"
    assert {tuple(e["loc"]) for e in caught.value.errors} == {("status",), ("duration",)}
    assert "duration" in caught.value.detail


def test_an_event_without_a_subject_is_refused():
    with pytest.raises(InvalidEventError, match="app_id or an owner_id") as caught:
        build_event("app_deployed", type_data={"status": "success"})
    assert caught.value.reason == "invalid_envelope"


def test_the_platform_record_is_keyed_by_app_with_cloudevents_headers():
    event = build_event(
        "app_deployed",
        app_id="app-9",
        owner_id="o-1",
        type_data={"status": "success"},
        source="deployer",
        created_at=NOW,
    )

    record = platform_record(event, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")

    assert (record.topic, record.key) == ("platform.events", b"app-9")
    assert json.loads(record.value or b"") == json.loads(event.to_json())
    headers = dict(record.headers)
    assert headers["ce_id"] == event.id.encode()
    assert headers["ce_type"] == b"app_deployed"
    assert headers["ce_source"] == b"/herald/deployer"
    assert headers["ce_specversion"] == b"1.0"
    assert datetime.fromisoformat(headers["ce_time"].decode()) == NOW
    assert headers["traceparent"].startswith(b"00-")


def test_an_owner_event_is_keyed_by_owner():
    event = build_event("ACCOUNT_CREATION", owner_id="o-7")
    assert platform_record(event).key == b"o-7"


# --- ingest's HTTP protocol -------------------------------------------------------------------


def events(count: int):
    return [
        build_event("app_deployed", app_id="a", type_data={"status": "success"})
        for _ in range(count)
    ]


def test_a_request_carries_the_token_and_the_events_as_json():
    one, two = events(2)

    single = protocol.request("http://ingest:8081/", "s3cret", [one], batch=False)
    batch = protocol.request("http://ingest:8081", None, [one, two], batch=True)

    assert single.url == batch.url == "http://ingest:8081/v1/events"
    assert single.headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in batch.headers
    assert json.loads(single.body)["id"] == one.id
    assert [e["id"] for e in json.loads(batch.body)] == [one.id, two.id]
    with pytest.raises(ValueError, match="exactly one"):
        protocol.request("http://ingest", None, [one, two], batch=False)


def test_batches_are_split_in_order():
    all_events = events(5)
    assert [len(c) for c in protocol.chunks(all_events, 2)] == [2, 2, 1]
    assert [e for c in protocol.chunks(all_events, 2) for e in c] == all_events


def answer(document: object) -> bytes:
    return json.dumps(document).encode()


def test_accepted_answers_become_receipts():
    single = protocol.receipts(202, {}, answer({"status": "accepted", "id": "e1"}), batch=False)
    batch = protocol.receipts(
        202,
        {},
        answer({"results": [{"index": 0, "status": "accepted", "id": "e1", "type": "t"},
                            {"index": 1, "status": "duplicate", "id": "e2", "type": "t"}]}),
        batch=True,
    )  # fmt: skip

    assert [(r.id, r.status) for r in single] == [("e1", "accepted")]
    assert [(r.id, r.status, r.type) for r in batch] == [
        ("e1", "accepted", "t"),
        ("e2", "duplicate", "t"),
    ]


def test_a_refused_event_surfaces_the_problem_body():
    problem = {
        "title": "Unprocessable",
        "detail": "unknown event type 'x'",
        "reason": "unknown_type",
    }

    with pytest.raises(EventsRejectedError, match="unknown event type 'x'") as caught:
        protocol.receipts(422, {}, answer(problem), batch=False)

    assert caught.value.status == 422
    assert caught.value.problem["reason"] == "unknown_type"
    assert caught.value.results[0]["status"] == "rejected"


def test_a_partly_refused_batch_lists_every_result():
    results = [
        {"index": 0, "status": "accepted", "id": "e1"},
        {"index": 1, "status": "rejected", "id": "e2", "detail": "invalid type_data"},
    ]

    with pytest.raises(EventsRejectedError, match="1 of 2 events refused") as caught:
        protocol.receipts(207, {}, answer({"results": results}), batch=True)

    assert caught.value.results == results


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, AuthenticationError), (400, RequestRefusedError),
     (413, RequestRefusedError)],
)  # fmt: skip
def test_client_errors_carry_status_and_problem(status, error):
    with pytest.raises(error) as caught:
        protocol.receipts(status, {}, answer({"detail": "nope", "kind": "k"}), batch=False)
    assert (caught.value.status, caught.value.problem["kind"]) == (status, "k")
    assert "nope" in str(caught.value)


def test_unavailable_keeps_retry_after_and_a_non_json_body():
    with pytest.raises(UnavailableError) as caught:
        protocol.receipts(503, {"Retry-After": "5"}, answer({"detail": "broker away"}), False)
    assert (caught.value.status, caught.value.retry_after_s) == (503, 5.0)

    with pytest.raises(UnavailableError, match="Bad Gateway") as caught:
        protocol.receipts(502, {}, b"<html>Bad Gateway</html>", batch=True)
    assert caught.value.retry_after_s is None
