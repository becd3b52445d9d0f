"""The alerter: a faust-streaming processor joining metric points with alert rules (docs/alerts.md).

    notify.config.alerts ──► agent: AppAlerts → table `alert_rules` (key: app id)
                                     drop the state of deleted, disabled, re-targeted rules
    platform.metrics ──────► agent: parse → rules of the app that watch the point
                                     → evaluate(state, point, rule) → emit (await acks)
                                     → store the state in table `alert_state`
    alert_rules  ◄──► herald-alerter-alert_rules-changelog  (compacted)
    alert_state  ◄──► herald-alerter-alert_state-changelog  (compacted; key "<app>␟<alert>")

Both source topics are keyed by app id with the same partition count, so faust assigns the same
partitions of both (and of both changelogs) to one worker: the join is local. The agent emits
first and stores the state second: a crash between the two repeats the same events (same
deterministic ids) after a restart, it never loses one.

As in services/derive: faust's web server is off (`herald_runtime.health` serves `/livez`,
`/readyz`, `/metrics`), faust declares no topic (deploy/topics.yaml does) and has no leader.
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
from herald_core.alerts import AppAlerts, MetricPoint
from herald_core.envelope import Event
from herald_core.topics import CONFIG_ALERTS, EVENTS, PLATFORM_METRICS
from herald_kafka.admin import wait_until_ready
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_alerter.evaluate import (
    AlertState,
    dropped_rules,
    evaluate,
    needs_checkpoint,
    rules_for,
)
from herald_alerter.metrics import AlerterMetrics, ConfigOutcome, PointOutcome
from herald_alerter.settings import RULES_TABLE, STATE_TABLE, AlerterSettings

log = structlog.get_logger(__name__)

METRICS_AGENT = "herald_alerter.evaluate_points"
CONFIG_AGENT = "herald_alerter.apply_rules"
EMIT_RETRY_MAX_S = 30.0


def state_key(app_id: str, alert_id: str) -> bytes:
    """The key of one rule's state: `<app id>␟<alert id>` (unit separator)."""
    return f"{app_id}\x1f{alert_id}".encode()


def faust_app(settings: AlerterSettings) -> faust.App:
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
        # Changelog writes are not awaited: batch them (5 ms) instead of one request per write.
        producer_linger=0.005,
        topic_partitions=settings.table_partitions,
        topic_allow_declare=False,
        topic_disable_leader=True,
        web_enabled=False,
        autodiscover=False,
        stream_ack_cancelled_tasks=False,
    )


def _raw_schema() -> faust.Schema[bytes, bytes]:
    return faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def emitted_record(event: Event, traceparent: str | None) -> OutgoingRecord:
    """The `notify.events` record of an alert event: keyed by app id, CloudEvents headers."""
    headers = h.cloudevent_headers(
        event.id, event.type, event.source, event.created_at.isoformat(), traceparent
    )
    return OutgoingRecord(EVENTS, event.to_json(), event.key.encode(), headers)


class TopicsNotReady(RuntimeError):
    """A source topic or changelog is missing or has the wrong partitions."""


