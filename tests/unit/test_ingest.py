"""Ingest's pure parts: the repeat window, body decoding, triage, HTTP status, record headers."""

from __future__ import annotations

import json

import pytest
from herald_core import headers as h
from herald_core.errors import FailureReason, InvalidEvent
from herald_core.headers import header
from herald_core.intake import parse_event
from herald_core.topics import EVENTS, EVENTS_DLQ
from herald_ingest.app import Children, single_answer
from herald_ingest.dedup import RecentIds
from herald_ingest.intake import Status, Verdict, decode_body, outcome_status, triage
from herald_ingest.records import event_record
from prometheus_client import CollectorRegistry, Counter

EVENT = {
    "id": "evt-1",
    "type": "app_deployed",
    "created_at": "2026-03-12T17:05:14+01:00",
    "source": "deployer",
    "app_id": "app-1",
    "owner_id": "org-1",
    "type_data": {"status": "success", "duration": 40},
}
NOW = 1_000.0


def item(**changes):
    return {**EVENT, **changes}


def without(key):
    return {k: v for k, v in EVENT.items() if k != key}


def names(record_headers):
    return [k for k, _ in record_headers]


# --- RecentIds ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marked_at", "asked_at", "expected"),
    [
        (100.0, 100.0, True),
        (100.0, 105.0, True),
        (100.0, 109.999, True),
        (100.0, 110.0, False),
        (100.0, 500.0, False),
    ],
    ids=["same-instant", "inside", "just-inside", "at-the-edge", "long-after"],
)
def test_recent_ids_window(marked_at, asked_at, expected):
    recent = RecentIds(capacity=10, window_s=10.0)
    recent.mark("a", marked_at)
    assert recent.seen("a", asked_at) is expected


def test_unknown_id_is_not_seen():
    recent = RecentIds(capacity=10, window_s=10.0)
    recent.mark("a", NOW)
    assert recent.seen("b", NOW) is False


def test_seen_does_not_mark():
    recent = RecentIds(capacity=10, window_s=10.0)
    assert recent.seen("a", NOW) is False
    assert recent.seen("a", NOW) is False
    assert len(recent) == 0


def test_marking_forgets_expired_ids():
    recent = RecentIds(capacity=10, window_s=10.0)
    recent.mark("a", 0.0)
    recent.mark("b", 5.0)
    recent.mark("c", 12.0)  # a is 12 s old: gone; b is 7 s old: kept
    assert len(recent) == 2
    assert [recent.seen(i, 12.0) for i in "abc"] == [False, True, True]
    recent.mark("d", 15.0)  # b is 10 s old: gone
    assert len(recent) == 2
    assert [recent.seen(i, 15.0) for i in "bcd"] == [False, True, True]


@pytest.mark.parametrize(
    ("capacity", "marks", "remembered", "forgotten"),
    [
        (2, "abc", "bc", "a"),
        (3, "abc", "abc", ""),
        (1, "abc", "c", "ab"),
        (2, "abac", "ac", "b"),  # re-marking a moves it to the newest end
        (0, "abc", "", "abc"),
    ],
    ids=["evicts-oldest", "within-capacity", "capacity-one", "lru-refresh", "capacity-zero"],
)
def test_recent_ids_capacity(capacity, marks, remembered, forgotten):
    recent = RecentIds(capacity=capacity, window_s=3600.0)
    for event_id in marks:
        recent.mark(event_id, NOW)
    assert len(recent) == len(remembered)
    assert all(recent.seen(i, NOW) for i in remembered)
    assert not any(recent.seen(i, NOW) for i in forgotten)


def test_a_zero_window_remembers_nothing():
    recent = RecentIds(capacity=10, window_s=0.0)
    recent.mark("a", NOW)
    assert recent.seen("a", NOW) is False
    assert len(recent) == 0


