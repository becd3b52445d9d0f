"""Rebalances under load: instances of a service added and removed while events flow.

The router goes from one instance to three and back to one, the webhook sender from one to two
(`Stack.scale_to`: new instances started and awaited ready, the extra ones stopped with SIGTERM,
so they drain and commit). Each change makes the service's consumer groups rebalance: the
partitions move between instances, and a record handled but not yet committed when its
partition moves is handled again by its new owner. The verdict: nothing lost, nothing phantom,
duplicates counted in the row (each with its delivery's id). Every step must end while the
load still flows, or the scenario says it did not test what it claims.

The stack is shared by every chaos scenario: each scenario leaves its service at one instance,
whatever happens.

Load: the run's profile in a short run (`chaos_short`); 20 000 events in a full one
(`HERALD_CHAOS=full`), over more apps so that ingest's per-app posting keeps up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import pytest
from herald_core.topics import EVENTS, Channel, deliveries_topic
from herald_devstack.instances import instance_name
from herald_devstack.stack import Stack
from herald_testing.polling import eventually

from chaos.harness import FULL, SHORT, Chaos, Fault, Profile, Trial, in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

FULL_EVENTS = 20_000
FULL_RATE_PER_S = 150.0
FULL_REBALANCE = replace(
    FULL,
    rate_per_s=FULL_RATE_PER_S,
    seconds=FULL_EVENTS / FULL_RATE_PER_S,
    apps=30,
    settle_timeout_s=300,
)
"""20 000 events at 150 a second (about 133 s of load) over 30 apps."""
SHORT_REBALANCE = replace(SHORT, rate_per_s=40, seconds=30)
"""1 200 events: long enough for the instances to start and stop while they flow."""


WORK_TOPICS = {"router": EVENTS, "sender-webhook": deliveries_topic(Channel.WEBHOOK)}
"""The topic whose partitions show that an instance took its share of the work."""


def log_size(stack: Stack, name: str) -> int:
    path = stack.process(name).log_file
    return path.stat().st_size if path.exists() else 0


def assigned_since(stack: Stack, name: str, offset: int, topic: str) -> bool:
    """Whether instance `name` logged an assignment of some partition of `topic` after byte
    `offset` of its log (herald_kafka.loop logs `partitions_assigned` on every assignment)."""
    with stack.process(name).log_file.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    return any("partitions_assigned" in line and f"{topic}:" in line for line in lines)


@dataclass
class Rebalance:
    """Scales `service` through `counts`, one step every `every_s` seconds from the start of
    the load, and remembers how long each step took. After a step up, every new instance must
    be assigned partitions of the service's main topic (it took its share). A step over after
    the load's last event was made is a problem in the row: that step was not under load."""

    service: str
    counts: Sequence[int]
    every_s: float
    load_s: float
    steps: list[tuple[int, float]] = field(default_factory=list)
    """(instances, seconds the step took)."""

    def fault(self) -> Fault:
        async def fault(trial: Trial) -> None:
            stack = trial.chaos.stack
            load_started = time.monotonic()
            for count in self.counts:
                await asyncio.sleep(self.every_s)
                before = set(stack.running_instances(self.service))
                names = [instance_name(self.service, k) for k in range(1, count + 1)]
                logs = {name: log_size(stack, name) for name in names}
                began = time.monotonic()
                await in_thread(partial(stack.scale_to, self.service, count))
                self.steps.append((count, time.monotonic() - began))
                new = [n for n in stack.running_instances(self.service) if n not in before]
                await self.took_partitions(trial, new, logs)
                if time.monotonic() - load_started > self.load_s:
                    trial.ledger.problem(
                        f"{self.service} → {count} was over after the load: not under load"
                    )

        return fault

    async def took_partitions(self, trial: Trial, names: list[str], logs: dict[str, int]) -> None:
        """Wait until each instance of `names` was assigned some of the main topic's
        partitions; a problem in the row when one was not within a minute."""
        stack, topic = trial.chaos.stack, WORK_TOPICS[self.service]

        def all_assigned() -> bool:
            return all(assigned_since(stack, n, logs.get(n, 0), topic) for n in names)

        try:
            await eventually(all_assigned, timeout_s=60, interval_s=0.5, what="assignments")
        except AssertionError:
            trial.ledger.problem(f"{names} not all assigned partitions of {topic}")

    def describe(self) -> str:
        return ", ".join(f"→{count} in {took:.1f} s" for count, took in self.steps)


def profile_of(chaos: Chaos) -> Profile:
    return FULL_REBALANCE if chaos.profile.full else SHORT_REBALANCE


async def rebalanced_run(chaos: Chaos, name: str, service: str, counts: Sequence[int]) -> None:
    """One trial of `service` scaled through `counts` under load; the service is left at one
    instance afterwards, whatever happened."""
    profile = profile_of(chaos)
    stack: Stack = chaos.stack
    rebalance = Rebalance(
        service, counts, every_s=profile.seconds / (len(counts) + 2), load_s=profile.seconds
    )
    trial = await chaos.trial(name, duplicates_allowed=True, profile=profile)
    try:
        started = time.monotonic()
        row = await trial.run(fault=rebalance.fault())
        print(
            f"\n{name}: {row.events} events, {row.expected} deliveries, {row.duplicates} "
            f"duplicates, {time.monotonic() - started:.0f} s; steps {rebalance.describe()}"
        )
        assert row.passed, row.problems
        assert len(rebalance.steps) == len(counts)
        assert len(stack.running_instances(service)) == counts[-1]
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
        await in_thread(lambda: stack.scale_to(service, 1))


@pytest.mark.chaos_short
async def test_router_scaled_from_one_to_three_and_back_under_load(chaos: Chaos) -> None:
    await rebalanced_run(chaos, "router 1 → 3 → 1 under load", "router", (3, 1))


@pytest.mark.chaos_short
async def test_webhook_sender_scaled_from_one_to_two_under_load(chaos: Chaos) -> None:
    await rebalanced_run(chaos, "sender-webhook 1 → 2 under load", "sender-webhook", (2,))
