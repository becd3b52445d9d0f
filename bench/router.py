"""`make bench-router`: the router against raw aiokafka, and its config view at scale.

One throwaway Kafka 4 broker (`herald_testing.infra.LocalInfra`), two parts:

1. Throughput. The real `RouterService` and a raw aiokafka pass-through take turns on the same
   topics: both read `notify.events` and write `notify.deliveries.webhook`.

       notify.events ─► RouterService: parse, candidates, route, Delivery JSON ─► deliveries.webhook
       notify.events ─► getmany → send x fan-out → await acks → commit        ─► deliveries.webhook

   The pass-through writes fan-out records per event, padded to the router's average delivery
   record (key + value + headers, read back from the topic), so both sides write as many records
   and bytes. Each side has its own consumer group, with the fetch settings of `KafkaSettings()`.
   Its partitions stay paused except during its own samples, and it seeks to its backlog first,
   so neither side reads the other's input. (The benchmark hands RouterService a consumer
   factory that keeps the consumer it builds, see `RouterConsumers`.) Samples are taken as
   in `pipeline.py`: a transactional backlog released at once, timed until the output's end
   offsets have grown by events x fan-out, in pairs H B then B H; the ratio is the median of the
   per-pair ratios.

2. Config view. N notifiers (~430 bytes of JSON, app, owner and user scopes, e-mail, Slack and
   webhook) go to `notify.config.notifiers`. Per N a subprocess (clean RSS) times
   `RouterService(...).view` from `start()` to `ready`, reads VmRSS before and at ready, then
   times a raw read of the same partitions without decoding, as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import itertools
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from corpus import APP_ID, deployments, many_apps, webhook_notifier
from harness import Figure, compare_async, human, progress, table
from herald_core.logging import configure
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import (
    CONFIG_APPS,
    CONFIG_NOTIFIERS,
    CONFIG_OWNERS,
    EVENTS,
    Channel,
    deliveries_topic,
    load_topic_file,
)
from herald_devstack.kafka import kafka_version
from herald_ingest.records import event_record
from herald_kafka.consumer import group_consumer
from herald_kafka.producer import OutgoingRecord, send_all
from herald_router.app import RouterService
from herald_router.settings import RouterSettings
from herald_testing import config_corpus
from herald_testing.infra import LocalInfra
from herald_testing.polling import eventually
from pipeline import TopicCount

OUTPUT = deliveries_topic(Channel.WEBHOOK)
TARGET = 0.8  # the router at >= 0.8 of the pass-through at fan-out 1
CPU_TARGET = 1.1  # the router's CPU per delivery at fan-out 100 within 1.1 x that at 10
WARMUP_ROUNDS = 2
SAMPLE_TIMEOUT_S = 120.0
VIEW_TIMEOUT_S = 1800.0
POLL_MS, MAX_RECORDS = 200, 500  # what herald_kafka.consumer.ConsumerLoop uses
DEFAULT_EVENTS, QUICK_EVENTS = 10_000, 2000
DEFAULT_REPEATS, QUICK_REPEATS = 7, 3
DEFAULT_MAX_NOTIFIERS, QUICK_NOTIFIERS, FIRST_SIZE = 1_000_000, 20_000, 100_000
ID_BLOCKS = itertools.count(0, 10**7)  # event ids stay unique across the backlogs of a run


@dataclasses.dataclass(frozen=True)
class Case:
    """A throughput scenario: whose events a backlog holds and how many notifiers match each."""

    name: str
    fanout: int
    apps: tuple[str, ...]
    events: int
    what: str

    def notifiers(self, first_id: int) -> list[Notifier]:
        """`fanout` `app_deployed` webhook notifiers per app, ids from `first_id` on."""
        slots = itertools.product(self.apps, range(self.fanout))
        return [webhook_notifier(first_id + k, app) for k, (app, _) in enumerate(slots)]


def cases(events: int, fanouts: tuple[int, ...]) -> list[Case]:
    """One-app and spread (48 apps, every partition busy) cases per fan-out.

    A one-app backlog holds `events` events at fan-out 1, and 2 x events / fan-out above it
    (twice the deliveries, so that a sample of the slower router still lasts a few seconds);
    a spread backlog twice that.
    """
    found = []
    for fanout in fanouts:
        tag = f"f{fanout:02d}"
        one_app = (APP_ID,) if fanout == 1 else (APP_ID.replace("0000", tag),)
        spread = many_apps(48) if fanout == 1 else tuple(f"app-{k:04d}-{tag}" for k in range(48))
        each = f"{fanout} matching webhook notifier{'s' if fanout > 1 else ''}"
        n = events if fanout == 1 else 2 * events // fanout
        found.append(Case(f"f{fanout}.one-app", fanout, one_app, n, f"1 app, {each}"))
        found.append(Case(f"f{fanout}.spread", fanout, spread, 2 * n, f"48 apps, {each} each"))
    return found


class Gate:
    """Lets one consumer of `notify.events` read only during its own side's samples."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def wait_assigned(self, partitions: int) -> None:
        await eventually(
            lambda: len(self.consumer.assignment()) == partitions,
            timeout_s=60,
            what="the consumer group assigned every partition",
        )
        self.close()

    def open(self, starts: dict[TopicPartition, int]) -> None:
        """Read from `starts` on (the first offsets of this side's backlog)."""
        for tp, offset in starts.items():
            self.consumer.seek(tp, offset)
        self.consumer.resume(*starts)

    def close(self) -> None:
        self.consumer.pause(*self.consumer.assignment())


