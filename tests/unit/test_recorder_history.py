"""The recorder's pure parts and the history API's: rows, the sink seam, cursors, queries."""

from __future__ import annotations

import asyncio
import base64
import json
import string
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from herald_api.http.keyset import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    decode_cursor,
    encode_cursor,
    parse_time,
)
from herald_api.http.web import ApiProblem
from herald_api.native.history_api import (
    HistoryQuery,
    attempt_json,
    list_sql,
    parse_history_query,
    summary_json,
)
from herald_api.native.native_wire import DeliveryAnswer, DeliveryDetail, DeliveryList
from herald_core.deliveries import AttemptOutcome, DeliveryResult
from herald_core.topics import DELIVERY_RESULTS, Channel
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder import sink as sink_module
from herald_recorder.metrics import RecorderMetrics
from herald_recorder.rows import (
    INT4_MAX,
    STAGING_COLUMNS,
    TEXT_MAX,
    Unrecordable,
    attempt_row,
    batch_rows,
    clean_text,
    recordable,
    settles,
)
from herald_recorder.settings import RecorderSettings
from herald_recorder.sink import HistorySink, HistoryUnavailable, HistoryWriter
from herald_recorder.store import Recorded
from prometheus_client import CollectorRegistry

AT = datetime(2026, 3, 12, 16, 5, 21, 500_000, tzinfo=UTC)
URL_SAFE = string.ascii_letters + string.digits + "-_"


def result(**changes):
    fields = {
        "delivery_id": "d-1",
        "event_id": "evt-1",
        "event_type": "app_deployed",
        "app_id": "app-1",
        "owner_id": "org-1",
        "notifier_id": "n-1",
        "channel": Channel.WEBHOOK,
        "attempt": 1,
        "outcome": AttemptOutcome.DELIVERED,
        "status_code": 200,
        "duration_ms": 12.5,
        "at": AT,
        **changes,
    }
    return DeliveryResult(**fields)


# --- rows -----------------------------------------------------------------------------------


def test_attempt_row_follows_the_staging_columns():
    row = attempt_row(result(reason="server_error", detail="HTTP 503", response_excerpt="busy"))
    assert dict(zip(STAGING_COLUMNS, row, strict=True)) == {
        "delivery_id": "d-1",
        "attempt": 1,
        "event_id": "evt-1",
        "event_type": "app_deployed",
        "app_id": "app-1",
        "owner_id": "org-1",
        "notifier_id": "n-1",
        "channel": "webhook",
        "outcome": "delivered",
        "reason": "server_error",
        "detail": "HTTP 503",
        "status_code": 200,
        "duration_ms": 12.5,
        "at": AT,
        "response_excerpt": "busy",
        "delivery": None,
    }


def test_batch_rows_keeps_the_first_of_repeats_in_arrival_order():
    results = [
        result(delivery_id="d-2", attempt=1),
        result(delivery_id="d-1", attempt=3, detail="first"),
        result(delivery_id="d-1", attempt=1),
        result(delivery_id="d-1", attempt=3, detail="again"),
        result(delivery_id="d-2", attempt=1),
    ]
    rows = batch_rows(results)
    assert [(r[0], r[1], r[10]) for r in rows] == [
        ("d-2", 1, None),
        ("d-1", 3, "first"),
        ("d-1", 1, None),
    ]


@pytest.mark.parametrize(
    ("outcomes", "kept"),
    [
        (["retry_scheduled", "delivered"], "second"),  # a sender killed between the records
        (["retry_scheduled", "dead_lettered"], "second"),
        (["retry_scheduled", "retry_scheduled"], "first"),
        (["delivered", "retry_scheduled"], "first"),  # a settled attempt is never reopened
        (["delivered", "dead_lettered"], "first"),
        (["retry_scheduled", "delivered", "dead_lettered"], "second"),
    ],
)
def test_a_repeat_that_settles_a_scheduled_retry_replaces_it(outcomes, kept):
    names = ["first", "second", "third"]
    results = [
        result(delivery_id="d-1", attempt=2, outcome=AttemptOutcome(o), detail=name)
        for o, name in zip(outcomes, names, strict=False)
    ]
    [row] = batch_rows(results)
    assert row[10] == kept  # the detail names which result


@pytest.mark.parametrize(
    ("kept", "repeat", "replaced"),
    [
        ("retry_scheduled", "delivered", True),
        ("retry_scheduled", "dead_lettered", True),
        ("retry_scheduled", "retry_scheduled", False),
        ("delivered", "retry_scheduled", False),
        ("dead_lettered", "delivered", False),
    ],
)
def test_settles(kept, repeat, replaced):
    assert settles(kept, repeat) is replaced


