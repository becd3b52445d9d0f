"""The router service: config view + pure routing → `notify.deliveries.<channel>`.

`RouterService(settings, consumer_factory=…, clock=…)`: the consumer of `notify.events` and the
clock are parameters with production defaults (`group_consumer`, UTC now), so a benchmark or a
test hands in its own instead of patching the module.

Start-up order matters: the config view catches up with the compacted topics first (`/readyz`
says 503 until then), and only then does the router join its group on `notify.events`, so no
event is ever routed against a half-read configuration.

`GET /view` on the health port says where the view stands: `ready`, `routing`, the notifiers
held and their digest (`herald_router.digest`: order-independent, kept current), the records
applied and refused, and the lag. The digest is also logged when routing starts.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from herald_core import headers as h
from herald_core import tracing
from herald_core.delivery_json import time_json
from herald_core.errors import FailureReason, InvalidEvent, NotifyError
from herald_core.headers import header
from herald_core.metrics import Children, ConsumerLag, Outcome, RouterMetrics
from herald_core.routing import is_forwarded, receivers
from herald_core.topics import CONFIG_APPS, CONFIG_OWNERS, EVENTS, EVENTS_DLQ
from herald_core.wire_event import WireEvent, decode_event
from herald_kafka.config_view import MaterializedView
from herald_kafka.connection import start_client
from herald_kafka.consumer import ConsumerFactory, Record, group_consumer, run_group
from herald_kafka.producer import OutgoingRecord, idempotent_producer, stop_producer
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.lifecycle import undone_on_failure
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.spans import SpanRecorder, now_ns, otlp_recorder
from herald_runtime.tasks import TaskSupervisor
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_router.index import AsModels, RouterMemory
from herald_router.records import Routed, delivery_records
from herald_router.settings import RouterSettings

log = structlog.get_logger(__name__)


def _dead_letter(record: Record, reason: FailureReason, detail: str) -> OutgoingRecord:
    headers = [
        *record.headers,
        (h.DLQ_REASON, reason.value.encode()),
        (h.DLQ_DETAIL, h.text_value(detail)),
        (h.DLQ_SOURCE, b"router"),
    ]
    return OutgoingRecord(EVENTS_DLQ, record.value, record.key, headers)


def utc_now() -> datetime:
    return datetime.now(UTC)


class RouterService:
    """Owns the config view, the consumer loop and the health site; an async context manager."""

    def __init__(
        self,
        settings: RouterSettings,
        registry: CollectorRegistry | None = None,
        *,
        consumer_factory: ConsumerFactory = group_consumer,
        clock: Callable[[], datetime] = utc_now,
        spans: SpanRecorder | None = None,
    ) -> None:
        """`spans`: where to record `route` spans (a test's in-memory exporter); by default an
        OTLP exporter when `settings.otlp_endpoint` is set, else none."""
        self.settings = settings
        self.spans = spans or otlp_recorder("herald-router", settings.otlp_endpoint)
        self._consumer_factory = consumer_factory
        self._clock = clock
        self.registry = registry or CollectorRegistry()
        self.metrics = RouterMetrics.create(self.registry)
        self.lag = ConsumerLag(self.registry)
        self.memory = RouterMemory()
        self.index = self.memory.notifiers
        self.notifiers = AsModels(self.index)
        """Notifier id → `Notifier`, converted from the index on each read (tests, tools)."""
        self.snapshots = self.memory.snapshots
        self._outcomes = Children(self.metrics.events)
        self._deliveries = Children(self.metrics.deliveries)
        self.view: MaterializedView[Any] = MaterializedView(
            settings.kafka,
            RouterMemory.decoders(),
            on_change=self.memory.on_change,
            # notifiers are held once, in the memory's index (herald_router.index)
            kept=(CONFIG_APPS, CONFIG_OWNERS),
        )
        # read at each scrape: a view whose loop stopped shows it, probe or no probe
        self.metrics.config_staleness.set_function(lambda: self.view.staleness_s(time.monotonic()))
        self.producer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self._stop = asyncio.Event()
        self.tasks = TaskSupervisor(self.registry)
        self._runner: web.AppRunner | None = None
        self._routing = False

    def ready(self) -> tuple[bool, str]:
        self._report_view()
        if not self.view.ready:
            return False, "catching up with notify.config.*"
        return (
            self._routing,
            f"{len(self.index)} notifiers; routing" if self._routing else "joining group",
        )

    def _report_view(self) -> None:
        self.metrics.config_ready.set(1 if self.view.ready else 0)
        self.metrics.config_lag.set(self.view.lag)
        self.metrics.config_records.labels("notifiers").set(len(self.index))
        self.metrics.config_records.labels("apps").set(len(self.memory.directory.apps))
        self.metrics.config_records.labels("owners").set(len(self.memory.directory.owners))

    def view_summary(self) -> dict[str, Any]:
        """Where the config view stands (`GET /view`)."""
        return {
            "ready": self.view.ready,
            "routing": self._routing,
            "notifiers": len(self.index),
            "digest": self.index.digest.text,
            "applied": self.view.applied,
            "rejected": self.view.rejected,
            "lag": self.view.lag,
        }

    async def _view_summary(self, request: web.Request) -> web.Response:
        return web.json_response(self.view_summary())

    async def __aenter__(self) -> RouterService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
        app.router.add_get("/view", self._view_summary)
        async with undone_on_failure(self):
            self._runner, self.port = await start_site(
                app, self.settings.http.host, self.settings.http.port
            )
            await start_client(self.producer, self.settings.kafka)
            await self.view.start()
        # Catching up decodes up to millions of config records that all stay alive: the cyclic
        # collector would walk them again and again (half the catch-up time at 1M notifiers,
        # docs/benchmarks.md). Pause it until the view is ready, then freeze what survived.
        gc.disable()
        self.tasks.keep_running(lambda: self.view.run(self._stop), "config-view", self._stop)
        self.tasks.keep_running(self._route_events, "router-loop", self._stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self.tasks.join()
        await self.view.stop()
        await stop_producer(self.producer)
        if self.spans is not None:
            await asyncio.to_thread(self.spans.shutdown)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _route_events(self) -> None:
        try:
            await self.view.wait_ready(self.settings.ready_timeout_s)
        finally:
            gc.freeze()  # the config read so far is long-lived: keep it out of future collections
            gc.enable()

        def routing() -> None:
            self._routing = True
            log.info("router_routing", notifiers=len(self.index), digest=self.index.digest.text)

        await run_group(
            self.settings.kafka,
            self.settings.group_id,
            [EVENTS],
            producer=self.producer,
            handle=self._handle,
            on_error=self._failed,
            stop=self._stop,
            on_subscribed=routing,
            consumer_factory=self._consumer_factory,
            on_lag=self.lag.reporter(self.settings.group_id),
        )

    async def _handle(self, record: Record) -> list[OutgoingRecord]:
        try:
            event = decode_event(record.value or b"")
        except ValidationError as exc:
            raise InvalidEvent(
                FailureReason.INVALID_ENVELOPE, str(exc.errors(include_url=False)[:3])
            ) from exc
        started = time.perf_counter()
        start_ns = now_ns()
        now = self._clock()
        traceparent = header(record.headers, h.TRACEPARENT)
        parent = tracing.parse(traceparent)
        directory = self.memory.directory
        verdicts = receivers(event, self.index.candidates(event, directory), directory)
        # the record's value as it arrived: `Event` has just accepted it, and every reader of
        # a delivery parses it with the same model (herald_core.delivery_json)
        records, routed = delivery_records(
            event.id,
            record.value or b"",
            verdicts,
            time_json(now),
            parent,
            record.headers,
            self.snapshots,
        )
        outcome = Outcome.ROUTED if routed else Outcome.UNMATCHED
        if not is_forwarded(event):
            outcome = Outcome.AUDIT_ONLY
        self._count(outcome, routed)
        self.metrics.routing_seconds.observe(time.perf_counter() - started)
        self.metrics.event_age.observe(max(0.0, (now - event.created_at).total_seconds()))
        if parent is not None and self.spans is not None:
            self._record_spans(event, routed, parent, start_ns)
        return records

    def _count(self, outcome: Outcome, routed: list[Routed]) -> None:
        """The event's outcome and its deliveries by channel, with each label's child bound
        once (`labels()` looks its child up by a lock-guarded dictionary each time)."""
        self._outcomes[outcome].inc()
        if len(routed) == 1:
            self._deliveries[routed[0].channel].inc()
            return
        for channel, count in Counter(r.channel for r in routed).items():
            self._deliveries[channel].inc(count)

    def _record_spans(
        self, event: WireEvent, routed: list[Routed], parent: tracing.TraceParent, start_ns: int
    ) -> None:
        """One `route` span per delivery: the span of its `traceparent`, a child of the
        event's."""
        assert self.spans is not None
        for delivery in routed:
            span = tracing.parse(delivery.traceparent)
            if span is not None:
                self.spans.record(
                    "route",
                    span,
                    parent,
                    start_ns,
                    attributes={
                        "herald.event.id": event.id,
                        "herald.delivery.id": delivery.id,
                        "herald.notifier.id": delivery.notifier_id,
                        "herald.channel": delivery.channel.value,
                    },
                    kind=SpanKind.CONSUMER,
                )

    def _failed(self, record: Record, exc: Exception) -> list[OutgoingRecord]:
        self.metrics.events.labels(Outcome.DEAD_LETTERED.value).inc()
        reason = exc.reason if isinstance(exc, NotifyError) else FailureReason.INTERNAL
        return [_dead_letter(record, reason, f"{type(exc).__name__}: {exc}")]


async def serve(settings: RouterSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    async with RouterService(settings):
        await stop.wait()