# --- decode_body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "items", "batch"),
    [
        (b'{"id": "e"}', [{"id": "e"}], False),
        (b' \n{"id": "e"}\t\n', [{"id": "e"}], False),
        (b"{}", [{}], False),
        (b'[{"id": "a"}, {"id": "b"}]', [{"id": "a"}, {"id": "b"}], True),
        (b'[{"id": "a"}]', [{"id": "a"}], True),
        (b"[]", [], True),
        (b'[1, "x", null]', [1, "x", None], True),  # each item is judged (and refused) alone
        ('{"name": "café"}'.encode(), [{"name": "café"}], False),
        (b"\xef\xbb\xbf{}", [{}], False),
    ],
    ids=[
        "object",
        "object-with-whitespace",
        "empty-object",
        "array",
        "array-of-one",
        "empty-array",
        "array-of-scalars",
        "utf8",
        "utf8-bom",
    ],
)
def test_decode_body(body, items, batch):
    assert decode_body(body) == (items, batch)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", FailureReason.INVALID_JSON),
        (b"   ", FailureReason.INVALID_JSON),
        (b"{", FailureReason.INVALID_JSON),
        (b"not json", FailureReason.INVALID_JSON),
        (b'{"a": 1,}', FailureReason.INVALID_JSON),
        (b"{'a': 1}", FailureReason.INVALID_JSON),
        (b'{"a": 1} {"b": 2}', FailureReason.INVALID_JSON),
        (b"\x80\x81{}", FailureReason.INVALID_JSON),
        (b'{"a": "\xff"}', FailureReason.INVALID_JSON),
        (b'{"v": NaN}', FailureReason.INVALID_JSON),
        (b'[{"v": Infinity}]', FailureReason.INVALID_JSON),
        (b'{"v": -Infinity}', FailureReason.INVALID_JSON),
        (b"NaN", FailureReason.INVALID_JSON),
        (b"[" * 100_000 + b"]" * 100_000, FailureReason.INVALID_JSON),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, FailureReason.INVALID_JSON),
        (b"1", FailureReason.INVALID_ENVELOPE),
        (b"-2.5", FailureReason.INVALID_ENVELOPE),
        (b'"an event"', FailureReason.INVALID_ENVELOPE),
        (b"true", FailureReason.INVALID_ENVELOPE),
        (b"null", FailureReason.INVALID_ENVELOPE),
    ],
    ids=[
        "empty",
        "blank",
        "truncated",
        "text",
        "trailing-comma",
        "single-quotes",
        "two-documents",
        "not-utf8",
        "invalid-utf8-in-string",
        "nan",
        "infinity",
        "minus-infinity",
        "bare-nan",
        "nested-arrays-100000",
        "nested-objects-100000",
        "int",
        "float",
        "string",
        "bool",
        "null",
    ],
)
def test_decode_body_refuses(body, reason):
    with pytest.raises(InvalidEvent) as caught:
        decode_body(body)
    assert caught.value.reason is reason
    assert caught.value.detail
    assert len(caught.value.detail) < 300


@pytest.mark.parametrize("body", [b'{"v": 1e999}', b'[{"v": -1e400}]'], ids=["1e999", "-1e400"])
def test_decode_body_refuses_numbers_that_overflow_to_infinity(body):
    """`1e999` is Infinity spelt differently: json.loads gives float('inf') for it, which
    an extra type_data field then carries through to `notify.events` as null."""
    with pytest.raises(InvalidEvent) as caught:
        decode_body(body)
    assert caught.value.reason is FailureReason.INVALID_JSON


# --- triage ---------------------------------------------------------------------------------


