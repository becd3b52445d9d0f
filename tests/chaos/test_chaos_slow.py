"""Receivers slow for minutes: every answer takes 2 to 5 s, for 2.5 minutes under steady load.

The sender keeps a bounded number of deliveries in flight and fetches no further (its loop's
`max_pending`), so a backlog waits on Kafka, not in its memory: the sender-webhook process's
resident memory (VmRSS from /proc, sampled every 5 s) stays flat while the lag grows, the lag
drains once the receivers are fast again, and nothing is lost. The answers stay under the
sender's 10 s timeout, so every attempt is answered 200 once: no duplicates are allowed.

Memory bounds, generous on purpose (other processes share the machine, and the allocator keeps
what it once took): over the slow period the peak RSS stays within 96 MiB of the RSS when the
receivers turned slow, and the last third's peak within 48 MiB of the first third's (a leak or
an unbounded buffer grows with the backlog, thousands of deliveries here, linearly in time).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from herald_testing.ledger_receiver import OK, Behaviour

from chaos.harness import Chaos, Trial
from chaos.observe import rss_mib, sample_every

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SENDER = "sender-webhook"
SENDER_GROUP = "herald-sender-webhook"
SLOW = Behaviour(200, delay_s=(2.0, 5.0))
GROWTH_MIB, LATE_GROWTH_MIB = 96.0, 48.0


def growth(samples: list[tuple[float, Any]]) -> tuple[float, float, float]:
    """(peak - first sample, peak of the last third - peak of the first third, peak). Pure."""
    values = [value for _, value in samples if value is not None]
    third = max(1, len(values) // 3)
    peak = max(values)
    return peak - values[0], max(values[-third:]) - max(values[:third]), peak


async def test_receivers_slow_for_minutes_under_steady_load(chaos: Chaos) -> None:
    trial = await chaos.trial("receivers slow 2-5 s for minutes")
    slow_s = 150.0 if chaos.profile.full else 30.0
    memory: list[tuple[float, Any]] = []
    lags: list[tuple[float, Any]] = []
    pid = chaos.stack.process(SENDER).pid()
    assert pid is not None, "the sender is not running"

    async def rss() -> float | None:
        return rss_mib(pid)

    async def sender_lag() -> int | None:
        sampled = await watch.sample()
        return None if sampled is None else sampled.get(SENDER_GROUP)

    watch = chaos.lag_watch()

    async def slow_receivers(trial: Trial) -> None:
        chaos.receiver.behave(trial.prefix, SLOW)
        try:
            memory[:], lags[:] = await asyncio.gather(
                sample_every(5.0, slow_s, rss), sample_every(5.0, slow_s, sender_lag)
            )
        finally:
            chaos.receiver.behave(trial.prefix, OK)

    try:
        row = await trial.run(fault=slow_receivers, seconds=slow_s + 10)
        after = rss_mib(pid)
        assert row.passed, row.problems
        assert row.duplicates == 0
        assert chaos.stack.process(SENDER).pid() == pid, "the sender restarted"
        rise, late_rise, peak = growth(memory)
        known = [lag for _, lag in lags if lag is not None]
        print(
            f"\nsender RSS {memory[0][1]:.0f} MiB at the start of the slow period, peak "
            f"{peak:.0f}, {after:.0f} after the drain; last third vs first third "
            f"{late_rise:+.0f} MiB; sender lag {known[0]} -> max {max(known)} -> "
            f"{known[-1]} at the end of the slow period; {len(trial.ledger.arrivals)} arrivals"
        )
        assert max(known) > known[0] + 100, f"the lag did not grow: {known}"
        assert rise < GROWTH_MIB, f"sender RSS grew {rise:.0f} MiB: {memory}"
        assert late_rise < LATE_GROWTH_MIB, f"sender RSS still growing: {memory}"
        await trial.a_new_notifier_receives()
    finally:
        chaos.receiver.behave(trial.prefix, OK)
        trial.close()
