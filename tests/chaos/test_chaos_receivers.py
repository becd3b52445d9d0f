"""Receivers that fail for a while: 5xx, 429 with Retry-After (seconds, an HTTP date), 410 Gone.

Retries are scaled down (tiers of 1, 2, 4, 8 and 16 s: conftest.py). Nothing crashes in these
scenarios, so a delivery answered 2xx twice would be a duplicate, and none is allowed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict

import pytest
from herald_core import headers as h
from herald_core.headers import header
from herald_core.topics import Channel, deliveries_topic
from herald_testing.ledger import Arrival
from herald_testing.ledger_receiver import OK, Behaviour
from herald_testing.polling import eventually
from herald_testing.topics import records_now

from chaos.harness import Chaos, Trial

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def answering(behaviour: Behaviour, *, after_s: float, for_s: float, prefixes: list[str]):
    """A fault: `prefixes` answer `behaviour` from `after_s` into the load for `for_s`."""

    async def fault(trial: Trial) -> None:
        receiver = trial.chaos.receiver
        await asyncio.sleep(after_s)
        try:
            for prefix in prefixes:
                receiver.behave(prefix, behaviour)
            await asyncio.sleep(for_s)
        finally:
            for prefix in prefixes:
                receiver.behave(prefix, OK)

    return fault


@pytest.mark.chaos_short
async def test_receivers_answer_5xx_for_a_while_then_recover(chaos: Chaos) -> None:
    trial = await chaos.trial("receivers 5xx, then 200")
    try:
        for_s = 10.0 if chaos.profile.full else 4.0
        fault = answering(Behaviour(503), after_s=2, for_s=for_s, prefixes=[trial.prefix])
        row = await trial.run(fault=fault)
        assert row.passed, row.problems
        refused = [a for a in trial.ledger.arrivals if a.status == 503]
        assert refused, "no delivery met the 503s"
        assert row.dead_lettered == 0, "every delivery made it within the retry tiers"
        await trial.a_new_notifier_receives()
    finally:
        trial.close()


def retried_too_early(arrivals: list[Arrival], not_before: dict[int, float]) -> list[str]:
    """Attempts that followed a 429 sooner than its Retry-After allowed."""
    by_delivery: dict[str | None, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        by_delivery[arrival.webhook_id].append(arrival)
    early = []
    for attempts in by_delivery.values():
        attempts.sort(key=lambda a: a.at)
        for answered, following in itertools.pairwise(attempts):
            limit = not_before.get(id(answered))
            if limit is not None and following.at < limit:
                early.append(f"{answered.webhook_id}: {limit - following.at:.2f} s early")
    return early


async def test_receivers_answer_429_with_retry_after_then_200(chaos: Chaos) -> None:
    trial = await chaos.trial("receivers 429 + Retry-After")
    try:
        seconds, dated = trial.apps[: len(trial.apps) // 2], trial.apps[len(trial.apps) // 2 :]
        receiver = chaos.receiver

        async def fault(trial: Trial) -> None:
            await asyncio.sleep(2)
            try:
                for app in seconds:
                    receiver.behave(f"{trial.prefix}/{app}/", Behaviour(429, retry_after_s=3))
                for app in dated:
                    receiver.behave(
                        f"{trial.prefix}/{app}/",
                        Behaviour(429, retry_after_s=3, as_http_date=True),
                    )
                await asyncio.sleep(6)
            finally:
                for app in trial.apps:
                    receiver.behave(f"{trial.prefix}/{app}/", OK)

        row = await trial.run(fault=fault)
        assert row.passed, row.problems
        limited = [a for a in trial.ledger.arrivals if a.status == 429]
        assert {a.path.split("/")[2] for a in limited} >= set(trial.apps), "every app met 429s"
        # Retry-After, honoured: in seconds from the answer, or the HTTP date (whole seconds)
        not_before = {
            id(a): (int(a.at) + 3 if a.path.split("/")[2] in dated else a.at + 3) for a in limited
        }
        assert retried_too_early(trial.ledger.arrivals, not_before) == []
    finally:
        trial.close()


async def test_a_410_dead_letters_the_delivery_and_disables_the_notifier(chaos: Chaos) -> None:
    trial = await chaos.trial("receiver 410 Gone")
    try:
        gone_app = trial.apps[0]
        kept = trial.ledger.subscribers[f"{trial.prefix}/{gone_app}/deploys"]
        gone = await trial.add_notifier(gone_app, "gone", ("app_deployed",))
        await trial.probe_until_routed([gone])
        chaos.receiver.behave(gone.path, Behaviour(410))
        apps = trial.apps
        trial.apps = apps[1:]  # the load goes to the other apps; the gone app gets one event
        event_id = await trial.send_one(gone_app)
        row = await trial.run()
        assert row.passed, row.problems
        assert row.dead_lettered == 1
        [letter] = [dl for dl in trial.ledger.dead_letters if dl.notifier_id == gone.notifier_id]
        assert (letter.event_id, letter.reason) == (event_id, "gone")

        async def disabled() -> bool:
            status, body = await chaos.admin.call(
                "GET", f"/v1/apps/{gone_app}/notifiers/{gone.notifier_id}"
            )
            assert status == 200, body
            return body["notifier"]["active"] is False

        await eventually(disabled, timeout_s=30, what="the gone notifier disabled")
        # Disabled means no longer routed to: a probe reaches the app's other notifier, and the
        # router, which wrote that delivery, wrote none for the gone notifier beside it.
        earlier = set(trial.ledger.probes)
        trial.ledger.probes.clear()
        await trial.probe_until_routed([kept])
        later = set(trial.ledger.probes)
        trial.ledger.probes |= earlier
        routed = await records_now(
            chaos.stack.kafka.bootstrap_servers,
            deliveries_topic(Channel.WEBHOOK),
            lambda r: r.key == gone.notifier_id.encode() and header(r.headers, h.CE_ID) in later,
        )
        assert routed == []
        trial.apps = apps
    finally:
        chaos.receiver.behave(f"{trial.prefix}/{trial.apps[0]}/gone", OK)
        trial.close()