def test_batch_rows_of_nothing_is_nothing():
    assert batch_rows([]) == []


def test_results_written_before_the_new_fields_still_parse_and_record():
    old = json.loads(result().to_json())
    for name in ("app_id", "owner_id", "response_excerpt"):
        del old[name]
    parsed = recordable(DeliveryResult.model_validate(old))
    assert (parsed.app_id, parsed.owner_id, parsed.response_excerpt) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        (None, None),
        ("HTTP 503", "HTTP 503"),
        ("a\x00b", "a\ufffdb"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("x" * (TEXT_MAX + 5), "x" * TEXT_MAX),
    ],
    ids=["none", "plain", "nul", "surrogate", "long"],
)
def test_clean_text(text, cleaned):
    assert clean_text(text) == cleaned


def test_recordable_cleans_free_text_and_moves_the_time_to_utc():
    paris = datetime(2026, 3, 12, 17, 5, 21, tzinfo=timezone(timedelta(hours=1)))
    cleaned = recordable(result(detail="bad\x00byte", reason="r" * 3000, at=paris))
    assert cleaned.detail == "bad\ufffdbyte"
    assert cleaned.reason == "r" * TEXT_MAX
    assert (cleaned.at, cleaned.at.tzinfo) == (paris, UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"delivery_id": ""}, "delivery_id"),
        ({"delivery_id": "d\x00"}, "delivery_id"),
        ({"notifier_id": "\udc80"}, "notifier_id"),
        ({"app_id": "app\x00"}, "app_id"),
        ({"attempt": 0}, "attempt"),
        ({"attempt": INT4_MAX + 1}, "attempt"),
        ({"status_code": -1}, "status_code"),
        ({"status_code": 2**40}, "status_code"),
        ({"duration_ms": float("nan")}, "duration_ms"),
        ({"duration_ms": float("inf")}, "duration_ms"),
        (
            {"at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))},
            "at",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_unrecordable_results_name_their_field(changes, field):
    with pytest.raises(Unrecordable, match=f"^{field}:"):
        recordable(result(**changes))


# --- the sink: Postgres where the shell expects a producer ---------------------------------


def outgoing(*results):
    return [OutgoingRecord(DELIVERY_RESULTS, r.to_json(), r.delivery_id.encode()) for r in results]


async def test_the_shell_awaiting_its_acks_writes_the_whole_batch_once():
    writes = []

    async def write(batch):
        writes.append([r.delivery_id for r in batch])

    sink = HistorySink(write)
    await send_all(sink, outgoing(result(delivery_id="a"), result(delivery_id="b")))
    await send_all(sink, outgoing(result(delivery_id="c")))
    await send_all(sink, [])
    assert writes == [["a", "b"], ["c"]]


async def test_the_acks_are_not_given_before_the_write_finished():
    release = asyncio.Event()
    done = []

    async def write(batch):
        await release.wait()
        done.append(len(batch))

    acked = asyncio.create_task(send_all(HistorySink(write), outgoing(result(), result())))
    await asyncio.sleep(0.01)
    assert not acked.done()
    release.set()
    await acked
    assert done == [2]


async def test_a_failed_write_fails_the_acks():
    async def write(batch):
        raise HistoryUnavailable("database down")

    with pytest.raises(HistoryUnavailable):
        await send_all(HistorySink(write), outgoing(result()))


# --- the writer's retry and refusal policy (store.record faked) ------------------------------


class FakeStore:
    """Stands for `store.record`: fails as told, then records every row as new."""

    def __init__(self, *failures, refuse=()):
        self.failures = list(failures)
        self.refuse = set(refuse)
        self.calls = []

    async def record(self, pool, rows):
        self.calls.append([(r[0], r[1]) for r in rows])
        if self.failures:
            raise self.failures.pop(0)
        if any(r[0] in self.refuse for r in rows):
            raise asyncpg.DataError("invalid byte sequence")
        return [Recorded(r[0], r[1], r[13]) for r in rows]


def writer(monkeypatch, fake, stop=None):
    monkeypatch.setattr(sink_module.store, "record", fake.record)
    registry = CollectorRegistry()
    history = HistoryWriter(
        None,
        RecorderMetrics.create(registry),
        stop or asyncio.Event(),
        retry_initial_s=0.001,
        retry_max_s=0.004,
        clock=lambda: AT + timedelta(seconds=2),
    )
    return history, registry


def count(registry, outcome):
    return registry.get_sample_value("herald_recorder_results_total", {"outcome": outcome}) or 0


async def test_writer_retries_until_the_database_takes_the_batch(monkeypatch):
    fake = FakeStore(OSError("connection refused"), asyncpg.PostgresConnectionError("gone"))
    history, registry = writer(monkeypatch, fake)
    await history.write([result(delivery_id="a"), result(delivery_id="a"), result(delivery_id="b")])
    assert len(fake.calls) == 3
    assert history.healthy
    assert (count(registry, "recorded"), count(registry, "duplicate")) == (2, 1)
    assert registry.get_sample_value("herald_recorder_write_failures_total") == 2
    assert registry.get_sample_value("herald_recorder_lag_seconds_sum") == 4.0


async def test_writer_gives_up_only_when_stopping(monkeypatch):
    stop = asyncio.Event()
    stop.set()
    history, _ = writer(monkeypatch, FakeStore(OSError("refused")), stop)
    with pytest.raises(HistoryUnavailable, match="refused"):
        await history.write([result()])
    assert not history.healthy


async def test_writer_skips_only_the_row_the_database_refuses(monkeypatch):
    fake = FakeStore(refuse={"bad"})
    history, registry = writer(monkeypatch, fake)
    await history.write([result(delivery_id="a"), result(delivery_id="bad"), result()])
    assert fake.calls == [
        [("a", 1), ("bad", 1), ("d-1", 1)],
        [("a", 1)],
        [("bad", 1)],
        [("d-1", 1)],
    ]
    assert (count(registry, "recorded"), count(registry, "invalid")) == (2, 1)


# --- the history API's cursor and query -----------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        Cursor(AT, "0b7c4a53-8a0e-5d5f-9b0c-3b3f0e0d7a11"),
        Cursor(datetime(2026, 1, 1, tzinfo=UTC), "d"),
        Cursor(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "é/+="),
    ],
)
def test_cursor_round_trips(cursor):
    token = encode_cursor(cursor)
    assert set(token) <= set(URL_SAFE)  # no escaping needed in a query string
    assert decode_cursor(token) == cursor


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "é",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00+00:00"]').decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00", "d"]').decode(),  # no offset
        base64.urlsafe_b64encode(b'["yesterday", "d"]').decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00Z", 7]').decode(),
        base64.urlsafe_b64encode(b'["2026-01-01T00:00:00Z", "d\\u0000"]').decode(),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
    ],
)
def test_cursor_rejects_what_it_did_not_make(token):
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(token)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-12T16:05:21Z", datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)),
        ("2026-03-12T17:05:21+01:00", datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)),
        ("2026-03-12T17:05:21 01:00", datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)),
        ("2026-03-12 16:05:21.5Z", datetime(2026, 3, 12, 16, 5, 21, 500_000, tzinfo=UTC)),
    ],
    ids=["zulu", "offset", "unencoded-plus", "space-separator"],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-03-12", "2026-03-12T16:05:21", "soon", "0001-01-01T00:00+05:00"]
)
def test_parse_time_wants_an_offset(text):
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_time(text)


