"""The derive service: a faust-streaming processor that counts crashes (docs/derive.md).

    notify.events ──► agent: parse → evaluate(state, event) → emit app_crashed (await acks)
                                                              → store the state in the table
    table `crash_counts` (key: app id) ◄──► herald-derive-crash_counts-changelog (compacted)

The agent emits first and stores the state second: a crash between the two repeats the same
`app_crashed` (same deterministic id) after a restart, it never loses one. faust flushes the
changelog before it commits offsets, so a restart replays at most the events since the last
commit, and `evaluate` recognises them by id.

faust's web server is off: `/livez`, `/readyz` and `/metrics` come from `herald_runtime.health`
on the service's HTTP port. faust declares no topic (`topic_allow_declare=False`): every topic,
the changelog included, comes from deploy/topics.yaml. The leader topic is disabled: nothing
here needs a leader.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import faust
import structlog
from aiohttp import web
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from herald_core import headers as h
from herald_core.envelope import Event
from herald_core.topics import EVENTS
from herald_kafka.admin import wait_until_ready
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_derive.crashes import CrashState, evaluate
from herald_derive.metrics import DeriveMetrics, Outcome
from herald_derive.settings import TABLE, DeriveSettings

log = structlog.get_logger(__name__)

AGENT = "herald_derive.count_crashes"
EMIT_RETRY_MAX_S = 30.0


def faust_app(settings: DeriveSettings) -> faust.App:
    """An unstarted faust App configured from `settings` (no web server, no topic creation)."""
    brokers = [
        f"kafka://{server.strip()}" for server in settings.kafka.bootstrap_servers.split(",")
    ]
    return faust.App(
        settings.app_id,
        broker=brokers,
        broker_client_id=settings.kafka.client_id,
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset=settings.auto_offset_reset,
        store="memory://",
        datadir=str(settings.data_dir),
        processing_guarantee="at_least_once",
        producer_acks=-1,
        topic_partitions=settings.table_partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        web_enabled=False,
        autodiscover=False,
        # An event whose handling was cancelled (shutdown mid-retry) is handled again.
        stream_ack_cancelled_tasks=False,
    )


def _raw_schema() -> faust.Schema[bytes, bytes]:
    """Keys and values as bytes, untouched: Herald decodes them itself."""
    return faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def emitted_record(event: Event, traceparent: str | None) -> OutgoingRecord:
    """The `notify.events` record of a derived event: keyed by app id, CloudEvents headers."""
    headers = h.cloudevent_headers(
        event.id, event.type, event.source, event.created_at.isoformat(), traceparent
    )
    return OutgoingRecord(EVENTS, event.to_json(), event.key.encode(), headers)


class TopicsNotReady(RuntimeError):
    """notify.events or the crash table's changelog is missing or has the wrong partitions."""


async def check_topics(settings: DeriveSettings, *, timeout_s: float = 60.0) -> None:
    """Fail fast unless both topics exist with `table_partitions` partitions each.

    faust declares no topic here; without its changelog every table write fails, after the
    record was read (and acknowledged): counts would be lost, one warning at a time.

    Raises:
        TopicsNotReady: naming the topic and what to do.
        TimeoutError: when the broker does not answer within `timeout_s`.
    """
    kafka = settings.kafka
    await wait_until_ready(kafka.bootstrap_servers, timeout_s=timeout_s)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=kafka.client_id,
        request_timeout_ms=kafka.request_timeout_ms,
    )
    await admin.start()
    try:
        described = await admin.describe_topics([EVENTS, settings.changelog_topic])
    finally:
        await admin.close()
    found = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    for topic in (EVENTS, settings.changelog_topic):
        if found.get(topic) != settings.table_partitions:
            raise TopicsNotReady(
                f"{topic} has {found.get(topic, 'no')} partitions, expected "
                f"{settings.table_partitions}: declare it in deploy/topics.yaml and run "
                "`herald-topics apply` (docs/derive.md)"
            )


