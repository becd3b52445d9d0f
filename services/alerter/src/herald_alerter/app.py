"""The alerter: metric points joined with alert rules, on Herald's own consumer shell.

    notify.config.alerts ──► rules reader (every partition, no group): AppAlerts per app
                             → drop the states of deleted, disabled, re-targeted rules
    platform.metrics ──────► group `app_id`, a batch of each partition at a time:
                             parse → the app's rules on that metric → evaluate in memory
                             → emit the batch's events (await acks)
                             → write the batch's state changes (await acks) → commit
                             (the next batch is fetched and evaluated meanwhile)
    state  ◄──► <app_id>-alert_state-changelog  (compacted; key "<app>␟<alert>", the
                                                 partition of the app's points)

Every worker holds every app's rules (a few KiB per app), read before it joins the group, so
the join needs no co-partitioning of consumers: a partition's states are restored from the
changelog partition of the same number when the partition is assigned. Events first, states
second, offsets last: a crash anywhere repeats the same events (deterministic ids) after a
restart, it never loses one (docs/alerts.md, *Restarts and state*).

The loop is `herald_kafka.consumer.run_group`'s (start, subscribe, lag sampling, close) with
a loop class of its own, `AlerterLoop`: it handles a fetched batch at once instead of a record
at a time (docs/decisions.md, "The alerter leaves faust").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web
from herald_core.metrics import ConsumerLag
from herald_core.topics import CONFIG_ALERTS, EVENTS, PLATFORM_METRICS
from herald_kafka import AIOKafkaProducer, KafkaError, Record, TopicPartition
from herald_kafka.admin import partition_counts
from herald_kafka.connection import start_client
from herald_kafka.consumer import group_consumer, run_group
from herald_kafka.loop import LoopBase
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all, stop_producer
from herald_kafka.reader import AssignedReader, Bounds
from herald_runtime.faust_service import TopicsNotReady, check_partitions
from herald_runtime.health import add_health_routes, start_site
from herald_runtime.lifecycle import undone_on_failure
from herald_runtime.signals import stop_event_on_signals
from herald_runtime.tasks import TaskSupervisor
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from herald_alerter.metrics import AlerterMetrics
from herald_alerter.settings import AlerterSettings
from herald_alerter.tables import AlerterTables, StateRecord

log = structlog.get_logger(__name__)

SEND_RETRY_MAX_S = 30.0
POLL_TIMEOUT_MS = 200


async def check_topics(settings: AlerterSettings, *, timeout_s: float = 60.0) -> None:
    """Fail fast unless the inputs and the state changelog have `table_partitions` each.

    Raises:
        TopicsNotReady: naming the topic and what to do.
        TimeoutError: when the broker does not answer within `timeout_s`.
    """
    co_partitioned = [PLATFORM_METRICS, CONFIG_ALERTS, settings.state_changelog]
    found = await partition_counts(settings.kafka, [*co_partitioned, EVENTS], timeout_s=timeout_s)
    if EVENTS not in found:
        raise TopicsNotReady(f"{EVENTS} is missing: run `herald-topics apply`")
    check_partitions(found, co_partitioned, settings.table_partitions, "docs/alerts.md")


async def send_until_acked(
    producer: AIOKafkaProducer, records: Sequence[OutgoingRecord], stop: asyncio.Event
) -> bool:
    """Send `records` and await every ack; while the broker refuses, try again with a doubling
    pause. False when `stop` came first (nothing after them may be written or committed)."""
    delay = 0.5
    while True:
        try:
            await send_all(producer, records)
            return True
        except KafkaError as exc:
            log.warning("emit_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
        delay = min(delay * 2, SEND_RETRY_MAX_S)


class AlerterLoop(LoopBase):
    """Consume `platform.metrics` a batch at a time: evaluate, emit, checkpoint, commit.

    Built by `run_group` (`loop_class`), with no per-record handler: it works on whole batches.
    A rebalance (the listener of `LoopBase`) waits for the batch in flight and commits. Every
    partition then assigned is restored from the state changelog before any of its points is
    handled, even one held before (another worker may have had it in between, should this one
    have been dropped from the group unaware), and `/readyz` says "rebalancing" until then.
    """

    def __init__(self, *, service: AlerterService, **options: Any) -> None:
        settings = service.settings
        super().__init__(
            **{
                **options,
                "max_records": settings.max_batch,
                "poll_timeout_ms": POLL_TIMEOUT_MS,
                "retry_pause_s": 1.0,
            }
        )
        self.service = service
        self.tables = service.tables
        self.assigned: set[TopicPartition] = set()
        self._to_restore: set[TopicPartition] = set()
        self._next: dict[TopicPartition, int] = {}  # the next offset expected of a partition
        self._uncommitted: dict[TopicPartition, int] = {}
        self._writing: asyncio.Future[None] | None = None  # the writes of the last batch
        self._committed_at = time.monotonic()
        self.rebalancing = True  # until the first assignment is restored

    # rebalance hooks (LoopBase's listener)

    async def drain(self) -> None:
        self.rebalancing = True
        await super().drain()  # the loop commits before it goes idle (see `run`)

    def _reset_on_assign(self) -> None:
        self.tables.release(list(self.tables.shards))
        self.assigned = set(self._consumer.assignment())
        self._to_restore = set(self.assigned)
        self._next.clear()
        self._uncommitted.clear()
        self.rebalancing = bool(self._to_restore)

    # the loop

    async def run(self, stop: asyncio.Event) -> None:
        # a loop started again after a failure may have evaluated points it never emitted:
        # start from the changelog
        self.tables.release(list(self.tables.shards))
        try:
            while not stop.is_set():
                batches = await self._fetch(
                    stop, timeout_ms=self._poll_timeout_ms, max_records=self._max_records
                )
                self._idle.clear()
                try:
                    if self._to_restore:
                        await self._settle()
                        await self._restore()
                    await self._process(batches, stop)
                    if self._drain_requested.is_set():  # a rebalance waits: finish, commit
                        await self._settle()
                        await self._commit()
                finally:
                    self._idle.set()
        finally:
            self._idle.clear()
            try:
                await self._settle()
                await self._commit()
            finally:
                self._idle.set()

    async def _process(
        self, batches: dict[TopicPartition, list[Record]], stop: asyncio.Event
    ) -> None:
        """Evaluate a batch, then hand its writes to the writer once the previous batch's are
        done: the next batch is fetched and evaluated while this one's are acknowledged."""
        events: list[OutgoingRecord] = []
        offsets: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            if not records or tp not in self.assigned:
                continue
            self._watch_gaps(tp, records)
            events.extend(self.tables.handle_points(tp.partition, records))
            offsets[tp] = records[-1].offset + 1
        states = self.tables.checkpoint()
        await self._settle()
        if events or states:
            self._writing = asyncio.ensure_future(self._write(events, states, offsets, stop))
        else:
            self._uncommitted.update(offsets)
        if time.monotonic() - self._committed_at >= self.service.settings.commit_interval_s:
            await self._commit()

    async def _settle(self) -> None:
        """Wait for the batch being written (its failure, a bug, ends the loop)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def _write(
        self,
        events: Sequence[OutgoingRecord],
        states: Sequence[StateRecord],
        offsets: dict[TopicPartition, int],
        stop: asyncio.Event,
    ) -> None:
        """Events first (acknowledged), then states (acknowledged), then the offsets may be
        committed. Given up when `stop` comes first: nothing of the batch is committed."""
        if events and not await send_until_acked(self._producer, events, stop):
            self.tables.unwritten(states)
            return
        if states:
            if not await self._write_states(states, stop):
                self.tables.unwritten(states)
                return
            self.tables.written(states)
        self._uncommitted.update(offsets)

    async def _write_states(self, states: Sequence[StateRecord], stop: asyncio.Event) -> bool:
        topic = self.service.settings.state_changelog
        delay = 0.5
        while True:
            try:
                futures = [
                    await self._producer.send(topic, s.value, s.key, partition=s.partition)
                    for s in states
                ]
                await asyncio.gather(*futures)
                return True
            except KafkaError as exc:
                log.warning("state_write_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
            delay = min(delay * 2, SEND_RETRY_MAX_S)

    async def _commit(self) -> None:
        self._committed_at = time.monotonic()
        offsets = {tp: o for tp, o in self._uncommitted.items() if tp in self.assigned}
        self._uncommitted.clear()
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance under way: the next owner replays, same ids
            log.warning("commit_failed", error=str(exc)[:300])

    async def _restore(self) -> None:
        """Restore the states of the partitions taken on from the changelog, in one read."""
        wanted = sorted(tp.partition for tp in self._to_restore)
        started = time.monotonic()

        def plan(bounds: Mapping[TopicPartition, Bounds]) -> dict[TopicPartition, int]:
            return {
                tp: b.beginning if tp.partition in wanted else b.end for tp, b in bounds.items()
            }

        changelog: dict[int, list[tuple[bytes | None, bytes | None]]] = {p: [] for p in wanted}
        settings = self.service.settings
        async with AssignedReader(
            settings.kafka,
            [settings.state_changelog],
            start=plan,
            client_id=f"{settings.kafka.client_id}-restore",
        ) as reader:
            ends = {tp: b.end for tp, b in reader.bounds.items() if tp.partition in wanted}
            async for records in reader.read_until_end(ends):
                for r in records:
                    changelog[r.partition].append((r.key, r.value))
        held = {p: self.tables.hold(p, changelog[p]) for p in wanted}
        for tp in self._to_restore:
            self._next[tp] = await self._consumer.position(tp)
        self._to_restore.clear()
        self.rebalancing = False
        log.info(
            "alert_states_restored",
            states=held,
            seconds=round(time.monotonic() - started, 3),
        )

    def _watch_gaps(self, tp: TopicPartition, records: list[Record]) -> None:
        """Count offsets jumped over (`herald_alerter_records_skipped_total`): the states
        assume every point of a partition is handled in offset order."""
        expected = self._next.get(tp)
        self._next[tp] = records[-1].offset + 1
        if expected is not None and records[0].offset > expected:
            jumped = records[0].offset - expected
            self.service.metrics.skipped.inc(jumped)
            log.warning(
                "records_skipped",
                topic=tp.topic,
                partition=tp.partition,
                expected=expected,
                got=records[0].offset,
            )


class RulesReader:
    """Every partition of `notify.config.alerts`, from its beginning, applied to the tables;
    `ready` once caught up with the end offsets seen at start."""

    def __init__(self, settings: AlerterSettings, tables: AlerterTables) -> None:
        self._settings = settings
        self._tables = tables
        self._reader: AssignedReader | None = None
        self.ready = asyncio.Event()
        self.positions: dict[int, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        reader = AssignedReader(
            self._settings.kafka,
            [CONFIG_ALERTS],
            start="beginning",
            client_id=f"{self._settings.kafka.client_id}-rules",
        )
        async with reader:
            ends = {tp: b.end for tp, b in reader.bounds.items()}
            self.positions = {tp.partition: reader.starts[tp] for tp in reader.partitions}
            while not stop.is_set():
                if not self.ready.is_set() and await reader.caught_up(ends):
                    log.info("alert_rules_ready", apps=len(self._tables.rules))
                    self.ready.set()
                batches = await reader.getmany(timeout_ms=POLL_TIMEOUT_MS)
                for tp, records in batches.items():
                    for record in records:
                        self._tables.handle_config(record.key, record.value)
                    if records:
                        self.positions[tp.partition] = records[-1].offset + 1


class ShellCollector(Collector):
    """Read at each scrape: `herald_alerter_assigned_partitions{topic,partition}` (1 per
    partition of platform.metrics this worker holds) and `herald_alerter_config_offset
    {partition}` (the next offset of notify.config.alerts its rules have applied)."""

    def __init__(self, service: AlerterService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        assigned = GaugeMetricFamily(
            "herald_alerter_assigned_partitions",
            "Partitions of platform.metrics assigned to this worker (1 each)",
            labels=["topic", "partition"],
        )
        loop = self._service.loop
        for tp in sorted(loop.assigned if loop else (), key=lambda t: (t.topic, t.partition)):
            assigned.add_metric([tp.topic, str(tp.partition)], 1.0)
        yield assigned
        offsets = GaugeMetricFamily(
            "herald_alerter_config_offset",
            "The next offset of notify.config.alerts the rules have applied, by partition",
            labels=["partition"],
        )
        for partition, offset in sorted(self._service.rules_reader.positions.items()):
            offsets.add_metric([str(partition)], float(offset))
        yield offsets


class AlerterService:
    """Owns the rules reader, the consumer loop, the producer and the health site; an async
    context manager."""

    def __init__(
        self, settings: AlerterSettings, registry: CollectorRegistry | None = None
    ) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = AlerterMetrics.create(self.registry)
        self.lag = ConsumerLag(self.registry)
        self.tables = AlerterTables(self.metrics, settings.state_checkpoint_s)
        self.rules_reader = RulesReader(settings, self.tables)
        self.producer = idempotent_producer(settings.kafka)
        self.loop: AlerterLoop | None = None
        self.registry.register(ShellCollector(self))
        self.port = settings.http.port
        self.tasks = TaskSupervisor(self.registry)
        self._stop = asyncio.Event()
        self._subscribed = False
        self._runner: web.AppRunner | None = None

    def ready(self) -> tuple[bool, str]:
        if not self.rules_reader.ready.is_set():
            return False, "reading the alert rules"
        if not self._subscribed or self.loop is None:
            return False, "joining the group"
        if self.loop.rebalancing:
            return False, "rebalancing"
        return True, f"watching the rules of {len(self.tables.rules)} apps"

    async def __aenter__(self) -> AlerterService:
        app = web.Application()
        add_health_routes(app, self.registry, self.ready, lambda: self.tasks.failure)
        async with undone_on_failure(self):
            self._runner, self.port = await start_site(
                app, self.settings.http.host, self.settings.http.port
            )
            await check_topics(self.settings)
            await start_client(self.producer, self.settings.kafka)
        self.tasks.keep_running(lambda: self.rules_reader.run(self._stop), "rules", self._stop)
        self.tasks.keep_running(self._consume, "alerter-loop", self._stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        await self.tasks.join()
        await stop_producer(self.producer)
        if self._runner is not None:
            await self._runner.cleanup()

    def _make_loop(self, **options: Any) -> AlerterLoop:
        self.loop = AlerterLoop(service=self, **options)
        return self.loop

    async def _consume(self) -> None:
        await asyncio.wait_for(self.rules_reader.ready.wait(), self.settings.ready_timeout_s)

        def subscribed() -> None:
            self._subscribed = True
            log.info("alerter_started", apps=len(self.tables.rules))

        settings = self.settings
        try:
            await run_group(
                settings.kafka,
                settings.app_id,
                [PLATFORM_METRICS],
                producer=self.producer,
                stop=self._stop,
                on_subscribed=subscribed,
                loop_class=self._make_loop,
                consumer_factory=lambda kafka, group: group_consumer(
                    kafka,
                    group,
                    auto_offset_reset=settings.auto_offset_reset,
                    session_timeout_ms=int(settings.session_timeout_s * 1000),
                    heartbeat_interval_ms=int(min(3.0, settings.session_timeout_s / 3) * 1000),
                ),
                on_lag=self.lag.reporter(settings.app_id),
            )
        finally:
            self._subscribed = False


async def serve(settings: AlerterSettings) -> int:
    """Run until SIGTERM/SIGINT, then drain; return the exit status.

    1 if the consumer loop failed for good, 2 if a topic is missing (nothing was read then).
    """
    stop = stop_event_on_signals()
    try:
        async with AlerterService(settings) as service:
            while not stop.is_set() and service.tasks.failure is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
            failure = service.tasks.failure
    except TopicsNotReady as exc:
        log.error("alerter_topics_not_ready", detail=str(exc))
        return 2
    if failure is not None:
        log.error("alerter_failed", detail=failure)
        return 1
    return 0