class PassThrough:
    """The baseline: raw aiokafka, `notify.events` → `OUTPUT`, fan-out records per event.

    getmany → send each copy → await every ack → commit, with the router's consumer settings
    (read_committed, manual commits, the fetch settings of `KafkaSettings`) and producer
    settings (those of `herald_kafka.producer.idempotent_producer`).
    """

    def __init__(self, kafka: KafkaSettings) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id="herald-bench-pass-through",
            group_id="herald-bench-pass-through",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            request_timeout_ms=kafka.request_timeout_ms,
            fetch_max_wait_ms=kafka.fetch_max_wait_ms,
            max_partition_fetch_bytes=kafka.max_partition_fetch_bytes,
        )
        self.producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers,
            client_id="herald-bench-pass-through",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=kafka.request_timeout_ms,
            max_request_size=2 * 1024 * 1024,
        )
        self.suffixes: tuple[bytes, ...] = (b"",)
        self.record_bytes = 0  # 0: copy values as they are
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def shape(self, fanout: int, record_bytes: float) -> None:
        """Write `fanout` records per event (distinct keys, like notifier ids), each padded."""
        self.suffixes = (b"",) if fanout == 1 else tuple(b"/%d" % i for i in range(fanout))
        self.record_bytes = round(record_bytes)

    async def __aenter__(self) -> PassThrough:
        await self.producer.start()
        await self.consumer.start()
        self.consumer.subscribe([EVENTS])
        self._task = asyncio.create_task(self._run(), name="pass-through")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            if self._task is not None:
                await self._task
        finally:
            await self.consumer.stop()
            await self.producer.stop()

    async def _run(self) -> None:
        while not self._stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
            if not batches:
                continue
            acks = []
            for records in batches.values():
                for r in records:
                    headers = list(r.headers)
                    room = self.record_bytes - sum(len(k) + len(v) for k, v in headers)
                    for suffix in self.suffixes:
                        key = r.key + suffix
                        size = room - len(key)
                        value = r.value.ljust(size)[:size] if self.record_bytes else r.value
                        acks.append(await self.producer.send(OUTPUT, value, key, headers=headers))
            await asyncio.gather(*acks)
            await self.consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batches.items()})