def test_triage_accepts_onto_notify_events_keyed_by_app_id():
    recent = RecentIds(capacity=10, window_s=60.0)
    verdict, record = triage(item(), recent, NOW, source="http")
    assert verdict.status is Status.ACCEPTED
    assert verdict.event == parse_event(item())
    assert verdict.error is None
    assert record.topic == EVENTS
    assert record.key == b"app-1"
    assert record.value == verdict.event.to_json()
    assert names(record.headers) == [
        h.CE_ID,
        h.CE_TYPE,
        h.CE_SOURCE,
        h.CE_TIME,
        h.CE_SPECVERSION,
    ]
    assert header(record.headers, h.CE_ID) == "evt-1"
    assert header(record.headers, h.CE_TYPE) == "app_deployed"


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"app_id": "app-1", "owner_id": "org-1"}, b"app-1"),
        ({"app_id": "app-1", "owner_id": None}, b"app-1"),
        ({"app_id": None, "owner_id": "org-1"}, b"org-1"),
        ({"app_id": "", "owner_id": "org-1"}, b"org-1"),
    ],
    ids=["app-and-owner", "app-only", "owner-only", "empty-app-id"],
)
def test_triage_keys_by_app_id_else_owner_id(fields, key):
    _, record = triage(item(**fields), RecentIds(10, 60.0), NOW, source="http")
    assert record.topic == EVENTS
    assert record.key == key


def test_triage_writes_the_canonical_type():
    """A legacy Scalingo name is accepted and written under the current type id."""
    verdict, record = triage(item(type="deployment"), RecentIds(10, 60.0), NOW, source="http")
    assert verdict.event.type == "app_deployed"
    assert header(record.headers, h.CE_TYPE) == "app_deployed"
    assert json.loads(record.value)["type"] == "app_deployed"


def test_triage_reads_raw_bytes_when_given():
    raw = json.dumps(item()).encode()
    verdict, record = triage(None, RecentIds(10, 60.0), NOW, source="platform.events", raw=raw)
    assert verdict.status is Status.ACCEPTED
    assert record.topic == EVENTS
    assert record.value == parse_event(raw).to_json()


def test_triage_drops_a_repeat_without_a_record():
    recent = RecentIds(capacity=10, window_s=60.0)
    recent.mark("evt-1", NOW - 30)
    verdict, record = triage(item(), recent, NOW, source="http")
    assert verdict.status is Status.DUPLICATE
    assert verdict.event.id == "evt-1"
    assert record is None


def test_triage_accepts_a_repeat_after_the_window():
    recent = RecentIds(capacity=10, window_s=60.0)
    recent.mark("evt-1", NOW - 60)
    verdict, record = triage(item(), recent, NOW, source="http")
    assert verdict.status is Status.ACCEPTED
    assert record is not None


def test_triage_does_not_mark():
    """The shell marks only after the broker acknowledged the record: a failed send retries."""
    recent = RecentIds(capacity=10, window_s=60.0)
    triage(item(), recent, NOW, source="http")
    assert recent.seen("evt-1", NOW) is False
    assert triage(item(), recent, NOW, source="http")[0].status is Status.ACCEPTED


def test_triage_refuses_an_invalid_repeat_rather_than_dropping_it():
    recent = RecentIds(capacity=10, window_s=60.0)
    recent.mark("evt-1", NOW)
    verdict, record = triage(item(type="nope"), recent, NOW, source="http")
    assert verdict.status is Status.REJECTED
    assert record.topic == EVENTS_DLQ


