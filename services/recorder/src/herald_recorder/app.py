"""The recorder service: `notify.delivery-results` → the delivery history in Postgres.

    batch of results → parse each (unparsable: log, count, skip) → write the batch in one
    transaction (HistorySink) → commit the offsets

A second consumer group on the same topic tracks endpoint health (tracker.py): when a
notifier's endpoint keeps failing, it produces a `DisableNotifier` to `notify.commands.notifiers`,
which the api applies. A third group, on
`notify.events`, keeps the audit-only events in the audit log (audit.py).

Start-up waits for the history tables (the api's migrations create them; `/readyz` says 503
until then), and only then joins the group, so no batch fails for want of a table.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import structlog
from aiohttp import web
from herald_core.deliveries import DeliveryResult
from herald_core.metrics import ConsumerLag
from herald_core.topics import DELIVERY_RESULTS
from herald_kafka import AIOKafkaProducer
from herald_kafka.connection import start_client
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord, idempotent_producer, stop_producer
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_recorder import store
from herald_recorder.audit import AuditRecorder
from herald_recorder.metrics import RecorderMetrics, ResultOutcome
from herald_recorder.rows import Unrecordable, recordable
from herald_recorder.settings import RecorderSettings
from herald_recorder.sink import TRANSIENT, HistorySink, HistoryUnavailable, HistoryWriter
from herald_recorder.tracker import HealthTracker

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class RecorderService:
    """Owns the pool, the consumer loop and the health site; an async context manager."""

    def __init__(
        self,
        settings: RecorderSettings,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = RecorderMetrics.create(self.registry)
        self.lag = ConsumerLag(self.registry)
        self.port = settings.http.port
        self.pool: asyncpg.Pool | None = None
        self.writer: HistoryWriter | None = None
        self._clock = clock
        self._stop = asyncio.Event()
        self.tasks = TaskSupervisor(self.registry)
        self._runner: web.AppRunner | None = None
        self._schema_ready = False
        self._consuming = False
        self.tracker: HealthTracker | None = None
        self.audit: AuditRecorder | None = None
        self._producer: AIOKafkaProducer | None = None

    def ready(self) -> tuple[bool, str]:
        if not self._schema_ready:
            return False, "waiting for the delivery history tables (the api migrates them)"
        if self.writer is not None and not self.writer.healthy:
            return False, "database unreachable: results wait in their partitions"
        return self._consuming, "recording" if self._consuming else "joining group"

    async def __aenter__(self) -> RecorderService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        # min_size=0: no connection at start, so a database still starting is waited for
        # (readiness says so) instead of failing the process.
        self.pool = await asyncpg.create_pool(
            self.settings.database_url.get_secret_value(),
            min_size=0,
            max_size=self.settings.pool_max_size,
        )
        self.writer = HistoryWriter(
            self.pool,
            self.metrics,
            self._stop,
            retry_initial_s=self.settings.retry_initial_s,
            retry_max_s=self.settings.retry_max_s,
            clock=self._clock,
        )
        self.tasks.keep_running(self._record, "recorder-loop", self._stop)
        if self.settings.health_enabled:
            await self._start_tracker()
        if self.settings.audit_enabled:
            self.audit = AuditRecorder(
                self.settings,
                self.pool,
                self._stop,
                on_lag=self.lag.reporter(self.settings.audit_group_id),
            )
            self.tasks.keep_running(self.audit.run, "audit-log", self._stop)
        return self

    async def _start_tracker(self) -> None:
        """Endpoint health (tracker.py): its own consumer group, the same pool, a producer."""
        assert self.pool is not None
        self._producer = idempotent_producer(self.settings.kafka)
        await start_client(self._producer, self.settings.kafka)
        self.tracker = HealthTracker(
            self.settings,
            self.pool,
            self._stop,
            self.registry,
            self._clock,
            self._producer,
            on_lag=self.lag.reporter(self.settings.health_group_id),
        )
        self.tasks.keep_running(self.tracker.run, "health-tracker", self._stop)

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self.tasks.join()
        if self._producer is not None:
            await stop_producer(self._producer)
        if self.pool is not None:
            await self.pool.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _record(self) -> None:
        assert self.writer is not None
        if not await self._wait_for_schema():
            return

        def recording() -> None:
            self._consuming = True
            log.info("recorder_recording", group_id=self.settings.group_id)

        try:
            await run_group(
                self.settings.kafka,
                self.settings.group_id,
                [DELIVERY_RESULTS],
                producer=HistorySink(self.writer.write),
                handle=self._accept,
                on_error=self._failed,
                stop=self._stop,
                on_subscribed=recording,
                on_lag=self.lag.reporter(self.settings.group_id),
                max_records=self.settings.batch_max,
            )
        except HistoryUnavailable as error:
            log.warning("recorder_stopped_with_batch_unrecorded", error=str(error)[:300])

    async def _wait_for_schema(self) -> bool:
        """Poll until the history tables exist; False if the service stopped first."""
        assert self.pool is not None
        logged = False
        while not self._stop.is_set():
            try:
                if await store.schema_present(self.pool):
                    self._schema_ready = True
                    return True
                problem = "the history tables do not exist yet"
            except TRANSIENT as error:
                problem = f"{type(error).__name__}: {error}"
            if not logged:
                log.warning("recorder_waiting_for_schema", problem=problem[:300])
                logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.schema_poll_s)
        return False

    async def _accept(self, record: Record) -> list[OutgoingRecord]:
        """A valid result becomes one output for the sink; anything else is counted and skipped."""
        try:
            result = recordable(DeliveryResult.model_validate_json(record.value or b""))
        except (ValidationError, Unrecordable) as error:
            detail = (
                str(error.errors(include_url=False, include_input=False)[:3])
                if isinstance(error, ValidationError)
                else str(error)
            )
            self._skip(record, "result_unrecordable", detail)
            return []
        return [OutgoingRecord(DELIVERY_RESULTS, result.to_json(), record.key)]

    def _failed(self, record: Record, exc: Exception) -> list[OutgoingRecord]:
        self._skip(record, "result_failed", f"{type(exc).__name__}: {exc}")
        return []

    def _skip(self, record: Record, event: str, detail: str) -> None:
        self.metrics.results.labels(ResultOutcome.INVALID.value).inc()
        log.warning(
            event,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            detail=detail[:500],
        )


async def serve(settings: RecorderSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    async with RecorderService(settings):
        await stop.wait()
