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

The service shell is `herald_runtime.faust_service`, shared with services/derive: faust's web
server is off (the shell serves `/livez`, `/readyz`, `/metrics`), faust declares no topic
(deploy/topics.yaml does) and has no leader. This module keeps the alerter's own tables,
topics and agents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust
import structlog
from herald_core import headers as h
from herald_core.alerts import AppAlerts, MetricPoint
from herald_core.topics import CONFIG_ALERTS, EVENTS, PLATFORM_METRICS
from herald_kafka import KafkaError
from herald_kafka.admin import partition_counts
from herald_kafka.producer import (
    OutgoingRecord,
    event_record,
    idempotent_producer,
    send_all,
)
from herald_runtime.faust_service import (
    RAW_SCHEMA,
    FaustService,
    TopicsNotReady,
    check_partitions,
    faust_options,
    handle_each,
    send_until_acked,
    serve_until_stopped,
)
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


def state_key(app_id: str, alert_id: str) -> bytes:
    """The key of one rule's state: `<app id>␟<alert id>` (unit separator)."""
    return f"{app_id}\x1f{alert_id}".encode()


def faust_app(settings: AlerterSettings) -> faust.App:
    """An unstarted faust App configured from `settings` (no web server, no topic creation)."""
    # Changelog writes are not awaited: batch them (5 ms) instead of one request per write.
    return faust.App(settings.app_id, **faust_options(settings, producer_linger=0.005))


def _raw_schema() -> faust.Schema[bytes, bytes]:
    return faust.Schema(**RAW_SCHEMA)


async def check_topics(settings: AlerterSettings, *, timeout_s: float = 60.0) -> None:
    """Fail fast unless the sources and changelogs have `table_partitions` partitions each.

    Raises:
        TopicsNotReady: naming the topic and what to do.
        TimeoutError: when the broker does not answer within `timeout_s`.
    """
    co_partitioned = [
        PLATFORM_METRICS,
        CONFIG_ALERTS,
        settings.rules_changelog,
        settings.state_changelog,
    ]
    found = await partition_counts(settings.kafka, [*co_partitioned, EVENTS], timeout_s=timeout_s)
    if EVENTS not in found:
        raise TopicsNotReady(f"{EVENTS} is missing: run `herald-topics apply`")
    check_partitions(found, co_partitioned, settings.table_partitions, "docs/alerts.md")


class AlerterService(FaustService):
    """Owns the faust app, the producer of alert events and the health site."""

    settings: AlerterSettings
    app: faust.App
    recovering = "joining the group and recovering the rule and state tables"

    def __init__(
        self, settings: AlerterSettings, registry: CollectorRegistry | None = None
    ) -> None:
        app = faust_app(settings)
        super().__init__(settings, app, idempotent_producer(settings.kafka), registry)
        self.metrics = AlerterMetrics.create(self.registry)
        # bytes in, bytes out (the `raw` codec, see docs/derive.md): Herald encodes JSON itself.
        self.rules = app.Table(
            RULES_TABLE,
            default=None,
            partitions=settings.table_partitions,
            key_type=bytes,
            value_type=bytes,
            help="AppAlerts JSON per app id",
        )
        self.states = app.Table(
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
        metrics_topic = app.topic(PLATFORM_METRICS, schema=_raw_schema())
        config_topic = app.topic(CONFIG_ALERTS, schema=_raw_schema())
        app.agent(metrics_topic, name=METRICS_AGENT)(self._metrics_agent)
        app.agent(config_topic, name=CONFIG_AGENT)(self._config_agent)

    async def check_topics(self) -> None:
        await check_topics(self.settings)

    def status(self) -> str:
        return f"watching the rules of {len(self.rules)} apps"

    def on_started(self) -> None:
        log.info("alerter_started", apps=len(self.rules), states=len(self.states))

    async def _metrics_agent(self, stream: faust.StreamT[bytes]) -> None:
        await handle_each(stream, self._handle_point_event, self._count_point_failure)

    async def _config_agent(self, stream: faust.StreamT[bytes]) -> None:
        await handle_each(stream, self._handle_config_event, self._count_config_failure)

    async def _handle_point_event(self, record: Any) -> None:
        await self.handle_point(record.key, record.value, record.message.headers)

    async def _handle_config_event(self, record: Any) -> None:
        self.handle_config(record.key, record.value)

    def _count_point_failure(self) -> None:
        self.metrics.points.labels(PointOutcome.FAILED.value).inc()

    def _count_config_failure(self) -> None:
        self.metrics.configs.labels(ConfigOutcome.FAILED.value).inc()

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
                await self._emit([event_record(e, traceparent) for e in result.events])
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
        await send_until_acked(lambda: send_all(self.producer, records), KafkaError)


async def serve(settings: AlerterSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then).
    """
    return await serve_until_stopped(lambda: AlerterService(settings), "alerter")
