"""The ledger's SMTP receiver on a real socket: mails sent with aiosmtplib, as the e-mail
sender sends them, become arrivals in the books that own their addresses, with the event of
their delivery id found; other addresses are unclaimed; a copy without its identity fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiosmtplib
import pytest
from herald_core.deliveries import delivery_id
from herald_testing.ledger import Ledger, Sent, Subscriber
from herald_testing.ledger_smtp import DeliveryIndex, LedgerSmtp

pytestmark = pytest.mark.integration

OURS = "deploys.abc@chaos.example"


@pytest.fixture
async def smtp() -> AsyncIterator[LedgerSmtp]:
    server = await LedgerSmtp().start()
    yield server
    await server.stop()


def message(ident: str, *, message_id: str | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Herald <notifications@herald.local>"
    mail["Subject"] = "deployed"
    mail["Message-ID"] = message_id or f"<{ident}@herald>"
    mail["X-Herald-Delivery-Id"] = ident
    mail.set_content("deployed")
    return mail


async def send(smtp: LedgerSmtp, mail: EmailMessage, *recipients: str) -> None:
    await aiosmtplib.send(
        mail, hostname="127.0.0.1", port=smtp.port, sender="n@herald.local", recipients=recipients
    )


async def test_mails_become_arrivals_of_their_event(smtp: LedgerSmtp) -> None:
    ledger = Ledger("smtp")
    ledger.subscribe(Subscriber("n-1", "app", OURS, frozenset({"app_deployed"})))
    smtp.attach(ledger, DeliveryIndex(ledger))
    ledger.accepted(Sent("ev-1", "app", frozenset({"app_deployed"}), 0.0))
    ident = delivery_id("ev-1", "n-1")

    await send(smtp, message(ident), OURS.upper(), "someone@else.example")
    await send(smtp, message(ident, message_id="<other@herald>"), OURS)

    first, second = ledger.arrivals
    assert (first.path, first.event_id, first.webhook_id) == (OURS, "ev-1", ident)
    assert first.ok
    assert first.signature_valid
    assert not second.signature_valid, "a copy whose Message-ID is not its delivery's"
    [other] = smtp.unclaimed
    assert (other.path, other.event_id) == ("someone@else.example", "ev-1")
    row = ledger.verdict()
    assert (row.expected, row.delivered, row.duplicates) == (1, 1, 1)

    smtp.detach(ledger)
    await send(smtp, message(ident), OURS)
    assert len(ledger.arrivals) == 2