def test_parse_history_query_defaults():
    assert parse_history_query({}) == HistoryQuery(limit=DEFAULT_LIMIT)


def test_parse_history_query_reads_every_parameter_and_caps_the_limit():
    cursor = Cursor(AT, "d-9")
    query = parse_history_query(
        {
            "notifier_id": "n-1",
            "status": "dead_lettered",
            "event_type": "app_deployed",
            "since": "2026-03-01T00:00:00Z",
            "until": "2026-04-01T00:00:00Z",
            "cursor": encode_cursor(cursor),
            "limit": "1000",
        }
    )
    assert query == HistoryQuery(
        notifier_id="n-1",
        status=AttemptOutcome.DEAD_LETTERED,
        event_type="app_deployed",
        since=datetime(2026, 3, 1, tzinfo=UTC),
        until=datetime(2026, 4, 1, tzinfo=UTC),
        cursor=cursor,
        limit=MAX_LIMIT,
    )


def test_parse_history_query_names_every_bad_parameter():
    with pytest.raises(ApiProblem) as caught:
        parse_history_query(
            {
                "status": "lost",
                "since": "yesterday",
                "cursor": "garbage",
                "limit": "0",
                "notifier_id": "n\x00",
            }
        )
    assert caught.value.status == 422
    assert set(caught.value.errors) == {"status", "since", "cursor", "limit", "notifier_id"}
    assert "delivered" in caught.value.errors["status"][0]


@pytest.mark.parametrize("limit", ["x", "1.5", "-3"])
def test_parse_history_query_refuses_a_bad_limit(limit):
    with pytest.raises(ApiProblem) as caught:
        parse_history_query({"limit": limit})
    assert set(caught.value.errors) == {"limit"}


