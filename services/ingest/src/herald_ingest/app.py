"""The ingest service: `POST /v1/events` and the `platform.events` consumer.

Both paths triage events the same way (`intake.triage`) and answer, or commit, only after the
broker acknowledged what they wrote: a 202 means the event is durably on `notify.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import Sequence
from typing import Any

import structlog
from aiohttp import web
from herald_core import headers as h
from herald_core import tracing
from herald_core.errors import FailureReason, InvalidEvent, NotifyError
from herald_core.fast_intake import fast_events
from herald_core.metrics import Children, ConsumerLag, IngestMetrics, Refusal
from herald_core.topics import PLATFORM_EVENTS
from herald_kafka import AIOKafkaProducer, KafkaError
from herald_kafka.connection import start_client
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import (
    OutgoingRecord,
    broker_reachable,
    idempotent_producer,
    send_all,
    stop_producer,
)
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.probe import DependencyProbe
from herald_runtime.problems import problem, problem_middleware
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.spans import SpanRecorder, now_ns, otlp_recorder
from herald_runtime.tasks import TaskSupervisor
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry

from herald_ingest.auth import refusal, server_ssl_context
from herald_ingest.dedup import RecentIds
from herald_ingest.intake import (
    Limits,
    Status,
    Trace,
    Verdict,
    arriving_trace,
    decode_body,
    outcome_status,
    triage,
)
from herald_ingest.records import dead_letter
from herald_ingest.settings import IngestSettings

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 5
GC_YOUNG_THRESHOLD = 20_000
"""Net allocations between two collections of the young generation (Python's default: 700).
A request's objects mostly die with it; at 700 the collector ran about 100 young collections a
second under the benchmark's load, each walking the objects of the requests in flight
(docs/performance.md, Ingest)."""
Judged = tuple[Verdict, OutgoingRecord | None]


def accepted_ids(judged: Sequence[Judged]) -> list[str]:
    """The ids of the events a request would write. Pure."""
    return [
        verdict.event.id
        for verdict, _ in judged
        if verdict.status is Status.ACCEPTED and verdict.event is not None
    ]


def single_answer(verdict: Verdict) -> bytes:
    """`json.dumps(verdict.as_json())` of an accepted or duplicate event, spliced from its id
    and type: the body `web.json_response` would send, without building the dict. Pure."""
    event = verdict.event
    if verdict.error is not None or event is None:
        return json.dumps(verdict.as_json()).encode()
    return (
        f'{{"status": "{verdict.status.value}", "id": {json.dumps(event.id)},'
        f' "type": {json.dumps(event.type)}}}'
    ).encode()


def unavailable(detail: str) -> web.Response:
    """503 with `Retry-After`: nothing was accepted; the same request may be sent again."""
    response = problem(503, detail, kind="unavailable")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


class IngestService:
    """Owns the producer, the HTTP site and the consumer loop; an async context manager."""

    def __init__(
        self,
        settings: IngestSettings,
        registry: CollectorRegistry | None = None,
        *,
        spans: SpanRecorder | None = None,
    ) -> None:
        """`spans`: where to record spans (a test's in-memory exporter); by default an OTLP
        exporter when `settings.otlp_endpoint` is set, else none."""
        self.settings = settings
        self.spans = spans or otlp_recorder("herald-ingest", settings.otlp_endpoint)
        self.registry = registry or CollectorRegistry()
        self.metrics = IngestMetrics.create(self.registry)
        # children bound on first use, then kept: `labels()` costs a lock and lookups each time
        self._outcomes = Children(self.metrics.events)
        self._refusals = Children(self.metrics.refused)
        self._rejections = Children(self.metrics.rejected)
        self.lag = ConsumerLag(self.registry)
        self.recent = RecentIds(settings.dedup_capacity, settings.dedup_window_s)
        self.producer: AIOKafkaProducer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self.tasks = TaskSupervisor(self.registry)
        self._consumer_ready = not settings.consume_platform_events
        every_s = settings.readiness_probe_s
        self.broker = DependencyProbe(
            "broker", lambda: broker_reachable(self.producer, every_s), every_s=every_s
        )
        self.limits = Limits(settings.max_event_bytes, settings.kafka.max_record_bytes)
        self._in_flight: set[str] = set()  # accepted ids whose records await the broker's ack
        self._background: set[asyncio.Future[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> IngestService:
        await start_client(self.producer, self.settings.kafka)
        self.tasks.keep_running(lambda: self.broker.run(self._stop), "broker-probe", self._stop)
        if self.settings.consume_platform_events:
            self.tasks.keep_running(self._consume, "ingest-consumer", self._stop)
        tls = server_ssl_context(self.settings.auth)
        self._runner, self.port = await start_site(
            self.web_app(), self.settings.http.host, self.settings.http.port, ssl_context=tls
        )
        log.info(
            "ingest_listening",
            host=self.settings.http.host,
            port=self.port,
            https=tls is not None,
            mtls=self.settings.auth.mtls,
            open=self.settings.auth.open,
            producer_tokens=len(self.settings.auth.tokens),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.tasks.join()
        await stop_producer(self.producer)
        if self.spans is not None:
            await asyncio.to_thread(self.spans.shutdown)

    def ready(self) -> tuple[bool, str]:
        if not self.broker.ok:
            return False, "broker unreachable"
        return (
            self._consumer_ready,
            "consuming platform.events" if self._consumer_ready else "joining group",
        )

    # --- HTTP ------------------------------------------------------------------------------
    def web_app(self) -> web.Application:
        app = web.Application(
            middlewares=[problem_middleware], client_max_size=self.settings.max_body_bytes
        )
        app.router.add_post("/v1/events", self.post_events)
        add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
        return app

    async def post_events(self, request: web.Request) -> web.Response:
        """Accept one event or a batch; 202 only once the broker has acknowledged them."""
        start_ns = now_ns()
        refused = refusal(request, self.settings.auth)
        if refused is not None:
            self._refusals[Refusal.UNAUTHENTICATED].inc()
            return refused
        body = await request.read()
        fast = fast_events(body)  # well-formed events in one pass; None: judge them slowly
        try:
            items, batch = fast if fast is not None else decode_body(body)
        except InvalidEvent as error:
            # Kept in the background when the broker is slow: the client's error is its own.
            with contextlib.suppress(TimeoutError, KafkaError):
                await self._acknowledged(self._sending([self._dead_letter(body, error)], [], []))
            self._rejections[error.reason].inc()
            return problem(
                400,
                error.detail,
                kind=error.reason.value.replace("_", "-"),
                reason=error.reason.value,
            )
        if len(items) > self.settings.max_batch:
            self._refusals[Refusal.BATCH_TOO_LARGE].inc()
            return problem(
                413, f"a batch holds at most {self.settings.max_batch} events, not {len(items)}"
            )
        if not items:
            self._refusals[Refusal.EMPTY_BATCH].inc()
            return problem(422, "the batch is empty", kind="empty-batch")
        trace = arriving_trace(
            request.headers.get(h.TRACEPARENT), request.headers.get(h.TRACESTATE)
        )
        judged = self._judge(items, trace)
        if fast is not None and any(v.status is Status.REJECTED for v, _ in judged):
            # too large: judged again from the body's JSON, as the slow path writes its letter
            judged = self._judge(decode_body(body)[0], trace)
        ids = accepted_ids(judged)
        if self._in_flight and not self._in_flight.isdisjoint(ids):
            self._refusals[Refusal.IN_FLIGHT].inc()
            return unavailable("an earlier request with this event id still waits for the broker")
        try:
            verdicts = await self._publish(judged, ids)
        except (TimeoutError, KafkaError) as error:
            log.warning("ingest_broker_unavailable", error=f"{type(error).__name__}: {error}"[:300])
            self._refusals[Refusal.BROKER_UNAVAILABLE].inc()
            return unavailable("the broker did not acknowledge the events in time")
        self._record_spans(judged, trace, start_ns, "http", SpanKind.SERVER)
        return self._answer(verdicts, batch)

    def _judge(self, items: Sequence[Any], trace: Trace) -> list[Judged]:
        now = time.monotonic()
        return [
            triage(item, self.recent, now, source="http", limits=self.limits, trace=trace)
            for item in items
        ]

    def _record_spans(
        self, judged: Sequence[Judged], trace: Trace, start_ns: int, source: str, kind: SpanKind
    ) -> None:
        """One `ingest` span per event written: the span of its record's `traceparent`."""
        if self.spans is None:
            return
        for verdict, record in judged:
            if verdict.status is not Status.ACCEPTED or verdict.event is None or record is None:
                continue
            span = tracing.parse(h.header(record.headers, h.TRACEPARENT))
            if span is None:
                continue
            self.spans.record(
                "ingest",
                span,
                trace.parent if trace.given else None,
                start_ns,
                attributes={
                    "herald.event.id": verdict.event.id,
                    "herald.event.type": verdict.event.type,
                    "herald.ingest.source": source,
                },
                kind=kind,
            )

    def _answer(self, verdicts: Sequence[Verdict], batch: bool) -> web.Response:
        status = outcome_status(verdicts, batch)
        if batch:
            return web.json_response(
                {"results": [v.as_json(i) for i, v in enumerate(verdicts)]}, status=status
            )
        verdict = verdicts[0]
        if verdict.error is not None:
            return problem(
                422,
                verdict.error.detail,
                kind="invalid-event",
                reason=verdict.error.reason.value,
                errors=verdict.error.errors,
            )
        return web.Response(
            body=single_answer(verdict),
            status=status,
            content_type="application/json",
            charset="utf-8",
        )

    async def _publish(self, judged: Sequence[Judged], ids: list[str]) -> list[Verdict]:
        """Send the accepted records; answer once the broker acknowledged them.

        Raises:
            TimeoutError, KafkaError: when it did not within `ack_timeout_s`. The records may
            still land later: their ids stay in flight until then (a retry gets a 503 again),
            and are marked seen once acknowledged (a retry after that is a duplicate).
        """
        records = [record for _, record in judged if record is not None]
        await self._acknowledged(self._sending(records, ids, judged))
        return [verdict for verdict, _ in judged]

    def _sending(
        self, records: list[OutgoingRecord], ids: list[str], judged: Sequence[Judged]
    ) -> asyncio.Future[None]:
        self._in_flight.update(ids)
        sending = asyncio.ensure_future(self._send(records, ids, judged))
        self._background.add(sending)
        sending.add_done_callback(self._background.discard)
        return sending

    async def _acknowledged(self, sending: asyncio.Future[None]) -> None:
        """Wait for `sending` at most `ack_timeout_s` (TimeoutError); it goes on after that.

        `asyncio.timeout` around a shield: one future and one timer fewer than `wait_for`."""
        async with asyncio.timeout(self.settings.ack_timeout_s):
            await asyncio.shield(sending)

    async def _send(
        self, records: list[OutgoingRecord], ids: list[str], judged: Sequence[Judged]
    ) -> None:
        try:
            if len(records) == 1 and isinstance(self.producer, AIOKafkaProducer):
                # one record (a single event): its ack future awaited as is, not gathered
                r = records[0]
                await (await self.producer.send(r.topic, r.value, r.key, headers=r.headers))
            else:
                await send_all(self.producer, records)
        finally:
            self._in_flight.difference_update(ids)
        now = time.monotonic()
        for verdict, _ in judged:
            self._count(verdict)
            if verdict.status is Status.ACCEPTED and verdict.event is not None:
                self.recent.mark(verdict.event.id, now)

    def _count(self, verdict: Verdict) -> None:
        self._outcomes[verdict.status].inc()
        if verdict.error is not None:
            self._rejections[verdict.error.reason].inc()

    # --- platform.events ---------------------------------------------------------------------
    async def _consume(self) -> None:
        def consuming() -> None:
            self._consumer_ready = True

        await run_group(
            self.settings.kafka,
            self.settings.group_id,
            [PLATFORM_EVENTS],
            producer=self.producer,
            handle=self._handle_record,
            on_error=self._record_failed,
            stop=self._stop,
            on_subscribed=consuming,
            on_lag=self.lag.reporter(self.settings.group_id),
        )

    async def _handle_record(self, record: Record) -> list[OutgoingRecord]:
        start_ns = now_ns()
        trace = arriving_trace(
            h.header(list(record.headers), h.TRACEPARENT),
            h.header(list(record.headers), h.TRACESTATE),
        )
        verdict, out = triage(
            None,
            self.recent,
            time.monotonic(),
            source=PLATFORM_EVENTS,
            raw=record.value or b"",
            key=record.key,
            original_headers=list(record.headers),
            limits=self.limits,
            trace=trace,
        )
        self._count(verdict)
        if verdict.status is Status.ACCEPTED and verdict.event is not None:
            self.recent.mark(verdict.event.id, time.monotonic())
        # Recorded before the broker's ack (the consumer loop writes it): the span is the
        # event's intake, and a record handled again is traced again.
        self._record_spans([(verdict, out)], trace, start_ns, PLATFORM_EVENTS, SpanKind.CONSUMER)
        return [out] if out is not None else []

    def _record_failed(self, record: Record, exc: Exception) -> list[OutgoingRecord]:
        reason = exc.reason if isinstance(exc, NotifyError) else FailureReason.INTERNAL
        error = InvalidEvent(reason, f"{type(exc).__name__}: {exc}"[:500])
        self._rejections[error.reason].inc()
        return [
            dead_letter(
                record.value or b"",
                error,
                source=PLATFORM_EVENTS,
                key=record.key,
                original=list(record.headers),
                max_record_bytes=self.limits.record_bytes,
            )
        ]

    def _dead_letter(self, body: bytes, error: InvalidEvent) -> OutgoingRecord:
        return dead_letter(body, error, source="http", max_record_bytes=self.limits.record_bytes)


async def serve(settings: IngestSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    async with IngestService(settings):
        # What is alive now (modules, the catalog, settings, clients) lives as long as the
        # process: moved out of the collector's generations, so that the collections that
        # each request's garbage sets off no longer walk it.
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        await stop.wait()
        log.info("ingest_stopping")
