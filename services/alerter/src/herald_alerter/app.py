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
topics and agents; what each record does to the tables is `herald_alerter.tables`, which
knows nothing of faust.
"""

from __future__ import annotations

from typing import Any

import faust
import structlog
from herald_core.topics import CONFIG_ALERTS, EVENTS, PLATFORM_METRICS
from herald_kafka import KafkaError
from herald_kafka.admin import partition_counts
from herald_kafka.connection import faust_credentials
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_runtime.faust_consumer import start_offsets, use_ordered_consumer
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

from herald_alerter.metrics import AlerterMetrics, ConfigOutcome, PointOutcome
from herald_alerter.settings import RULES_TABLE, STATE_TABLE, AlerterSettings
from herald_alerter.tables import AlerterTables

log = structlog.get_logger(__name__)

METRICS_AGENT = "herald_alerter.evaluate_points"
CONFIG_AGENT = "herald_alerter.apply_rules"


def faust_app(settings: AlerterSettings) -> faust.App:
    """An unstarted faust App configured from `settings` (no web server, no topic creation),
    with Herald's `OrderedConsumer` (herald_runtime.faust_consumer)."""
    # Changelog writes are not awaited: batch them (5 ms) instead of one request per write.
    app = faust.App(
        settings.app_id,
        **faust_options(
            settings,
            producer_linger=0.005,
            broker_credentials=faust_credentials(
                settings.kafka, sasl=faust.SASLCredentials, tls=faust.SSLCredentials
            ),
        ),
    )
    use_ordered_consumer(app)
    return app


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
        super().__init__(
            settings, app, idempotent_producer(settings.kafka), registry, start_offsets(app)
        )
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
        self.tables = AlerterTables(
            self.rules, self.states, self.metrics, self._emit, settings.state_checkpoint_s
        )
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
        await handle_each(stream, self._handle_point_event, self._count_point_failure, self.gaps)

    async def _config_agent(self, stream: faust.StreamT[bytes]) -> None:
        await handle_each(stream, self._handle_config_event, self._count_config_failure, self.gaps)

    async def _handle_point_event(self, record: Any) -> None:
        await self.tables.handle_point(record.key, record.value, record.message.headers)

    async def _handle_config_event(self, record: Any) -> None:
        self.tables.handle_config(record.key, record.value)

    def _count_point_failure(self) -> None:
        self.metrics.points.labels(PointOutcome.FAILED.value).inc()

    def _count_config_failure(self) -> None:
        self.metrics.configs.labels(ConfigOutcome.FAILED.value).inc()

    async def _emit(self, records: list[OutgoingRecord]) -> None:
        """Send and await the acks; retry while the broker refuses (the point stays unacked)."""
        await send_until_acked(lambda: send_all(self.producer, records), KafkaError)


async def serve(settings: AlerterSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then).
    """
    return await serve_until_stopped(lambda: AlerterService(settings), "alerter")
