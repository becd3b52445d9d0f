"""Herald's own processes killed with SIGKILL mid-load (no drain, no commit) and started again
by the stack: duplicates are allowed and counted, a loss is not."""

from __future__ import annotations

import pytest

from chaos.harness import Chaos, kill_and_restart

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.mark.chaos_short
@pytest.mark.parametrize("service", ["sender-webhook", "router"])
async def test_a_service_killed_five_times_in_a_row(chaos: Chaos, service: str) -> None:
    trial = await chaos.trial(f"{service} SIGKILL x5", duplicates_allowed=True)
    try:
        every_s = 2.0 if chaos.profile.full else 1.0
        row = await trial.run(fault=kill_and_restart(service, times=5, every_s=every_s))
        assert row.passed, row.problems
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
