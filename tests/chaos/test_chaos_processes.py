"""Herald's own processes killed with SIGKILL mid-load (no drain, no commit) and started again
by the stack: duplicates are allowed and counted, a loss is not."""

from __future__ import annotations

import pytest
from herald_core import headers as h
from herald_core.headers import header
from herald_core.topics import EVENTS
from herald_testing.topics import records_now

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


async def test_ingest_killed_with_requests_in_flight(chaos: Chaos) -> None:
    """Every 202 ingest gave has its record on `notify.events`: it answers only after the
    broker's acknowledgement. Requests cut by the kill are sent again with the same id."""
    trial = await chaos.trial("ingest SIGKILL x3", duplicates_allowed=True)
    try:
        row = await trial.run(fault=kill_and_restart("ingest", times=3, every_s=3.0))
        assert trial.report is not None
        assert trial.report.unanswered > 0, "no request met the dead ingest"
        written = await records_now(
            chaos.stack.kafka.bootstrap_servers,
            EVENTS,
            lambda r: header(r.headers, h.CE_ID) in trial.ledger.sent,
        )
        on_topic = {header(r.headers, h.CE_ID) for r in written}
        assert set(trial.ledger.sent) - on_topic == set(), "a 202 without its record"
        assert row.passed, row.problems
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
