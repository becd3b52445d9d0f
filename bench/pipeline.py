"""The broker benchmark: the real `RouterService` against a bare Kafka copy, same broker, same run.

    notify.events   ─► RouterService (parse, route, Delivery JSON) ─► notify.deliveries.webhook
    platform.events ─► ConsumerLoop with an identity handler       ─► notify.deliveries.slack

Both sides read a 6-partition input and write a 3-partition output with the same factories
(`group_consumer`, `idempotent_producer`: read_committed, acks=all, linger 5 ms) and the same
commit-after-ack loop, so the ratio is what Herald's own work costs on top of Kafka. A sample
is a backlog of N events made visible at once (see `Side`), timed until the output topic's end
offsets have grown by N: acknowledged writes, read without consuming them.

Two scenarios (`SCENARIOS`): the events of one app (one busy input partition: a burst from one
app) and the events of 48 apps (every partition busy). They differ because aiokafka keeps one
fetch in flight per broker: while the busy partition's records sit in its buffer, the next fetch
names only the idle partitions, and the broker holds it up to `fetch_max_wait_ms` (500 ms) before
the busy partition can be fetched again. With one busy partition both sides mostly wait on that.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
import time
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from corpus import APP_ID, deployments, many_apps, webhook_notifier
from harness import Figure, Samples, compare_async, peak_rss_mib, progress
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import (
    CONFIG_NOTIFIERS,
    EVENTS,
    PLATFORM_EVENTS,
    Channel,
    deliveries_topic,
    load_topic_file,
)
from herald_devstack.kafka import kafka_version
from herald_ingest.records import event_record
from herald_kafka.consumer import ConsumerLoop, Record, group_consumer
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_router.app import RouterService
from herald_router.settings import RouterSettings
from herald_testing.infra import LocalInfra
from herald_testing.polling import eventually

ROUTER_OUTPUT = deliveries_topic(Channel.WEBHOOK)
COPY_OUTPUT = deliveries_topic(Channel.SLACK)  # same partitions and configs as ROUTER_OUTPUT
POLL_S = 0.005
WARMUP_ROUNDS = 2
WARMUP_TIMEOUT_S = 90.0  # the first backlog waits for both consumer groups to join
SAMPLE_TIMEOUT_S = 60.0


class BareCopy:
    """The baseline: Herald's consumer shell with an identity handler, `source` → `target`."""

    def __init__(self, settings: KafkaSettings, source: str, target: str) -> None:
        self._target = target
        self._consumer = group_consumer(settings, "bench-bare-copy")
        self._producer = idempotent_producer(settings)
        self._loop = ConsumerLoop(
            consumer=self._consumer,
            producer=self._producer,
            handle=self._copy,
            on_error=self._refuse,
            topics=[source],
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _copy(self, record: Record) -> list[OutgoingRecord]:
        return [OutgoingRecord(self._target, record.value, record.key, list(record.headers))]

    @staticmethod
    def _refuse(record: Record, exc: Exception) -> list[OutgoingRecord]:
        raise RuntimeError(f"the bare copy failed on offset {record.offset}") from exc

    async def __aenter__(self) -> BareCopy:
        await self._producer.start()
        try:
            await self._consumer.start()
        except BaseException:
            await self._producer.stop()
            raise
        self._loop.subscribe()
        self._task = asyncio.create_task(self._loop.run(self._stop), name="bare-copy")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            await self._consumer.stop()
            await self._producer.stop()


class TopicCount:
    """How many records a topic holds (the sum of its end offsets), read without consuming."""

    def __init__(self, settings: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, group_id=None
        )
        partitions = {spec.name: spec.partitions for spec in load_topic_file()}[topic]
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]

    async def __aenter__(self) -> TopicCount:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def ends(self) -> dict[TopicPartition, int]:
        """The end offset of each partition (the offset its next record will get)."""
        return dict(await self._consumer.end_offsets(self._partitions))

    async def total(self) -> int:
        return int(sum((await self.ends()).values()))

    async def reach(self, target: int, timeout_s: float) -> None:
        """Return once the topic holds `target` records. Raises TimeoutError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while (count := await self.total()) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.topic}: {count} records, {target} expected")
            await asyncio.sleep(POLL_S)


@dataclass(frozen=True)
class Scenario:
    """Which apps the events of a backlog belong to; each app has one matching notifier."""

    name: str
    apps: tuple[str, ...]
    what: str
    note: str
    scale: int = 1  # backlog = scale x --events: the fast scenario needs longer samples


SCENARIOS = (
    Scenario(
        "pipeline",
        (APP_ID,),
        "one app, 1 matching webhook notifier",
        "one app is one busy partition among idle ones: both sides mostly wait on fetches",
    ),
    Scenario(
        "pipeline.spread",
        many_apps(48),
        "48 apps round-robin, 1 matching webhook notifier each",
        "every partition busy: Herald's own work shows",
        scale=2,
    ),
)


def scenario_notifiers() -> list[Notifier]:
    """One `app_deployed` webhook notifier per app of every scenario (n-00, n-01, …)."""
    apps = dict.fromkeys(app for scenario in SCENARIOS for app in scenario.apps)
    return [webhook_notifier(k, app) for k, app in enumerate(apps)]


class Side:
    """One side of the comparison: a backlog of n fresh events on its input, drained to `output`.

    The feeder is transactional and both sides read with read_committed, so the n records are
    written (and acknowledged) unseen; the clock starts when the transaction commits and they
    all become visible at once, and stops when `output` holds n more records. Producing the
    input thus stays out of the timed window, and neither side ever waits on the producer.
    """

    def __init__(
        self,
        feeder: AIOKafkaProducer,
        input_topic: str,
        output: TopicCount,
        n: int,
        apps: tuple[str, ...],
    ) -> None:
        self._feeder = feeder
        self._input = input_topic
        self._output = output
        self._n = n
        self._apps = apps
        self._batch = 0
        self.first_record_s: list[float] = []

    async def sample(self, timeout_s: float = SAMPLE_TIMEOUT_S) -> tuple[int, float]:
        """Feed one backlog and time its draining; returns (n, seconds)."""
        self._batch += 1
        events = deployments(self._n, offset=self._batch * self._n, apps=self._apps)
        records = [dataclasses.replace(event_record(e), topic=self._input) for e in events]
        await self._feeder.begin_transaction()
        await send_all(self._feeder, records)
        before = await self._output.total()
        started = time.perf_counter()
        await self._feeder.commit_transaction()
        await self._output.reach(before + 1, timeout_s)
        self.first_record_s.append(time.perf_counter() - started)
        await self._output.reach(before + self._n, timeout_s)
        return self._n, time.perf_counter() - started


async def _measure(bootstrap: str, n: int, repeats: int) -> list[Figure]:
    kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="herald-bench")
    feeder = idempotent_producer(kafka, transactional_id="herald-bench-feeder")
    await feeder.start()
    try:
        notifiers = scenario_notifiers()
        async with feeder.transaction():
            await send_all(
                feeder,
                [
                    OutgoingRecord(CONFIG_NOTIFIERS, x.model_dump_json().encode(), x.id.encode())
                    for x in notifiers
                ],
            )
        settings = RouterSettings(
            kafka=kafka.model_copy(update={"client_id": "herald-bench-router"}),
            http=HttpSettings(port=0),
            log=LogSettings(json=False, level="warning"),
            group_id="herald-bench-router",
        )
        async with (
            RouterService(settings) as router,
            BareCopy(kafka, PLATFORM_EVENTS, COPY_OUTPUT),
            TopicCount(kafka, ROUTER_OUTPUT) as routed,
            TopicCount(kafka, COPY_OUTPUT) as copied,
        ):
            await eventually(
                lambda: router.ready()[0] and len(router.index) == len(notifiers),
                timeout_s=60,
                what="router ready with the benchmark notifiers",
            )
            figures = []
            for scenario in SCENARIOS:
                size = n * scenario.scale
                herald = Side(feeder, EVENTS, routed, size, scenario.apps)
                baseline = Side(feeder, PLATFORM_EVENTS, copied, size, scenario.apps)
                await _warm_up(scenario, herald, baseline)
                progress(f"{scenario.name}: {repeats} samples per side, backlogs of {size} events")
                samples = await compare_async(herald.sample, baseline.sample, repeats=repeats)
                first = statistics.median(herald.first_record_s[WARMUP_ROUNDS:])
                figures.append(_figure(scenario, size, samples, first))
            backlogs = sum(n * scenario.scale for scenario in SCENARIOS)
            _check_router(router, (WARMUP_ROUNDS + repeats) * backlogs)
            return figures
    finally:
        await feeder.stop()


def _check_router(router: RouterService, expected: int) -> None:
    """Fail unless the router routed every event once and dead-lettered none."""
    metric = router.registry.get_sample_value
    dead = metric("herald_router_events_total", {"outcome": "dead_lettered"}) or 0
    written = metric("herald_router_deliveries_total", {"channel": "webhook"}) or 0
    if dead or written != expected:
        raise RuntimeError(
            f"the router wrote {written:.0f} deliveries for {expected} events "
            f"and dead-lettered {dead:.0f}"
        )


async def _warm_up(scenario: Scenario, herald: Side, baseline: Side) -> None:
    """Let both groups join and both sides run a few backlogs before the clock counts."""
    started = time.perf_counter()
    for round_ in range(WARMUP_ROUNDS):
        timeout_s = WARMUP_TIMEOUT_S if round_ == 0 else SAMPLE_TIMEOUT_S
        h_items, h_s = await herald.sample(timeout_s)
        b_items, b_s = await baseline.sample(timeout_s)
        progress(
            f"{scenario.name}: warm-up {round_ + 1}/{WARMUP_ROUNDS}: "
            f"router {h_items / h_s:.0f} ev/s, bare copy {b_items / b_s:.0f} ev/s"
        )
    progress(f"{scenario.name}: warm-up took {time.perf_counter() - started:.1f}s")


def _figure(scenario: Scenario, n: int, samples: Samples, first_s: float) -> Figure:
    figure = Figure(
        scenario.name,
        "ev/s",
        samples,
        f"RouterService in-process, backlogs of {n} app_deployed events, {scenario.what} "
        f"-> {ROUTER_OUTPUT}",
        f"ConsumerLoop identity copy, same factories: {PLATFORM_EVENTS} -> {COPY_OUTPUT}",
        "",
        {
            "events": n,
            "apps": len(scenario.apps),
            "kafka": kafka_version(),
            "router_first_delivery_s": first_s,
        },
    )
    meaning = (
        f"the router drains a backlog at {figure.ratio:.0%} of a bare Kafka copy's rate; "
        f"{scenario.note}"
    )
    return dataclasses.replace(figure, meaning=meaning)


def bench_pipeline(n: int, repeats: int) -> list[Figure]:
    """Start a throwaway broker, measure, and always stop it (Ctrl-C included)."""
    rss_before = peak_rss_mib()
    infra = LocalInfra.create()
    try:
        progress(f"pipeline: starting a throwaway Kafka {kafka_version()} broker")
        infra.start_kafka()
        progress(
            f"pipeline: broker ready in {infra.timings['kafka_ready_s']:.1f}s, "
            f"topics in {infra.timings['topics_s']:.1f}s at {infra.bootstrap_servers}"
        )
        figures = asyncio.run(_measure(infra.bootstrap_servers, n, repeats))
    finally:
        stopping = time.perf_counter()
        infra.stop()
        progress(f"pipeline: broker stopped in {time.perf_counter() - stopping:.1f}s")
    rss = {"peak_rss_before_mib": rss_before, "peak_rss_after_mib": peak_rss_mib()}
    return [dataclasses.replace(f, extra={**f.extra, **rss}) for f in figures]
