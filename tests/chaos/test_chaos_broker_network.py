"""The network between every client and the broker fails for a while, then heals: the fault
proxy the broker advertises (`broker_proxy`, conftest.py) is slowed, resets every connection,
swallows every packet, or refuses connections. Full run only.

Every service goes through that proxy (ingest's producer, each consumer group and its
heartbeats, the API's outbox relay and config view), and so does this process's lag watch,
which misses its samples while the link is down. Each trial must pass the ledger: nothing lost,
nothing phantom, every delivery delivered (none dead-lettered: the receivers answer 2xx
throughout), and a notifier created after the fault is served.

Duplicates: a broken link loses answers, not requests. A produce request may be written by the
broker while its answer never comes back, and a consumer whose heartbeats stop for longer than
its 10 s session is dropped from its group: its next commit fails, its partitions go back to
the last committed offset, and what it handled since is handled again (the sender sends those
deliveries again, with the same `webhook-id`). Ingest answers 503 after its acknowledgement
timeout (2 s) while the record may still be written, and the client sends the same event again.
At-least-once allows each of these. Only the slow link cuts nothing and holds nothing past a
timeout (a round trip of at most 500 ms, against 2 s for ingest and 30 s for the clients'
requests), so it must not duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from herald_testing.fault_proxy_thread import ThreadedFaultProxy
from herald_testing.ledger import Row
from herald_testing.load import LoadReport

from chaos.harness import Chaos
from chaos.links import Breakage, blackholed, broken_for, cut_then_refused, reset, slow_link

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture
async def broker_link(broker_proxy: ThreadedFaultProxy) -> AsyncIterator[ThreadedFaultProxy]:
    """The broker's proxy, healed again after the test whatever happened (every later
    scenario goes through it)."""
    try:
        yield broker_proxy
    finally:
        await broker_proxy.heal()


async def run_broken(
    chaos: Chaos,
    proxy: ThreadedFaultProxy,
    name: str,
    breakage: Breakage[ThreadedFaultProxy],
    *,
    for_s: float,
    duplicates_allowed: bool = True,
) -> tuple[Row, LoadReport]:
    """A trial with the broker link broken by `breakage` for `for_s` from 2 s into the load;
    checked for the ledger's promises, every delivery delivered, a new notifier served after."""
    trial = await chaos.trial(name, duplicates_allowed=duplicates_allowed)
    try:
        row = await trial.run(fault=broken_for(proxy, breakage, after_s=2, for_s=for_s))
        assert row.passed, row.problems
        assert row.delivered == row.expected
        assert row.dead_lettered == 0, "the receivers answered 2xx throughout"
        await trial.a_new_notifier_receives()
        assert trial.report is not None
        return row, trial.report
    finally:
        trial.close()


async def test_broker_link_slow(chaos: Chaos, broker_link: ThreadedFaultProxy) -> None:
    """200 ms ± 50 each way (a round trip of 300 to 500 ms) for 20 s: every hop, every
    acknowledgement and every commit is slower, nothing times out, so nothing is repeated."""
    await run_broken(
        chaos,
        broker_link,
        "broker link 200 ms each way",
        slow_link(200, jitter_ms=50),
        for_s=20,
        duplicates_allowed=False,
    )


async def test_broker_connections_reset(chaos: Chaos, broker_link: ThreadedFaultProxy) -> None:
    """Every connection to the broker reset, and each new one at once, for 10 s."""
    resets = broker_link.stats.reset
    await run_broken(chaos, broker_link, "broker connections reset", reset, for_s=10)
    assert broker_link.stats.reset > resets, "the clients met the resets"


async def test_broker_link_blackholed(chaos: Chaos, broker_link: ThreadedFaultProxy) -> None:
    """Nothing passes for 20 s, more than a consumer's session timeout (10 s): every group
    loses its members and rebalances once the link heals, and what was held is delivered late."""
    _, report = await run_broken(
        chaos, broker_link, "broker link blackholed 20 s", blackholed, for_s=20
    )
    assert report.unanswered > 0, "ingest never said 503 while the broker was unreachable"


async def test_broker_connections_refused(chaos: Chaos, broker_link: ThreadedFaultProxy) -> None:
    """Every open connection reset, then nothing listens for 15 s: each reconnection is
    refused, as if the broker were gone, while the broker itself runs on (its groups expire
    their members meanwhile)."""
    _, report = await run_broken(
        chaos, broker_link, "broker connections refused 15 s", cut_then_refused, for_s=15
    )
    assert report.unanswered > 0, "ingest never said 503 while the broker was unreachable"
