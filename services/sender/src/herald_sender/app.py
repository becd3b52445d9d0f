"""The sender service for one channel: deliveries in, attempts out.

notify.deliveries.<channel> → Sender.send → notify.delivery-results (+ .dlq on failure)
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog
from aiohttp import web
from herald_core.deliveries import AttemptOutcome, Delivery
from herald_core.errors import DeliveryError, FailureReason, RetryableDeliveryError
from herald_core.metrics import SenderMetrics
from herald_core.topics import deliveries_topic
from herald_kafka.consumer import Record, run_group
from herald_kafka.producer import OutgoingRecord, idempotent_producer
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_sender.channels import Sender, sender_factories
from herald_sender.outcomes import dead_letter_record, result_record
from herald_sender.settings import SenderSettings

log = structlog.get_logger(__name__)


class SenderService:
    """Owns one channel's sender, consumer loop and health site; an async context manager."""

    def __init__(self, settings: SenderSettings, registry: CollectorRegistry | None = None) -> None:
        factories = sender_factories()
        if settings.channel not in factories:
            raise ValueError(
                f"no sender for channel {settings.channel} yet; have {sorted(factories)}"
            )
        self.settings = settings
        self.channel = settings.channel
        self.registry = registry or CollectorRegistry()
        self.metrics = SenderMetrics.create(self.registry)
        self.sender: Sender = factories[settings.channel](settings)
        self.producer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self._stop = asyncio.Event()
        self.tasks = TaskSupervisor()
        self._runner: web.AppRunner | None = None
        self._consuming = False

    def ready(self) -> tuple[bool, str]:
        return self._consuming, f"sending {self.channel}" if self._consuming else "joining group"

    async def __aenter__(self) -> SenderService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        await self.sender.__aenter__()
        await self.producer.start()
        self.tasks.start(self._consume(), f"sender-{self.channel}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self.tasks.join()
        await self.producer.stop()
        await self.sender.__aexit__(None, None, None)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _consume(self) -> None:
        def consuming() -> None:
            self._consuming = True

        await run_group(
            self.settings.kafka,
            self.settings.consumer_group,
            [deliveries_topic(self.channel)],
            producer=self.producer,
            handle=self._attempt,
            on_error=self._failed,
            stop=self._stop,
            on_subscribed=consuming,
            max_records=100,
        )

    async def _attempt(self, record: Record) -> list[OutgoingRecord]:
        try:
            delivery = Delivery.model_validate_json(record.value or b"")
        except ValidationError as exc:
            return [
                self._dead_letter(
                    record, FailureReason.INVALID_PAYLOAD, str(exc.errors(include_url=False)[:3])
                )
            ]
        log_ = log.bind(
            delivery_id=delivery.id,
            event_id=delivery.event.id,
            notifier_id=delivery.notifier.id,
            channel=self.channel.value,
        )
        started = time.monotonic()
        try:
            status = await self.sender.send(delivery)
        except DeliveryError as error:
            return self._after_failure(record, delivery, error, started, log_)
        elapsed_ms = (time.monotonic() - started) * 1000
        now = datetime.now(UTC)
        self.metrics.sent.labels(self.channel.value).inc()
        self.metrics.latency.labels(self.channel.value).observe(
            max(0.0, (now - delivery.event.created_at).total_seconds())
        )
        log_.info("delivery_sent", status=status, duration_ms=round(elapsed_ms, 1))
        return [
            result_record(
                delivery,
                outcome=AttemptOutcome.DELIVERED,
                at=now,
                duration_ms=elapsed_ms,
                status_code=status,
            )
        ]

    def _after_failure(
        self,
        record: Record,
        delivery: Delivery,
        error: DeliveryError,
        started: float,
        log_: structlog.BoundLogger,
    ) -> list[OutgoingRecord]:
        elapsed_ms = (time.monotonic() - started) * 1000
        self.metrics.failed.labels(self.channel.value, error.reason.value).inc()
        log_.warning(
            "delivery_failed",
            reason=error.reason.value,
            detail=error.detail,
            retryable=error.retryable,
        )
        result = result_record(
            delivery,
            outcome=AttemptOutcome.DEAD_LETTERED,
            at=datetime.now(UTC),
            duration_ms=elapsed_ms,
            error=error,
        )
        return [result, self._dead_letter(record, error.reason, error.detail)]

    def _dead_letter(self, record: Record, reason: FailureReason, detail: str) -> OutgoingRecord:
        return dead_letter_record(
            record.value,
            record.key,
            list(record.headers),
            channel=self.channel.value,
            reason=reason.value,
            detail=detail,
            attempt=1,
            source=(record.topic, record.partition, record.offset),
        )

    def _failed(self, record: Record, exc: Exception) -> list[OutgoingRecord]:
        error = RetryableDeliveryError(FailureReason.INTERNAL, f"{type(exc).__name__}: {exc}"[:500])
        self.metrics.failed.labels(self.channel.value, error.reason.value).inc()
        return [self._dead_letter(record, error.reason, error.detail)]


async def serve(settings: SenderSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    async with SenderService(settings):
        await stop.wait()
