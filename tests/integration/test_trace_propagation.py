"""W3C trace context on the real path: ingest → router → webhook sender → receiver.

The `traceparent` an event arrives with (HTTP header or `platform.events` record header) keeps
its trace id on the `notify.events` record, the delivery record and the webhook request the
receiver gets; an event without one gets a new trace.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from herald_core import headers as h
from herald_core import tracing
from herald_core.topics import EVENTS, PLATFORM_EVENTS, Channel, deliveries_topic
from herald_kafka.producer import OutgoingRecord, send_all
from herald_runtime.health import start_site
from herald_runtime.spans import SpanRecorder, otlp_recorder
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import find_record, headers_of
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from support.helpers import deployed, webhook_notifier
from support.pipeline import Herald

pytestmark = pytest.mark.integration


async def post(url: str, body: object, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
        ) as r,
    ):
        return r.status


def trace_of(value: str | None) -> tracing.TraceParent:
    parsed = tracing.parse(value)
    assert parsed is not None, f"not a valid traceparent: {value!r}"
    return parsed


async def test_the_http_traceparent_reaches_the_webhook_with_the_same_trace_id(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    event = deployed(app_id)
    sent = tracing.new_traceparent()

    status = await post(
        herald.events_url, event, {"traceparent": str(sent), "tracestate": "herald=test"}
    )

    assert status == 202
    [request] = await receiver.wait_for(f"/{app_id}")
    received = trace_of(request.headers.get("traceparent"))
    assert received.trace_id == sent.trace_id
    assert received.span_id != sent.span_id  # the delivery's own span, a descendant of ours
    bootstrap = herald.settings.bootstrap_servers
    on_events = await find_record(
        bootstrap, EVENTS, lambda r: event["id"].encode() in (r.value or b"")
    )
    assert trace_of(headers_of(on_events)[h.TRACEPARENT]).trace_id == sent.trace_id
    assert headers_of(on_events)[h.TRACESTATE] == "herald=test"
    on_deliveries = await find_record(
        bootstrap,
        deliveries_topic(Channel.WEBHOOK),
        lambda r: event["id"].encode() in (r.value or b""),
    )
    assert headers_of(on_deliveries)[h.TRACEPARENT] == str(received)
    assert json.loads(on_deliveries.value)["traceparent"] == str(received)


async def test_an_event_without_a_valid_traceparent_starts_a_trace(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    event = deployed(app_id)

    assert await post(herald.events_url, event, {"traceparent": "00-not-a-trace-01"}) == 202

    [request] = await receiver.wait_for(f"/{app_id}")
    received = trace_of(request.headers.get("traceparent"))
    on_events = await find_record(
        herald.settings.bootstrap_servers,
        EVENTS,
        lambda r: event["id"].encode() in (r.value or b""),
    )
    assert trace_of(headers_of(on_events)[h.TRACEPARENT]).trace_id == received.trace_id
    assert h.TRACESTATE not in headers_of(on_events)


async def test_a_platform_events_traceparent_reaches_the_webhook(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    event = deployed(app_id)
    sent = tracing.new_traceparent()

    await send_all(
        herald.producer,
        [
            OutgoingRecord(
                PLATFORM_EVENTS,
                json.dumps(event).encode(),
                app_id.encode(),
                [(h.TRACEPARENT, str(sent).encode())],
            )
        ],
    )

    [request] = await receiver.wait_for(f"/{app_id}")
    assert trace_of(request.headers.get("traceparent")).trace_id == sent.trace_id


@pytest.fixture
def exported(herald: Herald) -> Iterator[InMemorySpanExporter]:
    """The session's services record their spans into an in-memory exporter for one test."""
    exporter = InMemorySpanExporter()
    recorder = SpanRecorder("herald-test", SimpleSpanProcessor(exporter))
    services = (herald.ingest, herald.router, herald.sender)
    for service in services:
        service.spans = recorder
    try:
        yield exporter
    finally:
        for service in services:
            service.spans = None


async def test_the_exported_spans_share_the_trace_id_the_receiver_got(
    herald: Herald, receiver: HttpReceiver, unique: str, exported: InMemorySpanExporter
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    event = deployed(app_id)
    sent = tracing.new_traceparent()

    assert await post(herald.events_url, event, {"traceparent": str(sent)}) == 202

    [request] = await receiver.wait_for(f"/{app_id}")
    received = trace_of(request.headers.get("traceparent"))

    def ours() -> dict[str, Any]:
        return {
            s.name: s
            for s in exported.get_finished_spans()
            if s.attributes and s.attributes.get("herald.event.id") == event["id"]
        }

    await eventually(lambda: set(ours()) == {"ingest", "route", "send"}, what="three spans")
    spans = ours()
    assert {format(s.context.trace_id, "032x") for s in spans.values()} == {sent.trace_id}
    ingest, route, send = spans["ingest"], spans["route"], spans["send"]
    assert format(ingest.parent.span_id, "016x") == sent.span_id
    assert route.parent.span_id == ingest.context.span_id
    assert format(route.context.span_id, "016x") == received.span_id
    assert send.parent.span_id == route.context.span_id


async def test_spans_go_to_an_otlp_collector_when_an_endpoint_is_set() -> None:
    """A stand-in collector on loopback receives the OTLP/HTTP export (protobuf)."""
    bodies: list[bytes] = []

    async def collect(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.Response(status=200, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collect)
    runner, port = await start_site(app, "127.0.0.1", 0)
    try:
        recorder = otlp_recorder("herald-router", f"http://127.0.0.1:{port}")
        assert recorder is not None
        span = tracing.new_traceparent()
        recorder.record("route", span, None, 1)
        await asyncio.to_thread(recorder.shutdown)  # exports the last batch
    finally:
        await runner.cleanup()

    [body] = bodies
    exported = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = exported.resource_spans
    [scope_spans] = resource_spans.scope_spans
    [route] = scope_spans.spans
    assert (route.name, route.trace_id.hex(), route.span_id.hex()) == (
        "route",
        span.trace_id,
        span.span_id,
    )
