"""A broker of the cluster lost under load, and the ledger run around it.

    fault = broker_lost(EVENTS, "kill", after_s=30, down_s=30)
    row, figures = await run_with_fault(trial, fault)

The fault picks the node leading the most partitions of a topic when it strikes, SIGKILLs it
(`kill`: a crash) or SIGTERMs it and waits until it exits (`stop`: a controlled shutdown that
hands its partitions over), and starts it again `down_s` later, returning once the node
answers and all three brokers are registered. The run is the chaos harness's (open-loop load
through ingest, the lag watch, the ledger's verdict) with each event's making time kept, so
that the row's `recovery s` is herald_testing.recovery's: from the fault until the last late
delivery.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from herald_devstack.cluster import busiest_leader, partition_leaders, wait_for_brokers
from herald_kafka.admin import wait_until_ready
from herald_testing.ledger_table import Row
from herald_testing.load import LoadGenerator
from herald_testing.recovery import Recovery, recovery

from chaos.harness import Trial, deployment, in_thread


@dataclass(frozen=True)
class Struck:
    """What a fault did: which node, how, when (wall times)."""

    how: str
    node: int
    led: str
    """The partitions of the topic it led, e.g. `2/6 of notify.events`."""
    at: float
    """The signal sent."""
    gone_s: float
    """How long `stop` took to exit (0 for a kill)."""
    back_at: float
    """All three brokers registered again."""


ClusterFault = Callable[[Trial], Awaitable[Struck]]
FIGURES: list[str] = []
"""Each run's `describe` line, printed after the ledger's table."""


def broker_lost(
    topic: str, how: Literal["kill", "stop"], *, after_s: float, down_s: float
) -> ClusterFault:
    """`after_s` into the load, `how` the node leading most of `topic`'s partitions; start it
    again `down_s` after the signal."""

    async def fault(trial: Trial) -> Struck:
        cluster = trial.chaos.stack.cluster
        kafka = trial.chaos.kafka
        await asyncio.sleep(after_s)
        leaders = await partition_leaders(kafka, topic)
        node = busiest_leader(leaders)
        led = f"{sum(1 for n in leaders.values() if n == node)}/{len(leaders)} of {topic}"
        at = time.time()
        end = cluster.kill if how == "kill" else cluster.terminate
        assert await in_thread(lambda: end(node)), f"kafka node {node} was not running"
        gone_s = time.time() - at
        await asyncio.sleep(max(0.0, at + down_s - time.time()))
        await in_thread(lambda: cluster.start_node(node))
        # the node itself answers (a node just killed may still be listed until it is fenced),
        # then the cluster counts all three
        await wait_until_ready(cluster.node(node).client_settings(), timeout_s=180)
        await wait_for_brokers(kafka, cluster.brokers, timeout_s=180)
        return Struck(how, node, led, at, gone_s, time.time())

    return fault


@dataclass
class MadeAt:
    """The chaos harness's deployments, each one's making time kept by event id."""

    at: dict[str, float] = field(default_factory=dict)

    def __call__(self, app_id: str, n: int) -> tuple[dict[str, Any], frozenset[str]]:
        event, answers_to = deployment(app_id, n)
        self.at[event["id"]] = time.time()
        return event, answers_to


async def run_with_fault(trial: Trial, fault: ClusterFault) -> tuple[Row, Recovery, Struck]:
    """Load, the fault beside it, settle, judge (as `Trial.run`); the row's `recovery s` is
    the time from the fault until the last late delivery arrived."""
    profile = trial.chaos.profile
    made = MadeAt()
    generator = LoadGenerator(
        trial.chaos.http,
        trial.chaos.events_url,
        trial.ledger,
        trial.apps,
        made,
        rate_per_s=profile.rate_per_s,
        headers=trial.chaos.ingest_headers,
    )
    watch = trial.chaos.lag_watch(*trial.channels)
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        watching = group.create_task(watch.watch(stop))
        load = group.create_task(generator.run(profile.seconds))
        struck = await fault(trial)
        trial.ledger.fault_ended(time.time())
        trial.report = await load
        stop.set()
        await watching
    judged = await trial.judge(watch)
    figures = recovery(struck.at, made.at, trial.ledger.arrivals)
    row = replace(judged, recovery_s=figures.recovery_s)
    trial.chaos.rows[-1] = row
    return row, figures, struck


def describe(row: Row, figures: Recovery, struck: Struck, started: float) -> str:
    """One line of the run's fault and recovery figures, for the end of the test run."""
    return (
        f"{row.scenario}: node {struck.node} (leading {struck.led}) {struck.how} "
        f"{struck.at - started:.0f} s into the load"
        + (f", exited after {struck.gone_s:.1f} s" if struck.how == "stop" else "")
        + f", all 3 brokers back {struck.back_at - struck.at:.0f} s after; "
        f"delay p99 before {figures.baseline_s:.2f} s, late above {figures.late_s:.1f} s: "
        f"{figures.late} late deliveries, the last {figures.recovery_s:.1f} s after the fault; "
        f"longest delay {figures.max_delay_s:.1f} s; duplicates {row.duplicates}"
    )
