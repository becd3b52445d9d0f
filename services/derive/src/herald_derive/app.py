"""The derive service: a faust-streaming processor that counts crashes (docs/derive.md).

    notify.events ──► agent: parse → evaluate(state, event) → emit app_crashed (await acks)
                                                              → store the state in the table
    table `crash_counts` (key: app id) ◄──► herald-derive-crash_counts-changelog (compacted)

The agent emits first and stores the state second: a crash between the two repeats the same
`app_crashed` (same deterministic id) after a restart, it never loses one. faust flushes the
changelog before it commits offsets, so a restart (or the worker that takes a killed worker's
partitions over) replays at most the events since the last commit, and `evaluate` recognises
every one of them by its offset (the state keeps the offset of the latest record applied).

The service shell (faust options, the health site with `/livez`, `/readyz` and `/metrics`,
readiness, start and stop) is `herald_runtime.faust_service`: faust's web server is off, faust
declares no topic (every topic, the changelog included, comes from deploy/topics.yaml) and the
leader topic is disabled. This module keeps what is derive's own: its table, topic and agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import faust
import structlog
from herald_core import headers as h
from herald_core.envelope import Event
from herald_core.topics import EVENTS
from herald_kafka import KafkaError
from herald_kafka.admin import partition_counts
from herald_kafka.connection import faust_credentials
from herald_kafka.producer import (
    OutgoingRecord,
    event_record,
    idempotent_producer,
    send_all,
)
from herald_runtime.faust_consumer import start_offsets, use_ordered_consumer
from herald_runtime.faust_service import (
    RAW_SCHEMA,
    FaustService,
    check_partitions,
    faust_options,
    handle_each,
    send_until_acked,
    serve_until_stopped,
)
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from herald_derive.crashes import CrashState, Position, evaluate
from herald_derive.metrics import DeriveMetrics, Outcome
from herald_derive.settings import TABLE, DeriveSettings

log = structlog.get_logger(__name__)

AGENT = "herald_derive.count_crashes"


def faust_app(settings: DeriveSettings) -> faust.App:
    """An unstarted faust App configured from `settings` (no web server, no topic creation),
    with Herald's `OrderedConsumer` (herald_runtime.faust_consumer)."""
    app = faust.App(
        settings.app_id,
        **faust_options(
            settings,
            broker_credentials=faust_credentials(
                settings.kafka, sasl=faust.SASLCredentials, tls=faust.SSLCredentials
            ),
        ),
    )
    use_ordered_consumer(app)
    return app


def _raw_schema() -> faust.Schema[bytes, bytes]:
    return faust.Schema(**RAW_SCHEMA)


async def check_topics(settings: DeriveSettings, *, timeout_s: float = 60.0) -> None:
    """Fail fast unless notify.events and the crash table's changelog have `table_partitions`.

    faust declares no topic here; without its changelog every table write fails, after the
    record was read (and acknowledged): counts would be lost, one warning at a time.

    Raises:
        TopicsNotReady: naming the topic and what to do.
        TimeoutError: when the broker does not answer within `timeout_s`.
    """
    topics = [EVENTS, settings.changelog_topic]
    found = await partition_counts(settings.kafka, topics, timeout_s=timeout_s)
    check_partitions(found, topics, settings.table_partitions, "docs/derive.md")


class DeriveService(FaustService):
    """Owns the faust app, the producer of derived events and the health site."""

    settings: DeriveSettings
    app: faust.App
    recovering = "joining the group and recovering the crash table"

    def __init__(self, settings: DeriveSettings, registry: CollectorRegistry | None = None) -> None:
        app = faust_app(settings)
        super().__init__(
            settings, app, idempotent_producer(settings.kafka), registry, start_offsets(app)
        )
        self.metrics = DeriveMetrics.create(self.registry)
        self.table = app.Table(
            TABLE,
            default=None,
            partitions=settings.table_partitions,
            # bytes in, bytes out: faust picks the `raw` codec from these types (a `schema`
            # would be ignored by recovery, which then fails to decode and stalls for ever)
            key_type=bytes,
            value_type=bytes,
            help="Crash state per app id (CrashState JSON)",
        )
        self.topic = app.topic(EVENTS, schema=_raw_schema())
        app.agent(self.topic, name=AGENT)(self._agent)

    async def check_topics(self) -> None:
        await check_topics(self.settings)

    def status(self) -> str:
        return f"counting crashes of {len(self.table)} apps"

    def on_started(self) -> None:
        log.info("derive_started", apps=len(self.table))

    async def _agent(self, stream: faust.StreamT[bytes]) -> None:
        await handle_each(stream, self._handle_event, self._count_failure, self.gaps)

    async def _handle_event(self, record: Any) -> None:
        message = record.message
        position = Position(message.partition, message.offset)
        await self.handle(record.key, record.value, message.headers, position)

    def _count_failure(self) -> None:
        self.metrics.events.labels(Outcome.FAILED.value).inc()

    async def handle(
        self,
        key: Any,
        value: Any,
        headers: Sequence[tuple[str, bytes]],
        position: Position | None = None,
    ) -> None:
        """Apply one `notify.events` record read at `position`: parse, evaluate, emit, store."""
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
            position=position,
            thresholds=self.settings.thresholds,
            quiet_period=self.settings.quiet_period,
        )
        if emitted:
            traceparent = h.header(list(headers), h.TRACEPARENT)
            await self._emit([event_record(e, traceparent) for e in emitted])
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
        await send_until_acked(lambda: send_all(self.producer, records), KafkaError)


async def serve(settings: DeriveSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if faust crashed, 2 if a topic is missing (nothing was read then).
    """
    return await serve_until_stopped(lambda: DeriveService(settings), "derive")
