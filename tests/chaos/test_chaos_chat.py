"""Chat notifiers under faults: the receiver answering 503 for a while and, meanwhile, the chat
sender (one process for every chat channel) SIGKILLed and restarted. Full run only.

The trial's apps have chat notifiers of six platforms (Slack by incoming webhook, Mattermost,
Rocket.Chat, Discord, Teams, Google Chat; `chaos.chat_trial`), posting to the ledger's
receiver, which names each post by its `X-Herald-Delivery-Id` and `X-Herald-Event-Id`. While
the load runs, the receiver answers 503 to every post for 8 s; from 4 s in, inside that
window, the chat sender is killed (SIGKILL) and started again, twice (the second kill once it
is ready again). The retry tiers (1, 2, 4, 8, 16 s: conftest.py) outlast the 503s, so nothing may
be lost nor dead-lettered; a sender killed between the receiver's answer and its commit sends
that post again, so duplicates are allowed and counted. The verdict reads the six channels'
consumer groups and DLQs.

The kills fall inside the 503s on purpose: a sender killed after a failed attempt's result but
before its retry record reads the delivery again with the same attempt number, and the history
must end `delivered` when that repeat succeeds (the recorder lets a repeat that settles a
scheduled retry replace it; promise 4). Before that rule, 2 to 6 of 1250 deliveries ended
`retry_scheduled` here.
"""

from __future__ import annotations

import asyncio

import pytest
from herald_testing.ledger import Ledger
from herald_testing.ledger_receiver import OK, Behaviour

from chaos.chat_trial import CHAT_PLATFORMS, CHAT_SERVICES, ChatTrial, platform_of
from chaos.harness import Chaos, Fault, Trial, in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

APPS = 2 * len(CHAT_PLATFORMS)
"""Two apps per platform (each app's two notifiers are of one platform)."""


def answering_503(*, after_s: float, for_s: float) -> Fault:
    """The trial's paths answer 503 from `after_s` into the load for `for_s`."""

    async def fault(trial: Trial) -> None:
        await asyncio.sleep(after_s)
        try:
            trial.chaos.receiver.behave(trial.prefix, Behaviour(503))
            await asyncio.sleep(for_s)
        finally:
            trial.chaos.receiver.behave(trial.prefix, OK)

    return fault


def each_killed(services: tuple[str, ...], *, after_s: float, rounds: int, every_s: float) -> Fault:
    """From `after_s` into the load, `rounds` times over, SIGKILL each of `services` in turn,
    one kill every `every_s`, each started again at once (the next kill does not wait for it to
    be ready, a kill of the same service does); over when every one is ready again."""

    async def fault(trial: Trial) -> None:
        stack = trial.chaos.stack
        await asyncio.sleep(after_s)
        for _ in range(rounds):
            for service in services:
                await in_thread(lambda name=service: stack.wait_service_ready(name))
                assert await in_thread(stack.process(service).kill), f"{service} was not running"
                await in_thread(lambda name=service: stack.launch_service(name))
                await asyncio.sleep(every_s)
        for service in services:
            await in_thread(lambda name=service: stack.wait_service_ready(name))

    return fault


def together(*faults: Fault) -> Fault:
    """The faults side by side; over when the last one is."""

    async def fault(trial: Trial) -> None:
        await asyncio.gather(*(each(trial) for each in faults))

    return fault


def delivered_platforms(trial: Trial) -> set[str]:
    """The platforms at least one of whose notifiers was answered 2xx."""
    subscribers = trial.ledger.subscribers
    return {
        platform_of(trial.apps, subscribers[arrival.path].app_id)
        for arrival in trial.ledger.arrivals
        if arrival.ok and arrival.path in subscribers
    }


async def test_chat_receivers_503_while_chat_senders_are_killed(chaos: Chaos) -> None:
    ledger = Ledger("chat: 503s with senders SIGKILL x2", duplicates_allowed=True)
    trial = ChatTrial(chaos, ledger)
    try:
        await trial.setup(APPS)
        fault = together(
            answering_503(after_s=2, for_s=8),
            each_killed(CHAT_SERVICES, after_s=4, rounds=2, every_s=0.75),
        )
        row = await trial.run(fault=fault)
        assert row.passed, row.problems
        assert (row.lost, row.phantom) == (0, 0)
        assert row.dead_lettered == 0, "every post made it within the retry tiers"
        assert any(a.status == 503 for a in ledger.arrivals), "no post met the 503s"
        assert delivered_platforms(trial) == {platform for platform, _ in CHAT_PLATFORMS}
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