RAW_HEADERS = [("traceparent", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"), ("k", b"v")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", FailureReason.INVALID_JSON),
        (b"\xff\xfe\x00", FailureReason.INVALID_JSON),
        (b'{"v": NaN}', FailureReason.INVALID_JSON),
        (b"", FailureReason.INVALID_JSON),
        (b"[]", FailureReason.INVALID_ENVELOPE),
        (b"42", FailureReason.INVALID_ENVELOPE),
        (json.dumps(without("id")).encode(), FailureReason.INVALID_ENVELOPE),
        (json.dumps(item(app_id=None, owner_id=None)).encode(), FailureReason.INVALID_ENVELOPE),
        (json.dumps(item(type="no_such_type")).encode(), FailureReason.UNKNOWN_TYPE),
        (json.dumps(item(type="DEPLOYMENT_FAIL")).encode(), FailureReason.UNKNOWN_TYPE),
        (json.dumps(item(type_data={})).encode(), FailureReason.INVALID_TYPE_DATA),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "nan",
        "empty",
        "array",
        "scalar",
        "no-id",
        "no-subject",
        "unknown-type",
        "alias-id-as-type",
        "missing-status",
    ],
)
def test_triage_dead_letters_the_original_bytes(raw, reason):
    verdict, record = triage(
        None,
        RecentIds(10, 60.0),
        NOW,
        source="platform.events",
        raw=raw,
        key=b"producer-key",
        original_headers=RAW_HEADERS,
    )
    assert verdict.status is Status.REJECTED
    assert verdict.event is None
    assert verdict.error.reason is reason
    assert record.topic == EVENTS_DLQ
    assert record.value == raw
    assert record.key == b"producer-key"
    assert record.headers[:2] == RAW_HEADERS
    assert names(record.headers[2:]) == [h.DLQ_REASON, h.DLQ_DETAIL, h.DLQ_SOURCE]
    assert header(record.headers, h.DLQ_REASON) == reason.value
    assert header(record.headers, h.DLQ_DETAIL) == verdict.error.detail
    assert header(record.headers, h.DLQ_SOURCE) == "platform.events"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (item(type="no_such_type"), FailureReason.UNKNOWN_TYPE),
        (item(type_data={"status": 7}), FailureReason.INVALID_TYPE_DATA),
        (without("created_at"), FailureReason.INVALID_ENVELOPE),
        (7, FailureReason.INVALID_ENVELOPE),
        (None, FailureReason.INVALID_ENVELOPE),
    ],
    ids=["unknown-type", "bad-type-data", "no-created-at", "int-item", "null-item"],
)
def test_triage_dead_letters_a_batch_item_as_json(bad, reason):
    """HTTP batch items have no bytes of their own: the item is written back as JSON."""
    verdict, record = triage(bad, RecentIds(10, 60.0), NOW, source="http")
    assert verdict.status is Status.REJECTED
    assert verdict.error.reason is reason
    assert record.topic == EVENTS_DLQ
    assert json.loads(record.value) == bad
    assert record.key is None
    assert header(record.headers, h.DLQ_REASON) == reason.value
    assert header(record.headers, h.DLQ_SOURCE) == "http"


def test_a_batch_item_that_is_a_json_string_is_not_decoded_again():
    """`["{...an event...}"]` is an array of one string, not of one event object."""
    items, batch = decode_body(json.dumps([json.dumps(item())]).encode())
    assert batch is True
    verdict, record = triage(items[0], RecentIds(10, 60.0), NOW, source="http")
    assert verdict.status is Status.REJECTED
    assert verdict.error.reason is FailureReason.INVALID_ENVELOPE
    assert record.topic == EVENTS_DLQ


def test_dead_letter_detail_is_capped():
    huge = item(type="x" * 120, id="i" * 200, type_data={"status": "s" * 5000})
    _, record = triage(huge, RecentIds(10, 60.0), NOW, source="http")
    assert len(dict(record.headers)[h.DLQ_DETAIL]) <= 1000


@pytest.mark.parametrize(
    ("verdict", "expected"),
    [
        (Verdict(Status.ACCEPTED, event=parse_event(item())), {"status": "accepted"}),
        (Verdict(Status.DUPLICATE, event=parse_event(item())), {"status": "duplicate"}),
    ],
    ids=["accepted", "duplicate"],
)
def test_verdict_as_json_names_the_event(verdict, expected):
    assert verdict.as_json() == {**expected, "id": "evt-1", "type": "app_deployed"}
    assert verdict.as_json(3)["index"] == 3


def test_rejected_verdict_as_json_carries_reason_and_errors():
    verdict, _ = triage(item(type="nope"), RecentIds(10, 60.0), NOW, source="http")
    body = verdict.as_json(0)
    assert body["status"] == "rejected"
    assert body["index"] == 0
    assert body["reason"] == "unknown_type"
    assert body["detail"]
    json.dumps(body)


# --- outcome_status -------------------------------------------------------------------------

A, D, R = Status.ACCEPTED, Status.DUPLICATE, Status.REJECTED


