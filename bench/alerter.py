"""`make bench-alerter`: metric points/s the alerter evaluates with 10 000 active rules.

One throwaway Kafka 4 broker (`herald_testing.infra.LocalInfra`, topics from deploy/topics.yaml):

1. 2000 apps x 5 rules (cpu, memory, swap, rpm, p95_response_time on `web`) go to
   `notify.config.alerts`: 10 000 active rules. One app in 20 runs hot on cpu (its rule fires,
   then reminds every minute of metric time); every other point is within its limit.
2. Per sample, with the alerter stopped, a backlog of points goes to `platform.metrics` (rounds
   of one point per rule, 10 s of metric time apart, later than every earlier sample's).
3. Alerter: `python -m herald_alerter` (the real process, production app id, offsets committed
   every 200 ms) starts, reads the rules, restores its states and drains the backlog. Timed from
   `/readyz` until its consumer group has committed the end of every partition, polled every
   250 ms (points committed before ready are left out of both the count and the time), then
   SIGTERM.
4. Baseline: a plain aiokafka consumer (no group) reads the same backlog, the same offsets of
   every partition, to its end, decoding nothing.

Samples go in pairs, alerter then raw, then raw then alerter; the ratio is the median of the
per-sample ratios (bench/harness.py).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from harness import Figure, Samples, human, progress, table
from herald_alerter.settings import AlerterSettings
from herald_core.alerts import AlertRule, AppAlerts, Metric, MetricPoint
from herald_core.logging import configure
from herald_core.topics import CONFIG_ALERTS, PLATFORM_METRICS, load_topic_file
from herald_devstack.kafka import kafka_version
from herald_devstack.processes import free_port
from herald_testing.infra import LocalInfra

APPS, METRICS = 2000, (Metric.CPU, Metric.MEMORY, Metric.SWAP, Metric.RPM, Metric.P95_RESPONSE_TIME)
HOT_EVERY = 20  # one app in 20 is above its cpu limit
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
STEP = timedelta(seconds=10)
# 200 000 points per sample: long enough that the finish line (a commit every 200 ms, polled
# every 250 ms) is a few percent of a sample at 50 000 points/s
DEFAULT_ROUNDS, QUICK_ROUNDS = 20, 1
DEFAULT_REPEATS, QUICK_REPEATS = 4, 2
POLL_S = 0.25
# The alerter's command line after the interpreter: point it at a cProfile wrapper to profile.
ARGS = os.environ.get("BENCH_ALERTER_ARGS", "-m herald_alerter")
SAMPLE_TIMEOUT_S = 900.0
POINTS_RE = re.compile(r'^herald_alerter_points_total\{outcome="(\w+)"\} ([0-9.e+]+)$', re.M)


def app_id(k: int) -> str:
    return f"bench-app-{k:05d}"


def rules_of(k: int) -> AppAlerts:
    rules = tuple(
        AlertRule(
            id=f"al-{k:05d}-{metric.value}",
            app_id=app_id(k),
            metric=metric,
            limit=80,
            duration_before_trigger_s=10,
            remind_every_s=60,
            notifier_ids=(f"n-{k:05d}",),
        )
        for metric in METRICS
    )
    return AppAlerts(app_id=app_id(k), owner_id=f"owner-{k % 97}", app_name=f"app{k}", alerts=rules)


def value(k: int, metric: Metric, step: int) -> float:
    if metric is Metric.CPU and k % HOT_EVERY == 0:
        return 95.0
    return float((k * 31 + step * 7 + len(metric.value) * 13) % 80)


async def produce(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        futures = [await producer.send(t, value, key) for t, key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def point_records(first_step: int, rounds: int, prefix: str = "") -> list[tuple[str, bytes, bytes]]:
    """Rounds of one point per rule; with a `prefix`, of apps that have no rule."""
    records = []
    for step in range(first_step, first_step + rounds):
        at = T0 + step * STEP
        for k in range(APPS):
            app = prefix + app_id(k)
            for metric in METRICS:
                point = MetricPoint(app_id=app, metric=metric, value=value(k, metric, step), at=at)
                records.append((PLATFORM_METRICS, app.encode(), point.model_dump_json().encode()))
    return records


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    partitions = {t.name: t.partitions for t in load_topic_file()}[PLATFORM_METRICS]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(PLATFORM_METRICS, p) for p in range(partitions)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def raw_read(
    bootstrap: str, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> tuple[int, float]:
    """The baseline: read [starts, ends) of every partition, decoding nothing."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        count, started = 0, time.perf_counter()
        want = sum(ends[tp] - starts[tp] for tp in starts)
        while count < want:
            for records in (await consumer.getmany(timeout_ms=200, max_records=500)).values():
                count += sum(
                    1 for r in records if r.offset < ends[TopicPartition(r.topic, r.partition)]
                )
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()


