"""The sender service for one channel: deliveries in, attempts out.

    notify.deliveries.<channel>          ─┐
    notify.deliveries.<channel>.retry.*  ─┴→ Sender.send → notify.delivery-results
                                              failure → next_hop → .retry.<tier> or .dlq

Two consumers run in the process: the main one (group `herald-sender-<channel>`) on the
deliveries topic, and the retry one (`herald-sender-<channel>-retry`) on every tier topic, a
`DelayedConsumerLoop` that handles a record only once its `x-due-at` has passed. Both share
the attempt handler; the attempt number comes from the record's `x-attempt` header.

The main consumer (`herald_kafka.pipelined.PipelinedConsumerLoop`) sends up to `concurrency`
deliveries at once, each notifier's in order (deliveries are keyed by notifier id), fetches on
while slow receivers answer, and commits an offset once every delivery up to it is delivered,
on a retry tier or dead-lettered. HTTP channels also wait for their endpoint's limits
(`herald_sender.endpoints`, per URL and per host), before a delivery takes one of the
`concurrency` slots (the loop's `admit`, the sender's `admission`), so one busy endpoint's
queue does not hold up the others.
The retry consumer stays sequential: its records are few, and it pauses partitions on records
not yet due.

A delivery to several recipients (e-mail) that reached some before failing says which in its
retry record (`x-recipients-done`, indices into its recipients): the next attempt, in this
process or another, is given only the others.

A delivery with the `herald-test` header is a notifier test: one attempt, and a failure is
written as a `dead_lettered` result only (no retry tier, no DLQ record).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiohttp import web
from herald_core import headers as h
from herald_core import tracing
from herald_core.deliveries import AttemptOutcome, Delivery
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RecordTooLarge,
    RetryableDeliveryError,
)
from herald_core.markers import TEST_DETAIL_PREFIX
from herald_core.metrics import ConsumerLag, ResponseOutcome, SenderMetrics
from herald_core.retry import (
    RetryHop,
    RetryState,
    due_at_ms,
    next_hop,
    recipients_done_after,
    recipients_left,
    retry_tiers_of,
    retry_wait_s,
)
from herald_core.topics import deliveries_topic, delivery_dlq_topic, retry_tiers, retry_topic
from herald_kafka import KafkaError
from herald_kafka.connection import start_client
from herald_kafka.consumer import Record, run_group
from herald_kafka.delayed import run_delayed_group
from herald_kafka.lag import DepthProbe
from herald_kafka.pipelined import PipelinedConsumerLoop
from herald_kafka.producer import OutgoingRecord, idempotent_producer, stop_producer
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.spans import SpanRecorder, now_ns, otlp_recorder
from herald_runtime.tasks import TaskSupervisor
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_sender.channels import Sender, SendReport, sender_factories
from herald_sender.outcomes import dead_letter_record, result_record, retry_record
from herald_sender.settings import SenderSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SharedParts:
    """What the channels of one process share: one registry (metrics labelled by channel), one
    supervisor and one lag reporter, so that one health site reports them all."""

    registry: CollectorRegistry
    metrics: SenderMetrics
    lag: ConsumerLag
    tasks: TaskSupervisor

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> SharedParts:
        registry = registry or CollectorRegistry()
        return cls(
            registry,
            SenderMetrics.create(registry),
            ConsumerLag(registry),
            TaskSupervisor(registry),
        )


class SenderService:
    """Owns one channel's sender, consumer loop and health site; an async context manager."""

    def __init__(
        self,
        settings: SenderSettings,
        registry: CollectorRegistry | None = None,
        *,
        sender_factory: Callable[[SenderSettings], Sender] | None = None,
        spans: SpanRecorder | None = None,
        shared: SharedParts | None = None,
    ) -> None:
        """Build the service; nothing starts before `__aenter__`.

        `sender_factory` replaces the channel's own (tests run the webhook sender on a channel
        no other test consumes); `spans` is where to record `send` spans (a test's in-memory
        exporter; by default an OTLP exporter when `settings.otlp_endpoint` is set, else none).
        With `shared` (`SenderProcess`, several channels in one process) the service uses the
        process's registry, metrics and supervisor and serves no health site of its own.
        Raises ValueError when the channel has no sender or the retry
        delays do not match the topic file's tiers.
        """
        factories = sender_factories()
        factory = sender_factory or factories.get(settings.channel)
        if factory is None:
            raise ValueError(
                f"no sender for channel {settings.channel} yet; have {sorted(factories)}"
            )
        self.settings = settings
        self.spans = spans or otlp_recorder(
            f"herald-sender-{settings.channel}", settings.otlp_endpoint
        )
        self.channel = settings.channel
        self.tiers = retry_tiers_of(retry_tiers(), settings.retry_delays_s)
        parts = shared or SharedParts.create(registry)
        self._own_site = shared is None
        self.registry = parts.registry
        self.metrics = parts.metrics
        # Bound once: `labels()` per delivery costs a lock and a dict lookup each time.
        self._sent = self.metrics.sent.labels(self.channel.value)
        self._latency = self.metrics.latency.labels(self.channel.value)
        self._response = {
            outcome: self.metrics.response.labels(self.channel.value, outcome.value)
            for outcome in ResponseOutcome
        }
        self._log: structlog.BoundLogger | None = None
        self.lag = parts.lag
        self.sender: Sender = factory(settings)
        self.producer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self._stop = asyncio.Event()
        self.tasks = parts.tasks
        self._runner: web.AppRunner | None = None
        self._subscribed: set[str] = set()

    def ready(self) -> tuple[bool, str]:
        consuming = len(self._subscribed) == 2
        return consuming, f"sending {self.channel}" if consuming else "joining groups"

    async def __aenter__(self) -> SenderService:
        if self._own_site:
            app = web.Application()
            add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
            self._runner, self.port = await start_site(
                app, self.settings.http.host, self.settings.http.port
            )
        await self.sender.__aenter__()
        await start_client(self.producer, self.settings.kafka)
        self.tasks.keep_running(self._consume, f"sender-{self.channel}", self._stop)
        self.tasks.keep_running(self._consume_retries, f"sender-{self.channel}-retry", self._stop)
        self.tasks.keep_running(self._sample_dlq_depth, f"sender-{self.channel}-dlq", self._stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self.tasks.join()
        await stop_producer(self.producer)
        await self.sender.__aexit__(None, None, None)
        if self.spans is not None:
            await asyncio.to_thread(self.spans.shutdown)
        if self._runner is not None:
            await self._runner.cleanup()

    async def _consume(self) -> None:
        admission: Callable[[bytes | None], AbstractAsyncContextManager[object]] | None
        admission = getattr(self.sender, "admission", None)  # HTTP senders: endpoint limits
        await run_group(
            self.settings.kafka,
            self.settings.consumer_group,
            [deliveries_topic(self.channel)],
            producer=self.producer,
            handle=self._attempt,
            on_error=self._failed,
            stop=self._stop,
            on_subscribed=lambda: self._subscribed.add("main"),
            loop_class=PipelinedConsumerLoop,
            on_lag=self.lag.reporter(self.settings.consumer_group),
            admit=(lambda record: admission(record.value)) if admission else None,
            max_records=self.settings.max_records,
            max_uncommitted=self.settings.max_uncommitted,
            concurrency=self.settings.concurrency,
        )

    async def _consume_retries(self) -> None:
        await run_delayed_group(
            self.settings.kafka,
            self.settings.retry_consumer_group,
            [retry_topic(self.channel, tier.name) for tier in self.tiers],
            producer=self.producer,
            handle=self._attempt,
            on_error=self._failed,
            due_at=_due_at_s,
            wait_of=_wait_s,
            stop=self._stop,
            on_subscribed=lambda: self._subscribed.add("retry"),
            on_lag=self.lag.reporter(self.settings.retry_consumer_group),
            max_records=100,
        )

    async def _sample_dlq_depth(self) -> None:
        """Set `herald_dlq_records{channel}` every `dlq_depth_every_s` until stopped.

        A sample the broker does not answer is skipped (the gauge keeps its last value): the
        consumers report a broker outage already.
        """
        topic = delivery_dlq_topic(self.channel)
        gauge = self.metrics.dlq_depth.labels(self.channel.value)
        probe = DepthProbe(self.settings.kafka)  # one client for every sample
        try:
            while not self._stop.is_set():
                try:
                    gauge.set((await probe.depths([topic]))[topic])
                except (KafkaError, OSError, LookupError) as error:
                    log.debug("dlq_depth_skipped", error=f"{type(error).__name__}: {error}"[:200])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.dlq_depth_every_s)
        finally:
            await probe.close()

    async def _attempt(self, record: Record) -> list[OutgoingRecord]:
        state = _state(record)
        test = is_test(record)
        try:
            delivery = Delivery.model_validate_json(record.value or b"")
        except ValidationError as exc:
            detail = str(exc.errors(include_url=False)[:3])
            if test:
                log.warning("test_delivery_invalid", detail=detail)
                return []  # no result without a delivery, and a test is never dead-lettered
            return [self._dead_letter(record, state, FailureReason.INVALID_PAYLOAD, detail)]
        log_ = self._logger().bind(
            delivery_id=delivery.id,
            event_id=delivery.event.id,
            notifier_id=delivery.notifier.id,
            attempt=state.attempts + 1,
            test=test,
        )
        started = time.monotonic()
        left = recipients_left(len(delivery.recipients), state.recipients_done)
        try:
            report = await self._traced(delivery, left, state.attempts + 1)
        except DeliveryError as error:
            self._observe_response(started, ResponseOutcome.FAILED)
            if test:
                return [self._test_failed(delivery, error, started, log_)]
            done = recipients_done_after(left, state.recipients_done, error.delivered)
            return self._after_failure(record, state, delivery, error, started, log_, done)
        elapsed_ms = self._observe_response(started, ResponseOutcome.DELIVERED) * 1000
        now = datetime.now(UTC)
        self._sent.inc()
        self._latency.observe(max(0.0, (now - delivery.event.created_at).total_seconds()))
        log_.info("delivery_sent", status=report.status, duration_ms=round(elapsed_ms, 1))
        return [
            result_record(
                delivery,
                outcome=AttemptOutcome.DELIVERED,
                at=now,
                duration_ms=elapsed_ms,
                attempt=state.attempts + 1,
                status_code=report.status,
                response_excerpt=report.response_excerpt,
                test=test,
            ),
            *report.outputs,
        ]

    def _logger(self) -> structlog.BoundLogger:
        """The module's logger bound to the channel, once, at first use (after `configure`):
        binding the lazy module logger per delivery costs a full configuration lookup."""
        if self._log is None:
            self._log = log.bind(channel=self.channel.value)
        return self._log

    def _observe_response(self, started: float, outcome: ResponseOutcome) -> float:
        """Record how long the receiver took to answer since `started`; return it in seconds."""
        elapsed_s = time.monotonic() - started
        self._response[outcome].observe(elapsed_s)
        return elapsed_s

    async def _traced(self, delivery: Delivery, left: tuple[int, ...], attempt: int) -> SendReport:
        """`_send_left`, recorded as a `send` span (a child of the delivery's) when tracing."""
        if self.spans is None:
            return await self._send_left(delivery, left)
        parent = tracing.parse(delivery.traceparent)
        if parent is None:
            return await self._send_left(delivery, left)
        start_ns = now_ns()
        error: str | None = None
        try:
            return await self._send_left(delivery, left)
        except DeliveryError as failed:
            error = f"{failed.reason.value}: {failed}"[:300]
            raise
        finally:
            self.spans.record(
                "send",
                tracing.child(parent, f"{delivery.id}/{attempt}"),
                parent,
                start_ns,
                attributes={
                    "herald.delivery.id": delivery.id,
                    "herald.event.id": delivery.event.id,
                    "herald.notifier.id": delivery.notifier.id,
                    "herald.channel": self.channel.value,
                    "herald.attempt": attempt,
                },
                error=error,
                kind=SpanKind.CLIENT,
            )

    async def _send_left(self, delivery: Delivery, left: tuple[int, ...]) -> SendReport:
        """Send to the recipients `left` only (`x-recipients-done`); all of them done is done."""
        if len(left) == len(delivery.recipients):
            return await self.sender.send(delivery)
        if not left:
            return SendReport()
        narrowed = tuple(delivery.recipients[i] for i in left)
        return await self.sender.send(delivery.model_copy(update={"recipients": narrowed}))

    def _test_failed(
        self,
        delivery: Delivery,
        error: DeliveryError,
        started: float,
        log_: structlog.BoundLogger,
    ) -> OutgoingRecord:
        """A notifier test gets one attempt: its failure is final, written as a result only."""
        elapsed_ms = (time.monotonic() - started) * 1000
        self.metrics.failed.labels(self.channel.value, error.reason.value).inc()
        log_.info("test_delivery_failed", reason=error.reason.value, detail=error.detail)
        final = PermanentDeliveryError(
            error.reason, f"{TEST_DETAIL_PREFIX}{error.detail}", status_code=error.status_code
        )
        return result_record(
            delivery,
            outcome=AttemptOutcome.DEAD_LETTERED,
            at=datetime.now(UTC),
            duration_ms=elapsed_ms,
            attempt=1,
            error=final,
            response_excerpt=error.response_excerpt,
            test=True,
        )

    def _after_failure(
        self,
        record: Record,
        state: RetryState,
        delivery: Delivery,
        error: DeliveryError,
        started: float,
        log_: structlog.BoundLogger,
        done: frozenset[int],
    ) -> list[OutgoingRecord]:
        elapsed_ms = (time.monotonic() - started) * 1000
        self.metrics.failed.labels(self.channel.value, error.reason.value).inc()
        log_.warning(
            "delivery_failed",
            reason=error.reason.value,
            detail=error.detail,
            retryable=error.retryable,
        )
        now = datetime.now(UTC)
        attempt = state.attempts + 1
        hop = next_hop(state.step, error, self.tiers, now)
        if isinstance(hop, RetryHop):
            log_.info("delivery_retry_scheduled", tier=hop.tier.name, due_at=hop.due_at.isoformat())
            outcome, last = AttemptOutcome.RETRY_SCHEDULED, error
            follow_up = self._retry(record, state, hop, now, error, done)
        else:
            log_.warning("delivery_dead_lettered", reason=hop.reason.value, attempt=attempt)
            outcome, last = (
                AttemptOutcome.DEAD_LETTERED,
                PermanentDeliveryError(hop.reason, hop.detail, status_code=error.status_code),
            )
            follow_up = self._dead_letter(
                record, state, hop.reason, hop.detail, failed_at=now, done=done
            )
        result = result_record(
            delivery,
            outcome=outcome,
            at=now,
            duration_ms=elapsed_ms,
            attempt=attempt,
            error=last,
            response_excerpt=error.response_excerpt,
        )
        return [result, follow_up]

    def _retry(
        self,
        record: Record,
        state: RetryState,
        hop: RetryHop,
        now: datetime,
        error: DeliveryError,
        done: frozenset[int],
    ) -> OutgoingRecord:
        self.metrics.retries.labels(self.channel.value, error.reason.value).inc()
        return retry_record(
            record.value,
            record.key,
            list(record.headers),
            topic=retry_topic(self.channel, hop.tier.name),
            attempt=state.attempts + 1,
            due_at=hop.due_at,
            state=state,
            failed_at=now,
            last_error=f"{error.reason}: {error.detail}",
            recipients_done=done,
        )

    def _dead_letter(
        self,
        record: Record,
        state: RetryState,
        reason: FailureReason,
        detail: str,
        *,
        failed_at: datetime | None = None,
        done: frozenset[int] | None = None,
    ) -> OutgoingRecord:
        first_failed_at = state.first_failed_at or (failed_at or datetime.now(UTC)).isoformat()
        self.metrics.dead_letters.labels(self.channel.value, reason.value).inc()
        return dead_letter_record(
            record.value,
            record.key,
            list(record.headers),
            channel=self.channel.value,
            reason=reason.value,
            detail=detail,
            attempt=state.attempts + 1,
            retries_from=state.retries_from,
            source=state.source,
            first_failed_at=first_failed_at,
            recipients_done=state.recipients_done if done is None else done,
        )

    def _failed(self, record: Record, exc: Exception) -> list[OutgoingRecord]:
        """The shell's last resort: an unexpected error is routed as retryable.

        A notifier test is not retried: it gets its failed result, nothing else. A delivery
        whose outputs are too large for the broker (`RecordTooLarge`, from the loop) cannot go
        through a retry tier either: it is dead-lettered at once, reason `too_large`.
        """
        if isinstance(exc, RecordTooLarge) and not is_test(record):
            state = _state(record)
            self.metrics.failed.labels(self.channel.value, exc.reason.value).inc()
            return [self._dead_letter(record, state, exc.reason, exc.detail)]
        error = RetryableDeliveryError(FailureReason.INTERNAL, f"{type(exc).__name__}: {exc}"[:500])
        if is_test(record):
            try:
                delivery = Delivery.model_validate_json(record.value or b"")
            except ValidationError:
                return []
            return [self._test_failed(delivery, error, time.monotonic(), log.bind())]
        self.metrics.failed.labels(self.channel.value, error.reason.value).inc()
        state, now = _state(record), datetime.now(UTC)
        hop = next_hop(state.step, error, self.tiers, now)
        if isinstance(hop, RetryHop):
            return [self._retry(record, state, hop, now, error, state.recipients_done)]
        return [self._dead_letter(record, state, hop.reason, hop.detail, failed_at=now)]


