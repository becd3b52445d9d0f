"""A sender whose clock is 10 minutes off (ahead, then behind), under load, while receivers
refuse for a while (429 with `Retry-After` as an HTTP date, 503).

The sender-webhook process alone runs under libfaketime (`LD_PRELOAD`, `FAKETIME=±10m`; its
monotonic clock is left alone); the broker, the router and the receiver keep the true time.
What Herald must guarantee then, and what this checks:

- Nothing is lost and nothing is phantom: the ledger's verdict, as in every scenario.
- No hot retry loop: no delivery is tried more often than the retry tiers allow (1 + 5).
- Retry due times stay reasonable: a retry is due after its tier's delay (1 … 16 s here) or the
  receiver's `Retry-After`, whichever is longer, measured on the sender's own clock and checked
  against it, so the offset cancels out; no refused attempt waits more than a minute for its
  next one (10 minutes would be the offset leaking in), and none comes before the receiver's
  `Retry-After` (its HTTP date is read against the response's `Date`, i.e. the receiver's own
  clock, not the sender's).
- `webhook-timestamp` is the sender's clock: every attempt is stamped 10 minutes off, and a
  Standard Webhooks receiver refuses those (more than 5 minutes). That is the receiver's
  verdict on a sender whose clock is wrong, not a delivery Herald lost: the receiver counts
  them (`skewed`, each checked to be the offset) and accepts their HMAC for the ledger.

A second scenario corrects the clock while retries wait on the tiers: a sender 10 minutes
ahead writes them (due 10 minutes ahead of the true time), and is replaced mid-refusal by one
with the true clock, as after an NTP step or by another replica. The retry consumer bounds a
retry's wait by the delay its writer meant (`x-due-at` minus the record's time, both the
writer's clock), counted from when it first met the record or from the record before it
(`herald_kafka.delayed`), so no attempt waits more than a minute for the next one there
either. (The other way round, a writer behind, its retries come due early by the difference:
sooner, never lost.)
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from herald_testing.ledger_receiver import OK, Behaviour

from chaos.harness import Chaos, Trial, restart_service
from chaos.observe import attempts_by_delivery

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FAKETIME_LIBRARIES = (
    os.environ.get("HERALD_FAKETIME_LIB", ""),
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
)
SENDER = "sender-webhook"
TIERS_S = (1, 2, 4, 8, 16)  # tests/chaos/conftest.py
RETRY_AFTER_S = 3
LONGEST_WAIT_S = 60.0


def faketime_library() -> str | None:
    return next((path for path in FAKETIME_LIBRARIES if path and Path(path).is_file()), None)


def faked(library: str, offset: str) -> dict[str, str]:
    return {
        "LD_PRELOAD": library,
        "FAKETIME": offset,
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def refusing(*, after_s: float, for_s: float):
    """Half the apps answer 429 + `Retry-After` (an HTTP date), the other half 503."""

    async def fault(trial: Trial) -> None:
        receiver = trial.chaos.receiver
        half = len(trial.apps) // 2
        await asyncio.sleep(after_s)
        try:
            for app in trial.apps[:half]:
                limited = Behaviour(429, retry_after_s=RETRY_AFTER_S, as_http_date=True)
                receiver.behave(f"{trial.prefix}/{app}/", limited)
            for app in trial.apps[half:]:
                receiver.behave(f"{trial.prefix}/{app}/", Behaviour(503))
            await asyncio.sleep(for_s)
        finally:
            for app in trial.apps:
                receiver.behave(f"{trial.prefix}/{app}/", OK)

    return fault


def retry_gaps(trial: Trial) -> tuple[list[str], list[str], int]:
    """(waits too long, retries before Retry-After, the most attempts of one delivery)."""
    ours = [a for a in trial.ledger.arrivals if trial.ledger.owns(a.path)]
    long_waits, early, most = [], [], 0
    for webhook_id, attempts in attempts_by_delivery(ours).items():
        most = max(most, len(attempts))
        for refused, following in itertools.pairwise(attempts):
            gap = following.at - refused.at
            if gap > LONGEST_WAIT_S:
                long_waits.append(f"{webhook_id}: {gap:.0f} s after a {refused.status}")
            if refused.status == 429 and following.at < int(refused.at) + RETRY_AFTER_S:
                early.append(f"{webhook_id}: {following.at - refused.at:.2f} s after a 429")
    return long_waits, early, most


@pytest.fixture
async def faketime(chaos: Chaos) -> AsyncIterator[str]:
    """The libfaketime library (the test restarts the sender under it), with the receiver
    accepting skewed timestamps meanwhile; afterwards, the sender with the true clock again."""
    library = faketime_library()
    if library is None:
        pytest.skip("libfaketime is not installed (Debian: apt-get install faketime)")
    chaos.receiver.accept_skew = True
    try:
        yield library
    finally:
        chaos.receiver.accept_skew = False
        await restart_service(chaos.stack, SENDER)


@pytest.mark.parametrize(("offset", "offset_s"), [("+10m", 600.0), ("-10m", -600.0)])
async def test_a_sender_clock_ten_minutes_off(
    chaos: Chaos, faketime: str, offset: str, offset_s: float
) -> None:
    receiver = chaos.receiver
    skewed_before = len(receiver.skewed)
    trial: Trial | None = None
    try:
        await restart_service(chaos.stack, SENDER, env=faked(faketime, offset))
        trial = await chaos.trial(f"sender clock {offset}")
        for_s = 8.0
        row = await trial.run(fault=refusing(after_s=2, for_s=for_s))
        assert row.passed, row.problems
        long_waits, early, most = retry_gaps(trial)
        assert long_waits == [], f"retries waited too long: {long_waits[:5]}"
        assert early == [], f"retries before Retry-After: {early[:5]}"
        assert most <= 1 + len(TIERS_S), f"a delivery was tried {most} times"
        assert any(a.status == 429 for a in trial.ledger.arrivals), "no 429 met"
        ours = [a for a in trial.ledger.arrivals if trial.ledger.owns(a.path)]
        skews = [s.skew_s for s in receiver.skewed[skewed_before:] if trial.ledger.owns(s.path)]
        assert len(skews) == len(ours), "every attempt is stamped with the sender's clock"
        assert all(abs(skew - offset_s) < 60 for skew in skews), skews[:5]
        print(f"\n{offset}: {len(ours)} attempts, all stamped {offset} off; most tries {most}")
        await trial.a_new_notifier_receives()
    finally:
        if trial is not None:
            trial.close()


async def test_retries_written_by_a_fast_clock_are_not_held_by_a_true_one(
    chaos: Chaos, faketime: str
) -> None:
    receiver = chaos.receiver
    trial: Trial | None = None

    async def refusing_then_corrected(trial: Trial) -> None:
        await asyncio.sleep(2)
        receiver.behave(trial.prefix, Behaviour(503))
        try:
            await asyncio.sleep(5)  # retries now wait on the tiers, due by the fast clock
            await restart_service(chaos.stack, SENDER)
            await asyncio.sleep(3)
        finally:
            receiver.behave(trial.prefix, OK)

    try:
        await restart_service(chaos.stack, SENDER, env=faked(faketime, "+10m"))
        trial = await chaos.trial("sender clock +10m, corrected")
        row = await trial.run(fault=refusing_then_corrected)
        assert row.passed, row.problems
        long_waits, _, most = retry_gaps(trial)
        assert long_waits == [], f"retries waited too long: {long_waits[:5]}"
        assert most <= 1 + len(TIERS_S), f"a delivery was tried {most} times"
        await trial.a_new_notifier_receives()
    finally:
        if trial is not None:
            trial.close()
