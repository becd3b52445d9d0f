"""OpenTelemetry spans of Herald's hops (ingest, route, send), exported over OTLP/HTTP.

Off unless a service's `otlp_endpoint` setting names a collector (`HERALD_<SERVICE>_OTLP_ENDPOINT
=http://collector:4318`). The ids are those Herald propagates (`herald_core.tracing`): the
`ingest` span of an event is the span of its `notify.events` record's `traceparent`, whose
parent is the request's (or `platform.events` record's); a `route` span is a delivery's, whose
parent is the event's; a `send` span is one attempt, whose parent is the delivery's. So the
spans a collector gets form one tree with the receiver's `traceparent` in it.

Spans are recorded once a hop is done, with the start and end it measured, and handed to the
OpenTelemetry SDK's span processor (batched export off the event loop) directly: Herald chooses
the span ids (the router's are derived from delivery ids, so they are the same every time an
event is routed again), which an SDK tracer would draw at random.

The OpenTelemetry SDK and the OTLP exporter (protobuf, an HTTP client: several MiB) are
imported only when a recorder is made: a service without a collector never loads them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from herald_core.tracing import TraceParent
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

Attributes = Mapping[str, str | int | float | bool]


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector: `endpoint` as given when it names a path,
    else with `/v1/traces` (as `OTEL_EXPORTER_OTLP_ENDPOINT` reads). Pure."""
    base = endpoint.rstrip("/")
    scheme_and_host = base.split("://", 1)[-1]
    return base if "/" in scheme_and_host else f"{base}/v1/traces"


def span_context(trace: TraceParent, *, remote: bool = False) -> SpanContext:
    """The OpenTelemetry span context of a `traceparent`. Pure."""
    return SpanContext(
        trace_id=int(trace.trace_id, 16),
        span_id=int(trace.span_id, 16),
        is_remote=remote,
        trace_flags=TraceFlags(int(trace.flags, 16)),
    )


def now_ns() -> int:
    return time.time_ns()


class SpanRecorder:
    """Hands finished spans of one service to a span processor (an OTLP exporter in
    production, an in-memory one in tests)."""

    def __init__(self, service: str, processor: SpanProcessor) -> None:
        from opentelemetry.sdk.resources import Resource  # lazy: the module doc
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self.resource = Resource.create({"service.name": service})
        self.processor = processor
        self._span = ReadableSpan
        self._scope = InstrumentationScope("herald")

    def record(
        self,
        name: str,
        span: TraceParent,
        parent: TraceParent | None,
        start_ns: int,
        *,
        end_ns: int | None = None,
        attributes: Attributes | None = None,
        error: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> None:
        """Export the span `span` (ids and flags), a child of `parent` (None: a root)."""
        finished = self._span(
            name,
            context=span_context(span),
            parent=span_context(parent, remote=True) if parent is not None else None,
            resource=self.resource,
            attributes=dict(attributes or {}),
            kind=kind,
            status=Status(StatusCode.ERROR, error) if error else Status(StatusCode.OK),
            start_time=start_ns,
            end_time=end_ns if end_ns is not None else now_ns(),
            instrumentation_scope=self._scope,
        )
        self.processor.on_end(finished)

    def shutdown(self) -> None:
        """Export what is still queued (a last batch), then stop."""
        self.processor.shutdown()


def otlp_recorder(service: str, endpoint: str | None) -> SpanRecorder | None:
    """The recorder exporting to the collector at `endpoint` over OTLP/HTTP, or None (no
    tracing) without one."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # lazy: the module doc
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return SpanRecorder(service, BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint))))