def is_test(record: Record) -> bool:
    """Whether the record is a notifier test (`herald_core.headers.is_test`)."""
    return h.is_test(tuple(record.headers))


def _state(record: Record) -> RetryState:
    return RetryState.of(record.headers, (record.topic, record.partition, record.offset))


def _due_at_s(record: Record) -> float | None:
    due_ms = due_at_ms(record.headers)
    return None if due_ms is None else due_ms / 1000


def _wait_s(record: Record) -> float | None:
    """The wait its writer meant (`x-due-at` minus the record's time, both of the writer's
    clock): the retry consumer bounds a retry's wait by it, whatever the clocks say."""
    return retry_wait_s(record.headers, record.timestamp)


class SenderProcess:
    """Several channels in one process (`--channel slack,discord`): one `SenderService` per
    channel, each with its own consumer groups, retry and DLQ topics as if it ran alone, sharing
    one registry, supervisor and health site. Ready once every channel is."""

    def __init__(self, settings: SenderSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.parts = SharedParts.create(registry)
        self.registry = self.parts.registry
        self.services = [
            SenderService(one, shared=self.parts) for one in settings.per_channel_settings()
        ]
        self.port = settings.http.port
        self._runner: web.AppRunner | None = None

    def ready(self) -> tuple[bool, str]:
        waiting = [str(s.channel) for s in self.services if not s.ready()[0]]
        channels = ",".join(str(s.channel) for s in self.services)
        return (
            (False, f"joining groups: {','.join(waiting)}")
            if waiting
            else (
                True,
                f"sending {channels}",
            )
        )

    async def __aenter__(self) -> SenderProcess:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, lambda: self.parts.tasks.failure)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        entered: list[SenderService] = []
        try:
            for service in self.services:
                await service.__aenter__()
                entered.append(service)
        except BaseException:
            await self._close(entered)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close(self.services)

    async def _close(self, services: list[SenderService]) -> None:
        for service in services:  # every stop first: they share one supervisor to join
            service._stop.set()
        for service in reversed(services):
            await service.__aexit__(None, None, None)
        if self._runner is not None:
            await self._runner.cleanup()


async def serve(settings: SenderSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain."""
    stop = stop_event_on_signals()
    service = SenderProcess(settings) if len(settings.served_channels) > 1 else None
    async with service or SenderService(settings):
        await stop.wait()