def test_list_sql_without_filters_pages_by_time_then_id():
    sql, args = list_sql("app-1", HistoryQuery(limit=10))
    assert "WHERE app_id = $1 ORDER BY first_attempt_at DESC, id DESC LIMIT $2" in sql
    assert args == ["app-1", 11]


def test_list_sql_numbers_its_placeholders_in_order():
    query = HistoryQuery(
        notifier_id="n-1",
        status=AttemptOutcome.DELIVERED,
        since=datetime(2026, 3, 1, tzinfo=UTC),
        cursor=Cursor(AT, "d-9"),
        limit=5,
    )
    sql, args = list_sql("app-1", query)
    assert (
        "app_id = $1 AND notifier_id = $2 AND status = $3 AND first_attempt_at >= $4"
        " AND (first_attempt_at, id) < ($5, $6)"
    ) in sql
    assert sql.endswith("LIMIT $7")
    assert args == ["app-1", "n-1", "delivered", datetime(2026, 3, 1, tzinfo=UTC), AT, "d-9", 6]


def test_answers_built_by_hand_match_their_wire_models():
    summary = {
        "id": "d-1",
        "app_id": "app-1",
        "owner_id": None,
        "event_id": "evt-1",
        "event_type": "app_deployed",
        "notifier_id": "n-1",
        "channel": "webhook",
        "status": "dead_lettered",
        "status_code": 410,
        "reason": "client_error",
        "attempt_count": 2,
        "latest_attempt": 2,
        "first_attempt_at": AT,
        "last_attempt_at": AT + timedelta(minutes=1),
    }
    attempt = {
        "attempt": 2,
        "outcome": "dead_lettered",
        "status_code": 410,
        "duration_ms": 41.7,
        "reason": "client_error",
        "detail": "HTTP 410",
        "response_excerpt": "gone",
        "at": AT,
    }
    listed = {"deliveries": [summary_json(summary)], "next_cursor": encode_cursor(Cursor(AT, "d"))}
    shown = {"delivery": {**summary_json(summary), "attempts": [attempt_json(attempt)]}}
    assert DeliveryList.model_validate(json.loads(json.dumps(listed))).deliveries[0].id == "d-1"
    answer = DeliveryAnswer.model_validate(json.loads(json.dumps(shown)))
    assert answer.delivery.attempts[0].at == AT
    assert set(shown["delivery"]) == set(DeliveryDetail.model_fields)


# --- settings -------------------------------------------------------------------------------


def test_recorder_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("HERALD_RECORDER_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("HERALD_RECORDER_HTTP__PORT", "8080")
    monkeypatch.setenv("HERALD_RECORDER_DATABASE_URL", "postgresql://h@db/herald")
    monkeypatch.setenv("HERALD_RECORDER_BATCH_MAX", "50")
    settings = RecorderSettings()
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.kafka.client_id == "herald-recorder"  # the default survives the partial update
    assert settings.http.port == 8080
    assert settings.database_url.get_secret_value() == "postgresql://h@db/herald"
    assert settings.batch_max == 50


def test_recorder_settings_defaults_point_at_the_local_stack():
    settings = RecorderSettings()
    assert (settings.http.port, settings.group_id) == (18084, "herald-recorder")
    assert "127.0.0.1:15432" in settings.database_url.get_secret_value()


# --- the delivery a result carries (for redelivery) ------------------------------------------


def a_delivery(**type_data):
    from herald_core.deliveries import Delivery, NotifierSnapshot
    from herald_core.envelope import Event

    event = Event(id="evt-1", type="app_deployed", created_at=AT, app_id="app-1", type_data={})
    return Delivery(
        id="d-1",
        channel=Channel.WEBHOOK,
        event=event,
        notifier=NotifierSnapshot(
            id="n-1", name="hook", platform=Channel.WEBHOOK, version=1, type_data=type_data
        ),
        routed_at=AT,
    )


def test_the_delivery_a_result_carries_goes_in_its_row_as_json():
    delivery = a_delivery(webhook_url="https://example.com/hook")
    row = dict(zip(STAGING_COLUMNS, attempt_row(result(delivery=delivery)), strict=True))
    assert json.loads(row["delivery"]) == json.loads(delivery.model_dump_json())


@pytest.mark.parametrize(
    "type_data",
    [{"note": "a\x00b"}, {"note": "x" * 1_000_001}],
    ids=["nul", "too-long"],
)
def test_a_delivery_postgres_cannot_hold_is_dropped_not_the_attempt(type_data):
    row = dict(
        zip(STAGING_COLUMNS, attempt_row(result(delivery=a_delivery(**type_data))), strict=True)
    )
    assert (row["delivery"], row["attempt"], row["outcome"]) == (None, 1, "delivered")
