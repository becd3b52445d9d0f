"""The pure parts of the notifier test and of redelivery: sample events, the delivery record,
the waiting for a result, the answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from herald_api.model.sample_events import DEFAULT_TEST_TYPE, resolve_type, sample_event
from herald_api.native.notifier_test_api import result_json, status_of
from herald_api.pipes.delivery_queue import delivery_record
from herald_api.pipes.delivery_results import ResultWaiters, TooManyWaiters
from herald_core import headers as h
from herald_core.catalog import CATALOG
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.notifiers import Notifier
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel

NOW = datetime(2026, 3, 12, 16, 5, tzinfo=UTC)


@pytest.mark.parametrize("event_type", CATALOG.types(), ids=lambda t: t.id)
def test_every_catalog_type_has_a_valid_sample(event_type):
    event = sample_event(
        event_type, event_id="test-1", now=NOW, app_id="app-1", app_name="my-app", owner_id="o-1"
    )
    assert (event.type, event.id, event.app_id, event.source) == (
        event_type.id,
        "test-1",
        "app-1",
        "herald-test",
    )


def test_the_default_sample_is_a_successful_deployment():
    event_type = resolve_type(None)
    assert event_type is not None
    assert event_type.id == DEFAULT_TEST_TYPE
    event = sample_event(
        event_type, event_id="t", now=NOW, app_id="app-1", app_name="a", owner_id=None
    )
    assert event.type_data["status"] == "success"
    assert event.type_data["git_ref"]


@pytest.mark.parametrize(
    ("requested", "resolved"),
    [("deployment", "app_deployed"), ("app_crashed", "app_crashed"), ("nope", None)],
)
def test_resolve_type_knows_legacy_names(requested, resolved):
    found = resolve_type(requested)
    assert (found.id if found else None) == resolved


def a_delivery(traceparent=None):
    notifier = Notifier(
        id="n-1", app_id="app-1", platform=Channel.WEBHOOK, type_data={"webhook_url": "u"}
    )
    event_type = resolve_type(None)
    assert event_type is not None
    event = sample_event(
        event_type, event_id="t", now=NOW, app_id="app-1", app_name="a", owner_id=None
    )
    return Delivery.for_(event, notifier, NOW, traceparent=traceparent)


def test_a_test_record_goes_to_the_channel_topic_keyed_by_notifier_with_the_test_header():
    record = delivery_record(a_delivery(), attempts_so_far=0, test=True)
    assert (record.topic, record.key) == ("notify.deliveries.webhook", b"n-1")
    assert record.headers == [(h.ATTEMPT, b"0"), (h.TEST, b"1")]
    assert Delivery.model_validate_json(record.value or b"") == a_delivery()


def test_a_redelivery_record_says_how_many_attempts_were_made():
    record = delivery_record(a_delivery("00-abc-def-01"), attempts_so_far=3, test=False)
    assert record.headers == [(h.ATTEMPT, b"3"), (h.TRACEPARENT, b"00-abc-def-01")]


def a_result(delivery_id="d-1", **changes):
    fields = {
        "delivery_id": delivery_id,
        "event_id": "t",
        "event_type": "app_deployed",
        "notifier_id": "n-1",
        "channel": Channel.WEBHOOK,
        "outcome": AttemptOutcome.DELIVERED,
        "status_code": 200,
        "duration_ms": 12.5,
        "at": NOW,
        **changes,
    }
    return DeliveryResult(**fields)


@pytest.mark.parametrize(
    ("status_code", "detail", "expected"),
    [
        (200, None, 200),
        (None, "HTTP 404 Not Found", 404),
        (None, "test delivery, not retried: HTTP 410 Gone", 410),
        (None, "connection refused", None),
    ],
)
def test_status_of_reads_the_failure_detail_when_the_result_has_no_status(
    status_code, detail, expected
):
    assert status_of(a_result(status_code=status_code, detail=detail)) == expected


def test_result_json_answers_latency_and_outcome():
    answer = result_json(a_result(response_excerpt="ok"))
    assert (answer["latency_ms"], answer["outcome"], answer["response_excerpt"]) == (
        12.5,
        "delivered",
        "ok",
    )


def started_waiters(max_waiters=2):
    waiters = ResultWaiters(KafkaSettings(client_id="t"), max_waiters=max_waiters)
    waiters._consumer = object()  # type: ignore[assignment]  # dispatch needs no broker
    return waiters


async def test_a_result_reaches_only_its_waiter_and_unreadable_ones_are_skipped():
    waiters = started_waiters()
    async with waiters.wait_for("d-1") as mine, waiters.wait_for("d-2") as other:
        waiters.dispatch(b"d-3", a_result("d-3").to_json())
        waiters.dispatch(b"d-1", b"not json")
        assert not mine.done()
        waiters.dispatch(b"d-1", a_result("d-1").to_json())
        waiters.dispatch(b"d-1", a_result("d-1", attempt=2).to_json())  # the first one counts
        assert (await mine).attempt == 1
        assert not other.done()
    assert waiters.waiting == 0
    assert other.cancelled()


async def test_waiters_are_bounded_and_freed():
    waiters = started_waiters(max_waiters=1)
    async with waiters.wait_for("d-1"):
        with pytest.raises(TooManyWaiters):
            async with waiters.wait_for("d-2"):
                pass
    async with waiters.wait_for("d-2") as future:
        waiters.dispatch(b"d-2", a_result("d-2").to_json())
        assert (await asyncio.wait_for(future, 1)).delivery_id == "d-2"


async def test_waiting_needs_a_started_follower():
    waiters = ResultWaiters(KafkaSettings(client_id="t"))
    with pytest.raises(RuntimeError):
        async with waiters.wait_for("d-1"):
            pass