class Backlog:
    """One side's samples: n events released at once on `notify.events`, drained to OUTPUT."""

    def __init__(
        self, feeder: AIOKafkaProducer, topics: tuple[TopicCount, TopicCount], gate: Gate
    ) -> None:
        self._feeder = feeder
        self._input, self._output = topics
        self._gate = gate
        self.case: Case | None = None
        self.output_starts: dict[TopicPartition, int] = {}
        self.cpu_per_delivery: list[float] = []
        """This process's CPU seconds per delivery written, per timed sample (B2)."""

    async def sample(self) -> tuple[int, float]:
        """Feed one backlog, open the gate, time the draining; returns (events, seconds)."""
        assert self.case is not None
        n = self.case.events
        events = deployments(n, offset=next(ID_BLOCKS), apps=self.case.apps)
        records = [dataclasses.replace(event_record(e), topic=EVENTS) for e in events]
        starts = await self._input.ends()
        await self._feeder.begin_transaction()
        await send_all(self._feeder, records)
        self._gate.open(starts)
        self.output_starts = await self._output.ends()
        before = sum(self.output_starts.values())
        started, cpu = time.perf_counter(), time.process_time()
        await self._feeder.commit_transaction()
        try:
            await self._output.reach(before + n * self.case.fanout, SAMPLE_TIMEOUT_S)
        finally:
            self._gate.close()
        self.cpu_per_delivery.append((time.process_time() - cpu) / (n * self.case.fanout))
        return n, time.perf_counter() - started