async def check_topics(settings: AlerterSettings, *, timeout_s: float = 60.0) -> None:
    """Fail fast unless the sources and changelogs have `table_partitions` partitions each.

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
    co_partitioned = [
        PLATFORM_METRICS,
        CONFIG_ALERTS,
        settings.rules_changelog,
        settings.state_changelog,
    ]
    await admin.start()
    try:
        described = await admin.describe_topics([*co_partitioned, EVENTS])
    finally:
        await admin.close()
    found = {t["topic"]: len(t["partitions"]) for t in described if t["error_code"] == 0}
    if EVENTS not in found:
        raise TopicsNotReady(f"{EVENTS} is missing: run `herald-topics apply`")
    for topic in co_partitioned:
        if found.get(topic) != settings.table_partitions:
            raise TopicsNotReady(
                f"{topic} has {found.get(topic, 'no')} partitions, expected "
                f"{settings.table_partitions}: declare it in deploy/topics.yaml and run "
                "`herald-topics apply` (docs/alerts.md)"
            )


class AlerterService:
    """Owns the faust app, the producer of alert events and the health site."""

    def __init__(
        self, settings: AlerterSettings, registry: CollectorRegistry | None = None
    ) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = AlerterMetrics.create(self.registry)
        self.producer = idempotent_producer(settings.kafka)
        self.port = settings.http.port
        self.tasks = TaskSupervisor()
        self.app = faust_app(settings)
        # bytes in, bytes out (the `raw` codec, see docs/derive.md): Herald encodes JSON itself.
        self.rules = self.app.Table(
            RULES_TABLE,
            default=None,
            partitions=settings.table_partitions,
            key_type=bytes,
            value_type=bytes,
            help="AppAlerts JSON per app id",
        )
        self.states = self.app.Table(
            STATE_TABLE,
            default=None,
            partitions=settings.table_partitions,
            key_type=bytes,
            value_type=bytes,
            help="AlertState JSON per <app id>␟<alert id>",
        )
        # Parsed forms of the tables' values, valid while the table holds the very same bytes.
        self._parsed_rules: dict[bytes, tuple[bytes, AppAlerts]] = {}
        # Per state key: (the bytes in the table, their parsed state, the latest state), the
        # latest being newer than the stored one by `last_at` only (needs_checkpoint).
        self._parsed_states: dict[bytes, tuple[bytes, AlertState, AlertState]] = {}
        metrics_topic = self.app.topic(PLATFORM_METRICS, schema=_raw_schema())
        config_topic = self.app.topic(CONFIG_ALERTS, schema=_raw_schema())
        self.app.agent(metrics_topic, name=METRICS_AGENT)(self._metrics_agent)
        self.app.agent(config_topic, name=CONFIG_AGENT)(self._config_agent)
        self.app.on_startup_finished = self._on_startup_finished
        self._runner: web.AppRunner | None = None
        self._started = False

    def ready(self) -> tuple[bool, str]:
        if not self._started:
            return False, "joining the group and recovering the rule and state tables"
        if self.app.rebalancing or self.app.in_recovery:
            return False, "rebalancing"
        return True, f"watching the rules of {len(self.rules)} apps"

    def alive(self) -> str | None:
        if self.tasks.failure is not None:
            return self.tasks.failure
        if self.app.crashed:
            return f"faust app crashed: {self.app.crash_reason!r}"
        return None

    async def __aenter__(self) -> AlerterService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, self.alive)
        self._runner, self.port = await start_site(
            app, self.settings.http.host, self.settings.http.port
        )
        try:
            await check_topics(self.settings)
        except BaseException:
            await self.producer.stop()
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
        log.info("alerter_started", apps=len(self.rules), states=len(self.states))

    async def _metrics_agent(self, stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            try:
                await self.handle_point(record.key, record.value, record.message.headers)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the shell: one bad record must not kill the agent
                self.metrics.points.labels(PointOutcome.FAILED.value).inc()
                _log_failure(record, exc)

    async def _config_agent(self, stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            try:
                self.handle_config(record.key, record.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the shell: one bad record must not kill the agent
                self.metrics.configs.labels(ConfigOutcome.FAILED.value).inc()
                _log_failure(record, exc)

    def app_alerts(self, app_key: bytes) -> AppAlerts | None:
        """The app's rules from the table, parsed once per stored value."""
        raw = self.rules.get(app_key)
        if raw is None:
            return None
        cached = self._parsed_rules.get(app_key)
        if cached is not None and cached[0] is raw:
            return cached[1]
        alerts = AppAlerts.model_validate_json(raw)
        self._parsed_rules[app_key] = (raw, alerts)
        return alerts

    def _state(self, key: bytes) -> tuple[bytes | None, AlertState | None, AlertState | None]:
        """(stored bytes, stored state, latest state) of one rule."""
        raw = self.states.get(key)
        if raw is None:
            return None, None, None
        cached = self._parsed_states.get(key)
        if cached is not None and cached[0] is raw:
            return cached
        state = AlertState.model_validate_json(raw)
        self._parsed_states[key] = (raw, state, state)
        return raw, state, state

    def _keep(self, key: bytes, new: AlertState) -> None:
        """Keep `new` in memory, and write it to the table when `needs_checkpoint` says so."""
        raw, stored, _ = self._state(key)
        if (
            raw is None
            or stored is None
            or needs_checkpoint(stored, new, self.settings.state_checkpoint_s)
        ):
            raw = new.model_dump_json().encode()
            self.states[key] = raw
            self._parsed_states[key] = (raw, new, new)
        else:
            self._parsed_states[key] = (raw, stored, new)

    def handle_config(self, key: Any, value: Any) -> None:
        """Apply one `notify.config.alerts` record: store the rules, drop orphaned states."""
        if not isinstance(key, bytes) or not key:
            self.metrics.configs.labels(ConfigOutcome.MISKEYED.value).inc()
            return
        new: AppAlerts | None = None
        if value:
            try:
                new = AppAlerts.model_validate_json(value)
            except ValidationError:
                self.metrics.configs.labels(ConfigOutcome.UNPARSABLE.value).inc()
                return
            if new.app_id.encode() != key:
                self.metrics.configs.labels(ConfigOutcome.MISKEYED.value).inc()
                return
        app_id = key.decode()
        for alert_id in sorted(dropped_rules(self.app_alerts(key), new)):
            skey = state_key(app_id, alert_id)
            self._parsed_states.pop(skey, None)
            if skey in self.states:
                del self.states[skey]
                log.info("alert_state_dropped", app_id=app_id, alert_id=alert_id)
        self._parsed_rules.pop(key, None)
        if new is None:
            if key in self.rules:
                del self.rules[key]
            self.metrics.configs.labels(ConfigOutcome.DELETED.value).inc()
            return
        self.rules[key] = bytes(value)
        self.metrics.configs.labels(ConfigOutcome.APPLIED.value).inc()

    async def handle_point(
        self, key: Any, value: Any, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Apply one `platform.metrics` record: evaluate every rule that watches it."""
        try:
            point = MetricPoint.model_validate_json(value or b"")
        except ValidationError as exc:
            unknown = any(e["loc"] == ("metric",) for e in exc.errors())
            outcome = PointOutcome.UNKNOWN_METRIC if unknown else PointOutcome.UNPARSABLE
            self.metrics.points.labels(outcome.value).inc()
            return
        app_key = point.app_id.encode()
        if key != app_key:  # the tables' shards are the record's partition: trust app keys only
            self.metrics.points.labels(PointOutcome.MISKEYED.value).inc()
            return
        alerts = self.app_alerts(app_key)
        rules = rules_for(alerts, point)
        if alerts is None or not rules:
            self.metrics.points.labels(PointOutcome.NO_RULE.value).inc()
            return
        for rule in rules:
            skey = state_key(point.app_id, rule.id)
            _, _, state = self._state(skey)
            result = evaluate(state, point, rule, alerts)
            self.metrics.evaluations.labels(result.verdict.value).inc()
            if result.events:
                traceparent = h.header(list(headers), h.TRACEPARENT)
                await self._emit([emitted_record(e, traceparent) for e in result.events])
                self.metrics.emitted.labels(result.verdict.value).inc(len(result.events))
                log.info(
                    "alert_events_emitted",
                    app_id=point.app_id,
                    alert_id=rule.id,
                    verdict=result.verdict.value,
                    event_ids=[e.id for e in result.events],
                )
            if result.state is not None and result.state is not state:
                self._keep(skey, result.state)
        self.metrics.points.labels(PointOutcome.EVALUATED.value).inc()

    async def _emit(self, records: list[OutgoingRecord]) -> None:
        """Send and await the acks; retry while the broker refuses (the point stays unacked)."""
        delay = 0.5
        while True:
            try:
                await send_all(self.producer, records)
                return
            except KafkaError as exc:
                log.warning("emit_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, EMIT_RETRY_MAX_S)


def _log_failure(record: Any, exc: Exception) -> None:
    log.warning(
        "record_failed",
        topic=record.message.topic,
        partition=record.message.partition,
        offset=record.message.offset,
        error_type=type(exc).__name__,
        error=str(exc)[:500],
    )


async def serve(settings: AlerterSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then).
    """
    stop = stop_event_on_signals()
    try:
        async with AlerterService(settings) as service:
            while not stop.is_set() and service.alive() is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            failure = service.alive()
    except TopicsNotReady as exc:
        log.error("alerter_topics_not_ready", detail=str(exc))
        return 2
    if failure is not None:
        log.error("alerter_failed", detail=failure)
        return 1
    return 0
