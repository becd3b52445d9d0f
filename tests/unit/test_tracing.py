"""W3C trace context through Herald's records and requests (`herald_core.tracing`)."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from herald_core import headers as h
from herald_core import tracing
from herald_core.deliveries import Delivery, Recipient
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.routing import route
from herald_core.topics import Channel
from herald_ingest.dedup import RecentIds
from herald_ingest.intake import Trace, arriving_trace, triage
from herald_router.records import delivery_record
from herald_runtime.spans import SpanRecorder, otlp_recorder, traces_url
from herald_sender.channels.chat import identity_headers
from herald_sender.channels.webhook import render_webhook
from herald_sender.mail import render_email
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
PARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"
NOW = datetime(2026, 3, 12, 16, 5, 20, tzinfo=UTC)
EVENT = {
    "id": "evt-1",
    "type": "app_deployed",
    "created_at": "2026-03-12T17:05:14+01:00",
    "source": "deployer",
    "app_id": "app-1",
    "owner_id": "org-1",
    "type_data": {"status": "success", "duration": 40},
}


# --- parse --------------------------------------------------------------------------------


def test_parse_reads_the_four_fields():
    assert tracing.parse(PARENT) == tracing.TraceParent(TRACE_ID, SPAN_ID, "01")
    assert str(tracing.parse(PARENT)) == PARENT


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE_ID}-{SPAN_ID}",  # no flags
        f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",  # upper-case hex
        f"00-{'0' * 32}-{SPAN_ID}-01",  # all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",  # all-zero span id
        f"ff-{TRACE_ID}-{SPAN_ID}-01",  # forbidden version
        f"00-{TRACE_ID}-{SPAN_ID}-01-extra",  # version 00 has exactly four fields
        f"00-{TRACE_ID}-{SPAN_ID}-01\r\nX-Injected: 1",
        f"00-{TRACE_ID[:-1]}-{SPAN_ID}-01",
    ],
)
def test_parse_refuses_invalid_values(value):
    assert tracing.parse(value) is None


def test_a_later_version_is_read_as_version_00():
    parsed = tracing.parse(f"01-{TRACE_ID}-{SPAN_ID}-01-more")
    assert parsed == tracing.TraceParent(TRACE_ID, SPAN_ID, "01")


# --- new, incoming, child ----------------------------------------------------------------


def test_a_new_trace_is_valid_and_fresh():
    first, second = tracing.new_traceparent(), tracing.new_traceparent()
    assert tracing.parse(str(first)) == first
    assert first.trace_id != second.trace_id


def test_incoming_keeps_a_valid_parent_and_starts_a_trace_otherwise():
    assert str(tracing.incoming(PARENT)) == PARENT
    fresh = tracing.incoming("nonsense")
    assert tracing.parse(str(fresh)) == fresh


def test_child_keeps_the_trace_id_and_flags_with_a_span_of_its_own():
    parent = tracing.TraceParent(TRACE_ID, SPAN_ID, "00")
    kid = tracing.child(parent, "delivery-1")
    assert (kid.trace_id, kid.flags) == (TRACE_ID, "00")
    assert kid.span_id != SPAN_ID
    assert tracing.parse(str(kid)) == kid


def test_child_is_pure_and_differs_by_seed():
    parent = tracing.TraceParent(TRACE_ID, SPAN_ID)
    assert tracing.child(parent, "a") == tracing.child(parent, "a")
    assert tracing.child(parent, "a").span_id != tracing.child(parent, "b").span_id


def test_child_value_of_an_invalid_parent_is_none():
    assert tracing.child_value("00-abc-def-01", "d") is None
    assert tracing.child_value(None, "d") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7"), ("", None), (None, None)],
)
def test_tracestate(value, expected):
    assert tracing.tracestate(value) == expected


def test_tracestate_refuses_long_or_unprintable_values():
    assert tracing.tracestate("a=" + "b" * 600) is None
    assert tracing.tracestate("a=b\nc") is None


# --- ingest --------------------------------------------------------------------------------


def test_arriving_trace_keeps_a_valid_parent_and_its_state():
    assert arriving_trace(PARENT, "rojo=1") == Trace(
        tracing.TraceParent(TRACE_ID, SPAN_ID), "rojo=1"
    )


def test_arriving_trace_without_a_valid_parent_starts_one_and_drops_the_state():
    trace = arriving_trace("00-bad", "rojo=1")
    assert trace.state is None
    assert trace.parent.trace_id != TRACE_ID


def test_triage_writes_a_child_of_the_arriving_trace_on_the_event_record():
    trace = arriving_trace(PARENT, "rojo=1")
    _, record = triage(EVENT, RecentIds(10, 60), 0.0, source="http", trace=trace)
    written = tracing.parse(h.header(record.headers, h.TRACEPARENT))
    assert written is not None
    assert written.trace_id == TRACE_ID
    assert written.span_id != SPAN_ID
    assert h.header(record.headers, h.TRACESTATE) == "rojo=1"


# --- router ------------------------------------------------------------------------------


def webhook_notifier(id_="n-1"):
    return Notifier(
        id=id_,
        name="ops",
        scope=Scope.APP,
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": "https://hooks.example.com/x"},
    )


def test_route_gives_each_delivery_a_child_of_the_event_trace():
    event = parse_event(EVENT)
    deliveries = route(
        event, [webhook_notifier("n-1"), webhook_notifier("n-2")], NOW, traceparent=PARENT
    )
    parsed = [tracing.parse(d.traceparent) for d in deliveries]
    assert [p.trace_id for p in parsed] == [TRACE_ID, TRACE_ID]
    assert len({p.span_id for p in parsed} | {SPAN_ID}) == 3


def test_the_delivery_record_carries_the_delivery_trace_and_the_event_state():
    event = parse_event(EVENT)
    (delivery,) = route(event, [webhook_notifier()], NOW, traceparent=PARENT)
    event_headers = [(h.CE_ID, b"evt-1"), (h.TRACEPARENT, PARENT.encode()), (h.TRACESTATE, b"r=1")]
    record = delivery_record(delivery, event_headers)
    assert [k for k, _ in record.headers].count(h.TRACEPARENT) == 1
    assert h.header(record.headers, h.TRACEPARENT) == delivery.traceparent
    assert h.header(record.headers, h.TRACESTATE) == "r=1"


# --- sender --------------------------------------------------------------------------------


def a_delivery(traceparent, channel=Channel.WEBHOOK):
    event = parse_event(EVENT)
    notifier = webhook_notifier().model_copy(update={"platform": channel})
    if channel is Channel.EMAIL:
        notifier = notifier.model_copy(update={"type_data": {"emails": ["ann@example.com"]}})
    recipients = (Recipient(address="ann@example.com"),) if channel is Channel.EMAIL else ()
    return Delivery.for_(event, notifier, NOW, recipients=recipients, traceparent=traceparent)


def test_the_webhook_request_carries_the_delivery_traceparent():
    assert render_webhook(a_delivery(PARENT), NOW).headers["traceparent"] == PARENT


@pytest.mark.parametrize("traceparent", [None, "00-abc-def-01\r\nX: y"])
def test_no_or_an_invalid_traceparent_is_not_sent(traceparent):
    assert "traceparent" not in render_webhook(a_delivery(traceparent), NOW).headers
    assert "traceparent" not in identity_headers(a_delivery(traceparent))


def test_chat_requests_carry_the_delivery_traceparent():
    assert identity_headers(a_delivery(PARENT))["traceparent"] == PARENT


def test_a_notifier_cannot_set_traceparent_itself():
    delivery = a_delivery(PARENT)
    custom = {**delivery.notifier.type_data, "headers": {"Traceparent": "00-x", "tracestate": "y"}}
    notifier = delivery.notifier.model_copy(update={"type_data": custom})
    headers = render_webhook(delivery.model_copy(update={"notifier": notifier}), NOW).headers
    assert headers["traceparent"] == PARENT
    assert "Traceparent" not in headers
    assert "tracestate" not in headers


def test_a_mail_carries_x_herald_traceparent():
    delivery = a_delivery(PARENT, Channel.EMAIL)
    message = render_email(
        delivery,
        delivery.recipients[0],
        from_addr="Herald <n@herald.local>",
        unsubscribe_base_url="https://api.herald.example",
        secret="s",
        now=NOW,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed[h.HERALD_TRACEPARENT] == PARENT


# --- OpenTelemetry spans (herald_runtime.spans) --------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("http://collector:4318/", "http://collector:4318/v1/traces"),
        ("https://otel.example.com/custom/traces", "https://otel.example.com/custom/traces"),
    ],
)
def test_traces_url(endpoint, url):
    assert traces_url(endpoint) == url


def test_no_endpoint_no_recorder():
    assert otlp_recorder("herald-router", None) is None
    assert otlp_recorder("herald-router", "") is None


def test_a_recorded_span_has_herald_ids_parent_and_service():
    exporter = InMemorySpanExporter()
    recorder = SpanRecorder("herald-router", SimpleSpanProcessor(exporter))
    parent = tracing.TraceParent(TRACE_ID, SPAN_ID)
    kid = tracing.child(parent, "d-1")

    recorder.record("route", kid, parent, 1_000, end_ns=2_000, attributes={"herald.x": "y"})
    recorder.record("send", tracing.child(kid, "1"), kid, 3_000, error="timeout: 10 s")

    route_span, send_span = exporter.get_finished_spans()
    assert route_span.name == "route"
    assert format(route_span.context.trace_id, "032x") == TRACE_ID
    assert format(route_span.context.span_id, "016x") == kid.span_id
    assert format(route_span.parent.span_id, "016x") == SPAN_ID
    assert (route_span.start_time, route_span.end_time) == (1_000, 2_000)
    assert route_span.attributes["herald.x"] == "y"
    assert route_span.resource.attributes["service.name"] == "herald-router"
    assert route_span.status.status_code is StatusCode.OK
    assert send_span.status.status_code is StatusCode.ERROR
    assert send_span.status.description == "timeout: 10 s"


def test_a_root_span_has_no_parent():
    exporter = InMemorySpanExporter()
    SpanRecorder("herald-ingest", SimpleSpanProcessor(exporter)).record(
        "ingest", tracing.new_traceparent(), None, 1
    )
    assert exporter.get_finished_spans()[0].parent is None