class Alerter:
    """`python -m herald_alerter` on the bench broker."""

    def __init__(self, bootstrap: str, log: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HERALD_ALERTER_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "HERALD_ALERTER_HTTP__PORT": str(self.port),
            "HERALD_ALERTER_LOG__JSON": "false",
            "HERALD_ALERTER_LOG__LEVEL": "warning",
            # Commits are the finish line (see drain): frequent ones keep it sharp.
            "HERALD_ALERTER_COMMIT_INTERVAL_S": "0.2",
            "HERALD_ALERTER_DATA_DIR": tempfile.mkdtemp(prefix="herald-bench-alerter-"),
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *ARGS.split()],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError:
            return 0, ""

    def counts(self) -> dict[str, float]:
        _, text = self._get("/metrics")
        return {m.group(1): float(m.group(2)) for m in POINTS_RE.finditer(text)}

    def metric(self, name: str) -> float:
        _, text = self._get("/metrics")
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)
        )

    async def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while self._get("/readyz")[0] != 200:
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the alerter is not ready (exit {self.process.poll()}); see {self.log}"
                )
            await asyncio.sleep(POLL_S)

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


async def committed(bootstrap: str, ends: dict[TopicPartition, int]) -> int:
    """How many of the points up to `ends` the alerter's group has committed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(AlerterSettings().app_id)
    finally:
        await admin.close()
    return sum(min(offsets[tp].offset, end) if tp in offsets else 0 for tp, end in ends.items())


async def drain(
    alerter: Alerter, bootstrap: str, ends: dict[TopicPartition, int]
) -> tuple[int, float, dict[str, float]]:
    """Start the alerter, time it from ready until its group committed `ends`, stop it.

    The count is that of the points committed after ready: a restart re-reads the points after
    the last commit before the stop (harmless: see docs/alerts.md), which a count of handled
    points would mistake for new ones.
    """
    alerter.start()
    try:
        await alerter.wait_ready()
        started = time.perf_counter()
        at_ready = await committed(bootstrap, ends)
        deadline = time.monotonic() + SAMPLE_TIMEOUT_S
        while (done := await committed(bootstrap, ends)) < sum(ends.values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the alerter committed {done} of {sum(ends.values())} points")
            await asyncio.sleep(POLL_S)
        elapsed = time.perf_counter() - started
        counts = alerter.counts()
        emitted = alerter.metric("herald_alerter_events_emitted_total{")
        info = {**counts, "emitted": emitted, "committed_at_ready": at_ready}
        return sum(ends.values()) - at_ready, elapsed, info
    finally:
        alerter.terminate()


async def run(
    bootstrap: str, rounds: int, repeats: int, log: Path
) -> tuple[Figure, list[dict[str, Any]]]:
    progress(f"writing the rules of {APPS} apps ({APPS * len(METRICS)} rules)")
    await produce(
        bootstrap,
        [
            (CONFIG_ALERTS, app_id(k).encode(), rules_of(k).model_dump_json().encode())
            for k in range(APPS)
        ],
    )
    alerter = Alerter(bootstrap, log)
    alerter.start()  # load the rules before any point, then stop: samples start from the tables
    try:
        await alerter.wait_ready()
        deadline = time.monotonic() + SAMPLE_TIMEOUT_S
        while alerter.metric('herald_alerter_config_records_total{outcome="applied"}') < APPS:
            if time.monotonic() > deadline:
                raise RuntimeError("the alerter did not load the rules")
            await asyncio.sleep(POLL_S)
    finally:
        alerter.terminate()
    progress("rules loaded")
    per_sample = rounds * APPS * len(METRICS)
    herald_rates, raw_rates, details = [], [], []
    for r in range(repeats):
        starts = await end_offsets(bootstrap)
        await produce(bootstrap, point_records(r * rounds, rounds))
        ends = await end_offsets(bootstrap)
        assert sum(ends.values()) - sum(starts.values()) == per_sample
        progress(f"sample {r + 1}: {per_sample} points written")
        order = ("alerter", "raw") if r % 2 == 0 else ("raw", "alerter")
        for side in order:
            if side == "alerter":
                # The first start also reads the 2000 rule records (counted apart from points).
                n, seconds, info = await drain(alerter, bootstrap, ends)
                herald_rates.append(n / seconds)
                details.append({"sample": r + 1, "points": n, "seconds": seconds, **info})
                progress(f"sample {r + 1}: alerter {n / seconds:.0f} points/s ({info})")
            else:
                n, seconds = await raw_read(bootstrap, starts, ends)
                raw_rates.append(n / seconds)
                progress(f"sample {r + 1}: raw consume {n / seconds:.0f} points/s")
    # The shell's floor: the same number of points, of apps without rules (parse, look up, skip).
    await produce(bootstrap, point_records(0, rounds, prefix="norule-"))
    n, seconds, info = await drain(alerter, bootstrap, await end_offsets(bootstrap))
    floor = n / seconds
    progress(f"no-rule points: alerter {floor:.0f} points/s ({info})")
    figure = Figure(
        "alerter.10k-rules",
        "points/s",
        Samples(tuple(herald_rates), tuple(raw_rates)),
        f"python -m herald_alerter, {APPS * len(METRICS)} active rules on {APPS} apps, backlogs of "
        f"{per_sample} points (1 rule per point, 1 app in {HOT_EVERY} firing), from /readyz",
        "plain aiokafka consumer (no group, no decoding) reading the same offsets",
        "",
        {
            "rules": APPS * len(METRICS),
            "points_per_sample": per_sample,
            "samples": details,
            "no_rule_points_per_s": floor,
        },
    )
    meaning = (
        f"the alerter evaluates points at {figure.ratio:.1%} of the rate a raw consumer reads them"
    )
    return dataclasses.replace(figure, meaning=meaning), details


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/alerter.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 round (10 000 points) per sample, 2 samples"
    )
    parser.add_argument(
        "--rounds", type=int, help=f"rounds of 10 000 points per sample (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--repeats", type=int, help=f"samples per side (default {DEFAULT_REPEATS})")
    args = parser.parse_args(argv)
    configure(json=False, level="warning")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else DEFAULT_ROUNDS)
    repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    load = os.getloadavg()[0]
    print(
        f"Herald alerter benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {load:.2f}, Kafka {kafka_version()}; app id {AlerterSettings().app_id}\n"
    )
    infra = LocalInfra.create()
    started = time.perf_counter()
    log = Path(tempfile.mkdtemp(prefix="herald-bench-alerter-log-")) / "alerter.log"
    try:
        progress(f"starting a throwaway Kafka {kafka_version()} broker")
        infra.start_kafka()
        figure, _ = asyncio.run(run(infra.bootstrap_servers, rounds, repeats, log))
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the broker")
        return 130
    finally:
        infra.stop()
    print(table([figure]))
    print(
        f"\nalerter {human(figure.herald)} points/s, raw consume {human(figure.baseline)} "
        f"points/s, ratio {figure.ratio:.3f} (spread {figure.spread:.0%}); alerter log: {log}"
    )
    print(
        f"Total {time.perf_counter() - started:.0f}s; load {load:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at the end."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
