"""The ledger runs of a three-broker cluster with the prod topic profile: events through
ingest → router → webhook sender while a broker is lost and started again.

    SIGKILL   the node leading most partitions of the webhook deliveries topic crashes
    SIGTERM   the node leading most partitions of notify.events stops (a controlled shutdown)

No loss (every event ingest accepted is delivered once the broker is back), no phantom;
duplicates are allowed (a sender whose commit failed sends again, with the same delivery id)
and counted; the recovery time is in the table (conftest.py).
"""

from __future__ import annotations

import time

import pytest
from herald_core.topics import EVENTS, Channel, deliveries_topic

from chaos.harness import Chaos
from cluster.broker_faults import FIGURES, broker_lost, describe, run_with_fault

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def after_and_down(chaos: Chaos) -> tuple[float, float]:
    """When the fault strikes and how long the broker stays down: a fifth of the load in, for
    a fifth of it (at least 10 s each)."""
    fifth = max(10.0, chaos.profile.seconds / 5)
    return fifth, fifth


@pytest.mark.cluster_short
async def test_broker_killed_and_restarted(chaos: Chaos) -> None:
    trial = await chaos.trial("3 brokers: SIGKILL, restart", duplicates_allowed=True)
    after_s, down_s = after_and_down(chaos)
    try:
        started = time.time()
        row, figures, struck = await run_with_fault(
            trial,
            broker_lost(deliveries_topic(Channel.WEBHOOK), "kill", after_s=after_s, down_s=down_s),
        )
        FIGURES.append(describe(row, figures, struck, started))
        assert row.passed, row.problems
        assert row.lost == row.phantom == 0
        assert row.delivered == row.expected > 0
        await trial.a_new_notifier_receives()
    finally:
        trial.close()


async def test_events_leader_stopped_and_restarted(chaos: Chaos) -> None:
    trial = await chaos.trial("3 brokers: notify.events leader SIGTERM", duplicates_allowed=True)
    after_s, down_s = after_and_down(chaos)
    try:
        started = time.time()
        row, figures, struck = await run_with_fault(
            trial, broker_lost(EVENTS, "stop", after_s=after_s, down_s=down_s)
        )
        FIGURES.append(describe(row, figures, struck, started))
        assert row.passed, row.problems
        assert row.lost == row.phantom == 0
        assert row.delivered == row.expected > 0
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