class DeriveService:
    """Owns the faust app, the producer of derived events and the health site."""

    def __init__(self, settings: DeriveSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = DeriveMetrics.create(self.registry)
        self.producer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self.tasks = TaskSupervisor()
        self.app = faust_app(settings)
        self.table = self.app.Table(
            TABLE,
            default=None,
            partitions=settings.table_partitions,
            # bytes in, bytes out: faust picks the `raw` codec from these types (a `schema`
            # would be ignored by recovery, which then fails to decode and stalls for ever)
            key_type=bytes,
            value_type=bytes,
            help="Crash state per app id (CrashState JSON)",
        )
        self.topic = self.app.topic(EVENTS, schema=_raw_schema())
        self.app.agent(self.topic, name=AGENT)(self._agent)
        self.app.on_startup_finished = self._on_startup_finished
        self._runner: web.AppRunner | None = None
        self._started = False

    def ready(self) -> tuple[bool, str]:
        if not self._started:
            return False, "joining the group and recovering the crash table"
        if self.app.rebalancing or self.app.in_recovery:
            return False, "rebalancing"
        return True, f"counting crashes of {len(self.table)} apps"

    def alive(self) -> str | None:
        if self.tasks.failure is not None:
            return self.tasks.failure
        if self.app.crashed:
            return f"faust app crashed: {self.app.crash_reason!r}"
        return None

    async def __aenter__(self) -> DeriveService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, self.alive)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        try:
            await check_topics(self.settings)
        except BaseException:
            await self.producer.stop()  # never started, but it must be closed all the same
            await self._runner.cleanup()
            raise
        await self.producer.start()
        self.tasks.start(self.app.start(), "faust-app")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()
        await self.tasks.join()
        await self.producer.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _on_startup_finished(self) -> None:
        self._started = True
        log.info("derive_started", apps=len(self.table))

    async def _agent(self, stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            try:
                await self.handle(record.key, record.value, record.message.headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the shell: one bad record must not kill the agent
                self.metrics.events.labels(Outcome.FAILED.value).inc()
                log.warning(
                    "record_failed",
                    partition=record.message.partition,
                    offset=record.message.offset,
                    error_type=type(exc).__name__,
                    error=str(exc)[:500],
                )

    async def handle(self, key: Any, value: Any, headers: Sequence[tuple[str, bytes]]) -> None:
        """Apply one `notify.events` record: parse, evaluate, emit, store."""
        try:
            event = Event.model_validate_json(value or b"")
        except ValidationError:
            self.metrics.events.labels(Outcome.UNPARSABLE.value).inc()
            return
        if event.app_id is None:
            self.metrics.events.labels(Outcome.UNCHANGED.value).inc()
            return
        app_key = event.app_id.encode()
        if key != app_key:  # the table shard is the record's partition: trust only app-keyed
            self.metrics.events.labels(Outcome.MISKEYED.value).inc()
            log.warning("event_not_keyed_by_app", event_id=event.id, app_id=event.app_id)
            return
        raw = self.table.get(app_key)
        state = CrashState.model_validate_json(raw) if raw is not None else None
        new, emitted = evaluate(
            state,
            event,
            thresholds=self.settings.thresholds,
            quiet_period=self.settings.quiet_period,
        )
        if emitted:
            traceparent = h.header(list(headers), h.TRACEPARENT)
            await self._emit([emitted_record(e, traceparent) for e in emitted])
            for crashed in emitted:
                log.info(
                    "app_crashed_emitted",
                    event_id=crashed.id,
                    app_id=crashed.app_id,
                    crash_count=crashed.type_data.get("crash_count"),
                )
            self.metrics.emitted.inc(len(emitted))
        if new is state or new is None:
            self.metrics.events.labels(Outcome.UNCHANGED.value).inc()
            return
        self.table[app_key] = new.model_dump_json().encode()
        self.metrics.events.labels(Outcome.APPLIED.value).inc()

    async def _emit(self, records: list[OutgoingRecord]) -> None:
        """Send and await the acks; retry while the broker refuses (the event stays unacked)."""
        delay = 0.5
        while True:
            try:
                await send_all(self.producer, records)
                return
            except KafkaError as exc:
                log.warning("emit_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, EMIT_RETRY_MAX_S)


async def serve(settings: DeriveSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then).
    """
    stop = stop_event_on_signals()
    try:
        async with DeriveService(settings) as service:
            while not stop.is_set() and service.alive() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            failure = service.alive()
    except TopicsNotReady as exc:
        log.error("derive_topics_not_ready", detail=str(exc))
        return 2
    if failure is not None:
        log.error("derive_failed", detail=failure)
        return 1
    return 0