@pytest.mark.parametrize(
    ("statuses", "batch", "expected"),
    [
        ([A], False, 202),
        ([D], False, 202),
        ([R], False, 422),
        ([A], True, 202),
        ([R], True, 422),
        ([A, A, D], True, 202),
        ([A, R], True, 207),
        ([D, R], True, 207),
        ([R, A, A], True, 207),
        ([R, R], True, 422),
    ],
    ids=[
        "single-accepted",
        "single-duplicate",
        "single-rejected",
        "batch-one-accepted",
        "batch-one-rejected",
        "batch-accepted-and-duplicate",
        "batch-mixed",
        "batch-duplicate-and-rejected",
        "batch-mostly-accepted",
        "batch-all-rejected",
    ],
)
def test_outcome_status(statuses, batch, expected):
    assert outcome_status([Verdict(s) for s in statuses], batch) == expected


# --- records.event_record -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {},
            {
                h.CE_ID: "evt-1",
                h.CE_TYPE: "app_deployed",
                h.CE_SOURCE: "/herald/deployer",
                h.CE_TIME: "2026-03-12T17:05:14+01:00",
                h.CE_SPECVERSION: "1.0",
            },
        ),
        (
            {"id": "e-2", "source": "scheduler", "created_at": "2026-03-12T16:05:14.250Z"},
            {
                h.CE_ID: "e-2",
                h.CE_TYPE: "app_deployed",
                h.CE_SOURCE: "/herald/scheduler",
                h.CE_TIME: "2026-03-12T16:05:14.250000+00:00",
                h.CE_SPECVERSION: "1.0",
            },
        ),
        (
            {"source": None},
            {
                h.CE_ID: "evt-1",
                h.CE_TYPE: "app_deployed",
                h.CE_SOURCE: "/herald/unknown",
                h.CE_TIME: "2026-03-12T17:05:14+01:00",
                h.CE_SPECVERSION: "1.0",
            },
        ),
    ],
    ids=["deployer", "utc-with-fraction", "default-source"],
)
def test_event_record_headers(fields, expected):
    raw = {k: v for k, v in item(**fields).items() if v is not None}
    record = event_record(parse_event(raw))
    assert {k: v.decode() for k, v in record.headers} == expected
    assert len(record.headers) == len(expected)
    assert all(isinstance(v, bytes) for _, v in record.headers)


@pytest.mark.parametrize(
    ("traceparent", "present"),
    [("00-" + "a" * 32 + "-" + "b" * 16 + "-01", True), (None, False), ("", False)],
    ids=["given", "none", "empty"],
)
def test_event_record_traceparent(traceparent, present):
    record = event_record(parse_event(item()), traceparent=traceparent)
    assert (h.TRACEPARENT in names(record.headers)) is present
    if present:
        assert header(record.headers, h.TRACEPARENT) == traceparent


@pytest.mark.parametrize("status", [Status.ACCEPTED, Status.DUPLICATE])
@pytest.mark.parametrize("event_id", ["evt-1", 'quote " back \\ slash', "é ünïcode ☃", "\u2028"])
def test_single_answer_is_the_json_dump_of_the_verdict(status, event_id):
    verdict = Verdict(status, event=parse_event(item(id=event_id)))
    assert single_answer(verdict) == json.dumps(verdict.as_json()).encode()


def test_single_answer_of_a_refusal_is_the_json_dump_of_the_verdict():
    verdict = Verdict(Status.REJECTED, error=InvalidEvent(FailureReason.UNKNOWN_TYPE, "no"))
    assert single_answer(verdict) == json.dumps(verdict.as_json()).encode()


def test_metric_children_are_bound_once_and_only_when_used():
    registry = CollectorRegistry()
    counter = Counter("t_total", "t", ["outcome"], registry=registry)
    children = Children(counter)
    assert registry.get_sample_value("t_total", {"outcome": "accepted"}) is None
    children[Status.ACCEPTED].inc()
    children[Status.ACCEPTED].inc()
    assert children[Status.ACCEPTED] is counter.labels("accepted")
    assert registry.get_sample_value("t_total", {"outcome": "accepted"}) == 2
    assert registry.get_sample_value("t_total", {"outcome": "duplicate"}) is None
