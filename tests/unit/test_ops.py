"""herald-ops' pure parts: DLQ names, filters, stats, the safe view, replay plans, the rate limit,
and that every command documents itself (`--help`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.topics import EVENTS, EVENTS_DLQ, Channel
from herald_kafka.producer import OutgoingRecord
from herald_ops.cli import app
from herald_ops.dlq import (
    DeadLetter,
    DlqFilter,
    Skipped,
    TokenBucket,
    describe,
    dlq_topic,
    fresh_headers,
    parse_time,
    plan_replay,
    redact_text,
    replay_topic,
    summarize,
)
from herald_sender.outcomes import dead_letter_record
from typer.testing import CliRunner

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET_URL = "https://hooks.example.com/services/T000/B000/s3cr3t-token?key=hunter2"
EVENT = {
    "id": "evt-1",
    "type": "app_deployed",
    "created_at": "2026-03-12T17:05:14+01:00",
    "source": "deployer",
    "app_id": "app-1",
    "owner_id": "org-1",
    "user": {"id": "u-1", "username": "alice", "email": "alice@example.com"},
    "type_data": {"status": "success", "git_ref": "0a1b2c", "duration": 40},
}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def delivery_letter(reason="server_error", notifier_id="n-1", at=NOW, offset=0) -> DeadLetter:
    """A channel dead letter exactly as the sender writes it."""
    notifier = Notifier(
        id=notifier_id,
        name="hook",
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": SECRET_URL, "secret": "whsec_abc"},
    )
    delivery = Delivery.for_(parse_event(EVENT), notifier, NOW)
    record = dead_letter_record(
        delivery.to_json(),
        notifier_id.encode(),
        [(h.DELIVERY_ID, delivery.id.encode()), (h.TRACEPARENT, b"00-abc-def-01")],
        channel="webhook",
        reason=reason,
        detail=f"HTTP 500 from {SECRET_URL}",
        attempt=6,
        source=("notify.deliveries.webhook", 2, 41),
        first_failed_at=NOW.isoformat(),
    )
    return DeadLetter(
        record.topic, 0, offset, ms(at), record.key, record.value, tuple(record.headers)
    )


def event_letter(value: bytes, reason="unknown_type", at=NOW) -> DeadLetter:
    headers = ((h.TRACEPARENT, b"00-abc-def-01"), (h.DLQ_REASON, reason.encode()))
    return DeadLetter(EVENTS_DLQ, 0, 0, ms(at), b"k", value, headers)


@pytest.mark.parametrize(
    ("name", "dlq", "target"),
    [
        ("webhook", "notify.deliveries.webhook.dlq", "notify.deliveries.webhook"),
        ("googlechat", "notify.deliveries.googlechat.dlq", "notify.deliveries.googlechat"),
        ("events", EVENTS_DLQ, EVENTS),
    ],
)
def test_names_map_to_the_design_topics(name, dlq, target):
    assert (dlq_topic(name), replay_topic(name)) == (dlq, target)


def test_an_unknown_channel_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"unknown channel 'pager'.*webhook.*events"):
        dlq_topic("pager")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("2026-11-20T10:00:00+01:00", datetime(2026, 11, 20, 9, tzinfo=UTC)),
        ("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, tzinfo=UTC)),
    ],
)
def test_times_are_absolute_or_ago(text, expected):
    assert parse_time(text, NOW) == expected


def test_a_bad_time_says_which_forms_work():
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday", NOW)


@pytest.mark.parametrize(
    ("selection", "matches"),
    [
        (DlqFilter(), True),
        (DlqFilter(reasons=frozenset({"server_error"})), True),
        (DlqFilter(reasons=frozenset({"client_error", "timeout"})), False),
        (DlqFilter(notifier_id="n-1"), True),
        (DlqFilter(notifier_id="n-2"), False),
        (DlqFilter(since=NOW - timedelta(minutes=1)), True),
        (DlqFilter(since=NOW + timedelta(minutes=1)), False),
        (DlqFilter(until=NOW), False),  # until is exclusive
        (DlqFilter(until=NOW + timedelta(seconds=1)), True),
        (DlqFilter(reasons=frozenset({"server_error"}), notifier_id="n-2"), False),
    ],
)
def test_filters_combine_with_and(selection, matches):
    assert selection.matches(delivery_letter()) is matches


def test_events_dead_letters_have_no_notifier_and_unlabelled_ones_an_unknown_reason():
    letter = DeadLetter(EVENTS_DLQ, 0, 0, ms(NOW), b"app-1", b"{}")
    assert (letter.notifier_id, letter.reason) == (None, "unknown")
    assert not DlqFilter(notifier_id="app-1").matches(letter)


def test_stats_count_by_reason_with_oldest_and_newest():
    early, late = NOW - timedelta(days=2), NOW + timedelta(hours=1)
    letters = [
        delivery_letter("server_error", at=NOW),
        delivery_letter("client_error", at=early),
        delivery_letter("server_error", at=late),
        delivery_letter("server_error", at=early),
    ]
    rows = summarize("webhook", letters)
    assert [(r.dlq, r.reason, r.count, r.oldest, r.newest) for r in rows] == [
        ("webhook", "client_error", 1, early, early),
        ("webhook", "server_error", 3, early, late),
    ]
    assert rows[0].to_json()["oldest"] == early.isoformat()
    assert summarize("webhook", []) == []


def test_the_view_of_a_dead_letter_never_shows_secrets():
    view = describe(delivery_letter())
    text = json.dumps(view)
    for secret in ("s3cr3t-token", "hunter2", "whsec_abc", "alice@example.com", "/services/"):
        assert secret not in text
    assert view["payload"]["notifier"]["type_data_keys"] == ["secret", "webhook_url"]
    assert view["payload"]["event"]["type"] == "app_deployed"
    assert view["headers"][h.DLQ_REASON] == "server_error"
    assert "https://hooks.example.com" in view["headers"][h.LAST_ERROR]


@pytest.mark.parametrize(
    "value", [b"not json", b"[1, 2]", b"", b'{"id": "e", "type_data": {"token": "x"}}']
)
def test_the_view_of_an_unreadable_or_odd_payload_does_not_raise(value):
    view = describe(event_letter(value))
    assert 'token": "x' not in json.dumps(view)


def test_redact_text_keeps_the_host_of_every_url():
    text = redact_text(f"failed: {SECRET_URL} then ftp://user:pw@files.example.org/x")
    for secret in ("hunter2", "s3cr3t", "pw@", "/x"):
        assert secret not in text
    for host in ("https://hooks.example.com", "ftp://files.example.org"):
        assert host in text


def test_a_replayed_delivery_drops_retry_state_and_keeps_its_delivery_id():
    letter = delivery_letter()
    plan = plan_replay("webhook", letter)
    assert isinstance(plan, OutgoingRecord)
    assert (plan.topic, plan.key, plan.value) == (
        "notify.deliveries.webhook",
        letter.key,
        letter.value,
    )
    names = [k for k, _ in plan.headers]
    kept = {h.DELIVERY_ID, h.ATTEMPT, h.RETRIES_FROM, h.RECIPIENTS_DONE}
    assert not [k for k in names if k.startswith("x-") and k not in kept]
    assert h.header(plan.headers, h.DELIVERY_ID) == h.header(letter.headers, h.DELIVERY_ID)
    assert h.header(plan.headers, h.TRACEPARENT) == "00-abc-def-01"


def test_fresh_headers_go_on_from_the_attempts_made_with_the_schedule_started_over():
    headers = [
        (h.DELIVERY_ID, b"d-1"),
        (h.ATTEMPT, b"6"),
        (h.RETRIES_FROM, b"2"),
        ("x-due-at", b"1"),
        (h.RECIPIENTS_DONE, b"0,2"),
        (h.DLQ_REASON, b"exhausted"),
        ("other", b"v"),
    ]
    assert fresh_headers(headers) == [
        ("other", b"v"),
        (h.DELIVERY_ID, b"d-1"),
        (h.RECIPIENTS_DONE, b"0,2"),
        (h.ATTEMPT, b"6"),
        (h.RETRIES_FROM, b"6"),
    ]
    assert fresh_headers([(h.DELIVERY_ID, b"d-1"), (h.ATTEMPT, b"x")]) == [(h.DELIVERY_ID, b"d-1")]
    assert fresh_headers([]) == []


def test_a_refused_event_that_is_now_valid_goes_to_notify_events():
    plan = plan_replay("events", event_letter(json.dumps(EVENT).encode()))
    assert isinstance(plan, OutgoingRecord)
    assert (plan.topic, plan.key) == (EVENTS, b"app-1")
    assert h.header(plan.headers, h.CE_ID) == "evt-1"
    assert h.header(plan.headers, h.CE_TYPE) == "app_deployed"
    assert h.header(plan.headers, h.TRACEPARENT) == "00-abc-def-01"
    assert h.header(plan.headers, h.DLQ_REASON) is None


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (b"not json", "still invalid: invalid_json"),
        (json.dumps(EVENT | {"type": "no_such_type"}).encode(), "still invalid: unknown_type"),
    ],
)
def test_a_refused_event_still_invalid_is_skipped_with_its_reason(value, why):
    plan = plan_replay("events", event_letter(value))
    assert isinstance(plan, Skipped)
    assert plan.why == why


def test_the_token_bucket_paces_to_the_rate_after_its_burst():
    bucket = TokenBucket(10, burst=2)
    assert [bucket.reserve(0.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.reserve(0.0) == pytest.approx(0.1)
    assert bucket.reserve(0.0) == pytest.approx(0.2)
    assert bucket.reserve(10.0) == 0.0  # refilled, capped at the burst
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["dlq", "--help"],
        ["dlq", "stats", "--help"],
        ["dlq", "show", "--help"],
        ["dlq", "replay", "--help"],
        ["dlq", "purge", "--help"],
    ],
)
def test_every_command_has_help(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_bad_channel_or_time_is_a_usage_error_before_any_connection():
    runner = CliRunner()
    assert runner.invoke(app, ["dlq", "show", "--channel", "pager"]).exit_code == 2
    bad_time = ["dlq", "replay", "--channel", "webhook", "--since", "soon", "--dry-run"]
    assert runner.invoke(app, bad_time).exit_code == 2


def test_purge_without_yes_asks_and_no_aborts_before_any_connection():
    result = CliRunner().invoke(app, ["dlq", "purge", "--channel", "webhook"], input="n\n")
    assert result.exit_code == 1
    assert "cannot be undone" in result.output
