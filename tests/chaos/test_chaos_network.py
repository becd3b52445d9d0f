"""Receivers behind a faulty network: the trial's notifiers post through a `FaultProxy` in front
of the ledger's receiver, and the link fails for a while, then heals. Full run only.

The webhook sender gives up on a request after 5 s in a full run (conftest.py), retries in
tiers of 1, 2, 4, 8 and 16 s. Each fault lasts less than those tiers allow, so every delivery
must arrive, none dead-lettered. Duplicates are allowed and counted: a request held past the
sender's timeout may still reach the receiver (a blackhole delivers what it held when it
heals; a slow link delivers everything late), and the sender, which saw a timeout, sends it
again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from herald_testing.fault_proxy import Fault as LinkFault
from herald_testing.fault_proxy import FaultProxy
from herald_testing.ledger import Row

from chaos.harness import Chaos
from chaos.links import Breakage, blackholed, broken_for, cut_then_refused, reset, slow_link

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SENDER_TIMEOUT_S = 5.0  # conftest.FULL_WEBHOOK_ENV


@pytest.fixture
async def receiver_proxy(chaos: Chaos) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the ledger's receiver, healthy to begin with."""
    async with FaultProxy("127.0.0.1", chaos.receiver.port) as proxy:
        yield proxy


def lossy(probability: float) -> Breakage[FaultProxy]:
    """New connections closed right after accept with `probability`; the open ones are reset
    first, so that the sender's pooled keep-alive connections must be made again."""

    async def breakage(proxy: FaultProxy) -> None:
        await proxy.reset()
        await proxy.set(LinkFault(drop_probability=probability))

    return breakage


async def run_through(
    chaos: Chaos, proxy: FaultProxy, name: str, breakage: Breakage[FaultProxy], *, for_s: float
) -> Row:
    """A trial whose notifiers post through `proxy`, run with `breakage` for `for_s`; checked
    for the ledger's promises, every delivery delivered, and a new notifier served after."""
    trial = await chaos.trial(
        name, duplicates_allowed=True, url_base=f"http://127.0.0.1:{proxy.port}"
    )
    try:
        row = await trial.run(fault=broken_for(proxy, breakage, after_s=2, for_s=for_s))
        assert row.passed, row.problems
        assert row.dead_lettered == 0, "every delivery made it within the retry tiers"
        await trial.a_new_notifier_receives()
        return row
    finally:
        trial.close()


async def test_receivers_time_out_for_a_while_then_recover(
    chaos: Chaos, receiver_proxy: FaultProxy
) -> None:
    """A blackhole (nothing answered, the sender times out), then a link slower than the
    sender's timeout (every request arrives, too late)."""
    row = await run_through(chaos, receiver_proxy, "receivers blackholed", blackholed, for_s=15)
    assert row.delivered == row.expected
    row = await run_through(
        chaos,
        receiver_proxy,
        "receivers slower than the timeout",
        slow_link(SENDER_TIMEOUT_S * 1000 * 1.6),
        for_s=12,
    )
    assert row.delivered == row.expected
    assert row.duplicates > 0, "a request held past the timeout arrived and was sent again"


async def test_connections_reset_for_a_while_then_recover(
    chaos: Chaos, receiver_proxy: FaultProxy
) -> None:
    row = await run_through(chaos, receiver_proxy, "receiver connections reset", reset, for_s=12)
    assert row.delivered == row.expected
    assert receiver_proxy.stats.reset > 0, "the sender met the resets"


async def test_connections_dropped_at_connect_for_a_while_then_recover(
    chaos: Chaos, receiver_proxy: FaultProxy
) -> None:
    row = await run_through(
        chaos, receiver_proxy, "receiver link drops 50 % of connects", lossy(0.5), for_s=12
    )
    assert row.delivered == row.expected
    assert receiver_proxy.stats.dropped > 0, "the sender met the drops"


async def test_a_narrow_link_for_a_while_then_recover(
    chaos: Chaos, receiver_proxy: FaultProxy
) -> None:
    """About one request a second per connection: the backlog grows, then drains after heal."""
    row = await run_through(
        chaos,
        receiver_proxy,
        "receiver link at 2 KB/s per connection",
        lambda proxy: proxy.bandwidth(2000),
        for_s=12,
    )
    assert row.delivered == row.expected


async def test_the_receivers_host_down_for_a_while_then_back(
    chaos: Chaos, receiver_proxy: FaultProxy
) -> None:
    row = await run_through(
        chaos, receiver_proxy, "receiver host down (refused)", cut_then_refused, for_s=12
    )
    assert row.delivered == row.expected
