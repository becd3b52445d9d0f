"""The SMTP server down for two minutes, then up: every mail arrives. Full run only.

The trial's notifiers are e-mail notifiers (platform `email`, made through the API), each
mailing an address of its own. The stack's e-mail sender (full run, conftest.py) mails the
port of `ledger_smtp_port`, where a `FaultProxy` forwards to the ledger's SMTP receiver
(`herald_testing.ledger_smtp`). The outage: every open session reset, then connections
refused, for 120 s; then healed. The sender's retry tiers (5, 10, 20, 40, 80 s: 155 s in all)
outlast it, so every expected mail must arrive, none dead-lettered, the retry path used.
Duplicates are allowed and counted: a message the server took as the session was reset may
be sent again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from herald_core.topics import Channel, retry_topic
from herald_core.topics import retry_tiers as topic_retry_tiers
from herald_testing.fault_proxy import FaultProxy
from herald_testing.ledger import Arrival, Ledger, Subscriber
from herald_testing.ledger_smtp import DeliveryIndex, LedgerSmtp
from herald_testing.topics import records_now

from chaos.harness import Chaos, Fault, Trial

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

DOMAIN = "chaos.example"
OUTAGE_S = 120.0


@dataclass
class MailTrial(Trial):
    """A trial whose notifiers mail addresses of their own, received by `smtp`."""

    smtp: LedgerSmtp = field(default_factory=LedgerSmtp)
    index: DeliveryIndex | None = None
    channels: tuple[Channel, ...] = (Channel.EMAIL,)

    async def setup(self, apps: int) -> None:
        self.index = DeliveryIndex(self.ledger)
        self.smtp.attach(self.ledger, self.index)
        await super().setup(apps)

    async def add_notifier(
        self, app_id: str, kind: str, selects: Sequence[str], *, judged: bool = True
    ) -> Subscriber:
        """An e-mail notifier of `app_id` mailing an address of its own, made through the API."""
        address = f"{kind}.{uuid.uuid4().hex[:16]}@{DOMAIN}"
        status, created = await self.chaos.admin.call(
            "POST",
            f"/v1/apps/{app_id}/notifiers",
            {
                "notifier": {
                    "name": f"chaos mail {kind}",
                    "platform_id": "email",
                    "selected_event_ids": list(selects),
                    "type_data": {"emails": [address]},
                }
            },
        )
        assert status == 201, created
        subscriber = Subscriber(created["notifier"]["id"], app_id, address, frozenset(selects))
        if judged:
            self.ledger.subscribe(subscriber)
        elif self.index is not None:
            self.index.extra.add(subscriber.notifier_id)
        return subscriber

    def unclaimed(self) -> list[Arrival]:
        return self.smtp.unclaimed

    def close(self) -> None:
        self.smtp.detach(self.ledger)
        super().close()


@pytest.fixture
async def smtp_behind_proxy(ledger_smtp_port: int) -> AsyncIterator[tuple[LedgerSmtp, FaultProxy]]:
    """The ledger's SMTP receiver, and the proxy in front of it where the e-mail sender mails."""
    smtp = await LedgerSmtp().start()
    try:
        async with FaultProxy("127.0.0.1", smtp.port, listen_port=ledger_smtp_port) as proxy:
            yield smtp, proxy
    finally:
        await smtp.stop()


def smtp_down(proxy: FaultProxy, *, after_s: float, down_s: float) -> Fault:
    """From `after_s` into the load: every open session reset, then connections refused, for
    `down_s`; then healed."""

    async def fault(trial: Trial) -> None:
        await asyncio.sleep(after_s)
        try:
            await proxy.reset()
            await proxy.refuse()
            await asyncio.sleep(down_s)
        finally:
            await proxy.heal()

    return fault


async def retried(chaos: Chaos, notifier_ids: set[str]) -> int:
    """How many records of these notifiers went to the e-mail channel's first retry tier."""
    keys = {notifier_id.encode() for notifier_id in notifier_ids}
    topic = retry_topic(Channel.EMAIL, topic_retry_tiers()[0])
    found = await records_now(chaos.stack.kafka.bootstrap_servers, topic, lambda r: r.key in keys)
    return len(found)


async def test_the_smtp_server_down_for_two_minutes_then_up(
    chaos: Chaos, smtp_behind_proxy: tuple[LedgerSmtp, FaultProxy]
) -> None:
    smtp, proxy = smtp_behind_proxy
    trial = MailTrial(chaos, Ledger("smtp server down 2 min", duplicates_allowed=True), smtp=smtp)
    try:
        await trial.setup(chaos.profile.apps)
        row = await trial.run(fault=smtp_down(proxy, after_s=2, down_s=OUTAGE_S))
        assert row.passed, row.problems
        assert row.delivered == row.expected, "every expected mail arrived"
        assert row.dead_lettered == 0
        notifiers = {sub.notifier_id for sub in trial.ledger.subscribers.values()}
        assert await retried(chaos, notifiers) > 0, "the retry path was used"
        healed_at = trial.ledger.fault_end
        assert healed_at is not None
        assert any(a.at > healed_at for a in trial.ledger.arrivals), "mails after the outage"
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