async def _behind(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """True while the consumer has not read some partition up to its end offset."""
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return True
    return False


async def record_bytes(bootstrap: str, starts: dict[TopicPartition, int]) -> dict[str, float]:
    """Average key, value and header bytes of the records from `starts` to the current ends."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        ends = await consumer.end_offsets(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        sizes = {"key": 0, "value": 0, "headers": 0, "records": 0}
        while await _behind(consumer, ends):
            for records in (await consumer.getmany(timeout_ms=POLL_MS)).values():
                for r in records:
                    sizes["key"] += len(r.key or b"")
                    sizes["value"] += len(r.value or b"")
                    sizes["headers"] += sum(len(k) + len(v) for k, v in r.headers)
                    sizes["records"] += 1
    finally:
        await consumer.stop()
    count = max(sizes["records"], 1)
    averages = {k: v / count for k, v in sizes.items() if k != "records"}
    return {**averages, "total": sum(averages.values()), "records": sizes["records"]}


async def _run_case(
    case: Case,
    repeats: int,
    bootstrap: str,
    sides: tuple[Backlog, Backlog],
    pass_through: PassThrough,
) -> Figure:
    """Warm up (router first, to measure its records), shape the copy, then sample both."""
    router, copy = sides
    router.case = copy.case = case
    started = time.perf_counter()
    for round_ in range(WARMUP_ROUNDS):
        items, seconds = await router.sample()
        progress(f"{case.name}: warm-up {round_ + 1}: router {items / seconds:.0f} ev/s")
    sizes = await record_bytes(bootstrap, router.output_starts)
    pass_through.shape(case.fanout, sizes["total"])
    for round_ in range(WARMUP_ROUNDS):
        items, seconds = await copy.sample()
        progress(f"{case.name}: warm-up {round_ + 1}: pass-through {items / seconds:.0f} ev/s")
    copied = await record_bytes(bootstrap, copy.output_starts)
    progress(
        f"{case.name}: records of {sizes['total']:.0f} B (router) and {copied['total']:.0f} B "
        f"(pass-through); warm-up {time.perf_counter() - started:.1f}s"
    )
    router.cpu_per_delivery.clear()
    samples = await compare_async(router.sample, copy.sample, repeats=repeats)
    cpu_us = statistics.median(router.cpu_per_delivery) * 1e6
    figure = Figure(
        case.name,
        "ev/s",
        samples,
        f"RouterService, backlogs of {case.events} app_deployed events, {case.what} -> {OUTPUT}",
        f"raw aiokafka getmany/send/commit, same topics, {case.fanout} record(s) per event "
        f"padded to {copied['total']:.0f} B",
        "",
        {
            "fanout": case.fanout,
            "events": case.events,
            "apps": len(case.apps),
            "router_record_bytes": sizes,
            "router_cpu_us_per_delivery": round(cpu_us, 2),
            "pass_through_record_bytes": copied,
        },
    )
    meaning = (
        f"the router drains these backlogs at {figure.ratio:.0%} of a raw aiokafka "
        "pass-through writing the same records and bytes"
    )
    return dataclasses.replace(figure, meaning=meaning)


def _router_settings(kafka: KafkaSettings) -> RouterSettings:
    return RouterSettings(
        kafka=kafka.model_copy(update={"client_id": "herald-bench-router"}),
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        group_id="herald-bench-router",
    )


async def measure_throughput(bootstrap: str, chosen: list[Case], repeats: int) -> list[Figure]:
    """Start the router and the pass-through on one broker and run every case."""
    kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="herald-bench")
    notifiers, first_id = [], 0
    for case in chosen:
        notifiers += case.notifiers(first_id)
        first_id += len(case.apps) * case.fanout
    feeder = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        transactional_id="bench-router",
    )
    await feeder.start()
    try:
        async with feeder.transaction():
            await send_all(feeder, [_config_record(x) for x in notifiers])
        made = RouterConsumers()
        async with (
            RouterService(_router_settings(kafka), consumer_factory=made.build) as router,
            PassThrough(kafka) as pass_through,
            TopicCount(kafka, EVENTS) as input_,
            TopicCount(kafka, OUTPUT) as output,
        ):
            await eventually(
                lambda: router.ready()[0] and len(router.index) == len(notifiers) and made,
                timeout_s=60,
                what="router ready with the benchmark notifiers, its consumer captured",
            )
            partitions = len(await input_.ends())
            gates = Gate(made[0]), Gate(pass_through.consumer)
            for gate in gates:
                await gate.wait_assigned(partitions)
            router_side, copy_side = (Backlog(feeder, (input_, output), g) for g in gates)
            figures = [
                await _run_case(case, repeats, bootstrap, (router_side, copy_side), pass_through)
                for case in chosen
            ]
            _check_router(router, chosen, WARMUP_ROUNDS + repeats)
            return figures
    finally:
        await feeder.stop()


class RouterConsumers(list[AIOKafkaConsumer]):
    """The router's consumer factory: `group_consumer`, keeping what it builds (the gate's)."""

    def build(self, settings: KafkaSettings, group_id: str) -> AIOKafkaConsumer:
        self.append(group_consumer(settings, group_id))
        return self[-1]


def _config_record(notifier: Notifier) -> OutgoingRecord:
    return OutgoingRecord(
        CONFIG_NOTIFIERS, notifier.model_dump_json().encode(), notifier.id.encode()
    )


def _check_router(router: RouterService, chosen: list[Case], rounds: int) -> None:
    """Fail unless the router routed its own backlogs once each, and nothing else."""
    expected = sum(rounds * case.events * case.fanout for case in chosen)
    metric = router.registry.get_sample_value
    dead = metric("herald_router_events_total", {"outcome": "dead_lettered"}) or 0
    written = metric("herald_router_deliveries_total", {"channel": "webhook"}) or 0
    if dead or written != expected:
        raise RuntimeError(
            f"the router wrote {written:.0f} deliveries ({expected} expected) "
            f"and dead-lettered {dead:.0f}"
        )


# --- the config view -------------------------------------------------------------------------


def produce_notifiers(bootstrap: str, first: int, stop: int) -> Coroutine[Any, Any, float]:
    """Write notifiers first..stop-1 (`herald_testing.config_corpus`), with progress lines."""
    return config_corpus.produce_notifiers(bootstrap, first, stop, progress=progress)


def _status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: peak resident)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


async def view_only(bootstrap: str) -> dict[str, Any]:
    """The subprocess: time the router's config view to `ready`, then a raw read baseline."""
    gc.collect()
    rss_before = _status_kib("VmRSS")
    kafka = KafkaSettings(bootstrap_servers=bootstrap, client_id="herald-bench-view")
    service = RouterService(_router_settings(kafka))
    stop = asyncio.Event()
    started = time.perf_counter()
    await service.view.start()
    task = asyncio.create_task(service.view.run(stop))
    try:
        await service.view.wait_ready(VIEW_TIMEOUT_S)
        catch_up_s = time.perf_counter() - started
        rss_ready, rss_peak = _status_kib("VmRSS"), _status_kib("VmHWM")
    finally:
        stop.set()
        await task
        await service.view.stop()
        await service.producer.stop()  # never started; stopping it closes it quietly
    notifiers = len(service.index)
    if service.view.rejected:
        raise RuntimeError(f"the view refused {service.view.rejected} notifiers")
    raw_records, raw_bytes, raw_s = await raw_read(bootstrap)
    return {
        "notifiers": notifiers,
        "records": service.view.applied,
        "catch_up_s": catch_up_s,
        "rss_before_mib": rss_before / 1024,
        "rss_ready_mib": rss_ready / 1024,
        "rss_peak_mib": rss_peak / 1024,
        "bytes_per_notifier": (rss_ready - rss_before) * 1024 / max(notifiers, 1),
        "raw_records": raw_records,
        "raw_mib": raw_bytes / 2**20,
        "raw_s": raw_s,
    }


