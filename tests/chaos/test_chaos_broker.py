"""The broker killed (SIGKILL) and started again, or frozen (SIGSTOP) and thawed, under load.

While it is away, ingest answers 503 with Retry-After quickly and the generator sends the same
event again; every event ingest accepted is delivered once the broker is back.
"""

from __future__ import annotations

import pytest

from chaos.harness import Chaos, broker_killed, broker_paused

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.mark.chaos_short
async def test_broker_killed_and_restarted(chaos: Chaos) -> None:
    trial = await chaos.trial("broker SIGKILL, restart", duplicates_allowed=True)
    try:
        row = await trial.run(fault=broker_killed(after_s=3))
        assert row.passed, row.problems
        assert trial.report is not None
        assert trial.report.unanswered > 0, "ingest never said 503 nor dropped a connection"
        await trial.a_new_notifier_receives()
    finally:
        trial.close()


async def test_broker_paused_for_30_s(chaos: Chaos) -> None:
    trial = await chaos.trial("broker SIGSTOP 30 s", duplicates_allowed=True)
    try:
        row = await trial.run(fault=broker_paused(after_s=3, paused_s=30))
        assert row.passed, row.problems
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