async def raw_read(bootstrap: str) -> tuple[int, int, float]:
    """Read the config topics from the beginning to their ends, no decoding: (records, bytes, s).

    Same consumer options as the view (aiokafka's defaults, no group).
    """
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        specs = {s.name: s.partitions for s in load_topic_file()}
        topics = (CONFIG_NOTIFIERS, CONFIG_APPS, CONFIG_OWNERS)
        partitions = [TopicPartition(t, p) for t in topics for p in range(specs[t])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        count = size = 0
        while await _behind(consumer, ends):
            for records in (await consumer.getmany(timeout_ms=POLL_MS)).values():
                count += len(records)
                size += sum(len(r.value or b"") + len(r.key or b"") for r in records)
    finally:
        await consumer.stop()
    return count, size, time.perf_counter() - started


def measure_view(bootstrap: str, size: int) -> dict[str, Any]:
    """Run `view_only` in a fresh interpreter (its RSS is the view's alone) and parse its JSON."""
    command = [sys.executable, __file__, "--view-only", "--bootstrap", bootstrap]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = child.communicate(timeout=VIEW_TIMEOUT_S + 60)
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(10)
    if child.returncode != 0:
        raise RuntimeError(f"the view subprocess for {size} notifiers exited {child.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return {"size": size, **result}


def measure_views(bootstrap: str, sizes: list[int]) -> list[dict[str, Any]]:
    """Top the notifier topic up to each size in turn and measure the view there."""
    results, written = [], 0
    for size in sizes:
        progress(f"config: writing notifiers {written} to {size}")
        seconds = asyncio.run(produce_notifiers(bootstrap, written, size))
        progress(f"config: {size - written} written in {seconds:.1f}s; starting the view")
        written = size
        results.append({**measure_view(bootstrap, size), "write_s": seconds})
        r = results[-1]
        progress(
            f"config: {r['notifiers']} notifiers ready in {r['catch_up_s']:.1f}s, "
            f"RSS {r['rss_before_mib']:.0f} -> {r['rss_ready_mib']:.0f} MiB"
        )
    return results


# --- the command line and the report ----------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/router.py",
        description=(
            "The router's events/s against a raw aiokafka consume-produce pass-through on the "
            "same topics and record sizes (fan-out 1 and 10; one app and 48 apps), and the "
            "router's config view: catch-up time and memory for 100 000 and 1 000 000 "
            "notifiers. Starts and always stops a throwaway Kafka broker. See "
            "docs/benchmarks.md (Router)."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fan-out 1 only, {QUICK_EVENTS} events, {QUICK_REPEATS} samples, "
        f"{QUICK_NOTIFIERS} notifiers (under a minute)",
    )
    parser.add_argument(
        "--events",
        type=_positive,
        metavar="N",
        help=f"events per one-app backlog at fan-out 1 (default {DEFAULT_EVENTS}, "
        f"{QUICK_EVENTS} with --quick); at fan-out 10 N/5 (twice the deliveries); spread "
        "backlogs hold twice as many",
    )
    parser.add_argument(
        "--repeats",
        type=_positive,
        metavar="R",
        help=f"timed samples per side (default {DEFAULT_REPEATS}, {QUICK_REPEATS} with --quick)",
    )
    parser.add_argument(
        "--max-notifiers",
        type=_positive,
        metavar="N",
        help=f"config view sizes: {FIRST_SIZE} and N (default {DEFAULT_MAX_NOTIFIERS}); "
        f"only N when N <= {FIRST_SIZE}",
    )
    parser.add_argument(
        "--fanouts",
        type=_positive,
        nargs="+",
        default=[1, 10, 100],
        metavar="F",
        help="fan-outs of the throughput part (default 1 10 100; --quick: 1); B2 compares the "
        "CPU per delivery at 100 and 10",
    )
    parser.add_argument("--only", choices=("throughput", "view"), help="run one part only")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every figure to OUT")
    parser.add_argument("--view-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the broker is always stopped (see bench/run.py)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # a background job of a script
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def _machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
        "kafka": kafka_version(),
    }


def report_throughput(figures: list[Figure]) -> list[str]:
    """The throughput table and the target check; returns the target lines."""
    print(table(figures))
    lines = []
    for f in figures:
        if f.extra["fanout"] == 1:
            verdict = "met" if f.ratio >= TARGET else "NOT met"
            lines.append(
                f"target router >= {TARGET} x pass-through at fan-out 1, {f.name}: "
                f"{f.ratio:.2f} ({verdict}, spread {f.spread:.0%})"
            )
    lines += cpu_per_delivery_lines(figures)
    print("\n" + "\n".join(lines))
    return lines


def cpu_per_delivery_lines(figures: list[Figure]) -> list[str]:
    """B2: the router's CPU per delivery at fan-out 100 against 10, one-app and spread. The
    CPU is this process's during the router's timed samples (the pass-through's consumer is
    paused then): what the router spends per delivery, plus the benchmark's own polling."""
    cpu = {f.name: f.extra["router_cpu_us_per_delivery"] for f in figures}
    lines = []
    for layout in ("one-app", "spread"):
        wide, narrow = cpu.get(f"f100.{layout}"), cpu.get(f"f10.{layout}")
        if wide is None or narrow is None:
            continue
        ratio = wide / narrow
        verdict = "met" if ratio <= CPU_TARGET else "NOT met"
        lines.append(
            f"target CPU per delivery f100 / f10 <= {CPU_TARGET}, {layout}: {ratio:.2f} "
            f"({wide:.1f} us vs {narrow:.1f} us; {verdict})"
        )
    return lines


def report_views(views: list[dict[str, Any]]) -> None:
    header = (
        f"{'notifiers':>10} {'catch-up':>9} {'records/s':>10} {'raw read':>9} "
        f"{'ratio':>6} {'RSS before':>11} {'at ready':>9} {'peak':>7} {'per notifier':>13}"
    )
    print("\nconfig view (RouterService.view, subprocess per size)\n" + header)
    print("-" * len(header))
    for v in views:
        rate = v["records"] / v["catch_up_s"]
        raw_rate = v["raw_records"] / v["raw_s"]
        print(
            f"{v['notifiers']:>10} {v['catch_up_s']:>8.1f}s {human(rate):>10} "
            f"{v['raw_s']:>8.1f}s {rate / raw_rate:>6.2f} {v['rss_before_mib']:>7.0f} MiB "
            f"{v['rss_ready_mib']:>5.0f} MiB {v['rss_peak_mib']:>3.0f} MiB "
            f"{v['bytes_per_notifier'] / 1024:>9.2f} KiB"
        )
    print(
        "  catch-up: view.start() to view.ready; raw read: the same partitions read to their "
        "ends without decoding (ratio = records/s of the view / of the raw read); per "
        "notifier: (RSS at ready - RSS before) / notifiers"
    )


def run(args: argparse.Namespace, infra: LocalInfra, result: dict[str, Any]) -> None:
    """Start the broker and run both parts; a part that fails is reported, the other still runs."""
    progress(f"starting a throwaway Kafka {kafka_version()} broker")
    infra.start_kafka()
    progress(f"broker ready in {infra.timings['kafka_ready_s']:.1f}s at {infra.bootstrap_servers}")
    bootstrap = infra.bootstrap_servers
    if args.only != "view":
        events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
        chosen = cases(events, (1,) if args.quick else tuple(args.fanouts))
        repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
        progress(f"throughput: {len(chosen)} cases, {repeats} samples per side each")
        _part(
            result, "figures", lambda: asyncio.run(measure_throughput(bootstrap, chosen, repeats))
        )
    if args.only != "throughput":
        top = QUICK_NOTIFIERS if args.quick else args.max_notifiers or DEFAULT_MAX_NOTIFIERS
        sizes = [FIRST_SIZE, top] if top > FIRST_SIZE else [top]
        _part(result, "views", lambda: measure_views(bootstrap, sizes))


def _part(result: dict[str, Any], name: str, job: Callable[[], object]) -> None:
    try:
        result[name] = job()
    except Exception as exc:  # one broken part must not hide the other's figures
        result["failures"].append(f"{name}: {type(exc).__name__}: {exc}")
        progress(f"{name}: FAILED: {type(exc).__name__}: {exc}")
    result[f"load_after_{name}"] = round(os.getloadavg()[0], 2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(json=False, level="warning")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    if args.view_only:
        print(json.dumps(asyncio.run(view_only(args.bootstrap))))
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGTERM, _on_sigterm)
    machine = _machine()
    fetch = KafkaSettings()
    print(
        f"Herald router benchmark: Python {machine['python']}, {machine['cpus']} CPUs, load "
        f"{machine['load_1m']:.2f}, Kafka {machine['kafka']}; consumers fetch with "
        f"fetch_max_wait_ms={fetch.fetch_max_wait_ms}, "
        f"max_partition_fetch_bytes={fetch.max_partition_fetch_bytes}"
        f"{' (quick)' if args.quick else ''}\n"
    )
    if machine["load_1m"] > (machine["cpus"] or 1):
        print(
            f"warning: the machine is busy (load {machine['load_1m']:.1f} on {machine['cpus']} "
            "CPUs): ratios drift, spreads grow and the run takes longer; rerun when it is "
            "quieter before comparing\n"
        )
    result: dict[str, Any] = {"machine": machine, "failures": []}
    infra = LocalInfra.create()
    started = time.perf_counter()
    try:
        run(args, infra, result)
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the broker")
        return 130
    finally:
        infra.stop()
    targets = report_throughput(result["figures"]) if "figures" in result else []
    if "views" in result:
        report_views(result["views"])
    elapsed = time.perf_counter() - started
    load = os.getloadavg()[0]
    print(f"\nTotal {elapsed:.0f}s; load {machine['load_1m']:.2f} at start, {load:.2f} at the end.")
    for failure in result["failures"]:
        print(f"FAILED {failure}")
    if args.json is not None:
        figures = [f.as_json() for f in result.pop("figures", [])]
        document = {**result, "figures": figures, "targets": targets, "elapsed_s": elapsed}
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
