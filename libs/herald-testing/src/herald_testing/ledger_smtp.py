"""The ledger's SMTP receiver: a real SMTP server (aiosmtpd) on 127.0.0.1, in the test's event
loop, that records every mail delivered as arrivals in the same books as the webhook receiver
(`herald_testing.ledger_receiver`): one `Arrival` per recipient of each message.

    smtp = await LedgerSmtp().start()          # smtp.port; start(port) for a given one
    smtp.attach(ledger, DeliveryIndex(ledger))
    ...
    smtp.detach(ledger); await smtp.stop()

The e-mail sender writes the delivery's id on every copy (`X-Herald-Delivery-Id: <id>` and
`Message-ID: <id@herald>`, the same on every attempt) but not the event's. An arrival is:

    path             the recipient address, lower-cased: each e-mail notifier under test
                     mails an address of its own, its `Subscriber.path`
    webhook_id       the delivery id of `X-Herald-Delivery-Id` (the ledger checks that it is
                     the id of the delivery it stands for)
    event_id         the event that delivery id is of, found by the books' `DeliveryIndex`
                     among the ledger's accepted events and probes (waiting up to
                     `BOOKING_WAIT_S` for it); None when none is (a phantom)
    status           250, what the server answered (the ledger counts it as a 2xx)
    signature_valid  the identity headers agree (`Message-ID` is `<X-Herald-Delivery-Id@herald>`):
                     a mail has no signature, and a copy that lost its identity fails as an
                     unsigned webhook would
    at               when the message was received (wall clock, as Kafka's record times are)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.smtp import SMTP
from herald_core.headers import HERALD_DELIVERY_ID

from herald_testing.ledger import Arrival, Ledger
from herald_testing.ledger_receiver import Books

ACCEPTED = 250
BOOKING_WAIT_S = 1.0
"""How long a mail whose event no books know yet waits for it: a mail may beat the 202 of
its event back to the load generator, which books the event then."""
EventOf = Callable[[str], "str | None"]
"""A delivery id → the id of its event (None: no event the books know of)."""


@dataclass
class DeliveryIndex:
    """Delivery ids → event ids over a ledger's accepted events and probes, for each of its
    subscribers and of the `extra` notifiers (not judged, but probed). Catches up on a miss."""

    ledger: Ledger
    extra: set[str] = field(default_factory=set)
    _events: dict[str, str] = field(default_factory=dict)
    _seen_events: set[str] = field(default_factory=set)
    _seen_notifiers: set[str] = field(default_factory=set)

    def __call__(self, delivery_id: str) -> str | None:
        if delivery_id not in self._events:
            self._catch_up()
        return self._events.get(delivery_id)

    def _catch_up(self) -> None:
        events = set(self.ledger.sent) | self.ledger.probes
        notifiers = {sub.notifier_id for sub in self.ledger.subscribers.values()} | self.extra
        new_events, new_notifiers = events - self._seen_events, notifiers - self._seen_notifiers
        pairs = [(e, n) for e in new_events for n in notifiers]
        pairs += [(e, n) for e in self._seen_events for n in new_notifiers]
        for event_id, notifier_id in pairs:
            self._events[self.ledger.delivery_id(event_id, notifier_id)] = event_id
        self._seen_events |= new_events
        self._seen_notifiers |= new_notifiers


def arrivals_of(
    headers: Message, recipients: Sequence[str], event_of: EventOf, at: float
) -> list[Arrival]:
    """One arrival per recipient of a message with `headers`. Pure but for `event_of`."""
    delivery_id = headers.get(HERALD_DELIVERY_ID)
    event_id = event_of(delivery_id) if delivery_id else None
    identified = delivery_id is not None and headers.get("Message-ID") == f"<{delivery_id}@herald>"
    return [
        Arrival(
            path=recipient.strip().lower(),
            webhook_id=delivery_id,
            event_id=event_id,
            status=ACCEPTED,
            signature_valid=identified,
            at=at,
        )
        for recipient in recipients
    ]


@dataclass
class LedgerSmtp:
    """Accepts every message, hands its arrivals to the books that own their addresses."""

    books: list[tuple[Books, EventOf]] = field(default_factory=list)
    unclaimed: list[Arrival] = field(default_factory=list)
    """Arrivals at addresses no books own (their event found by any books' index)."""
    port: int = 0
    _server: Any = None
    _sessions: set[SMTP] = field(default_factory=set)

    def attach(self, books: Books, event_of: EventOf) -> None:
        self.books.append((books, event_of))

    def detach(self, books: Books) -> None:
        self.books = [(b, e) for b, e in self.books if b is not books]

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:  # noqa: N802
        """aiosmtpd's hook: a whole message was received."""
        headers = BytesHeaderParser().parsebytes(envelope.original_content or b"")
        await self._until_booked(headers.get(HERALD_DELIVERY_ID))
        for recipient in envelope.rcpt_tos:
            self._record(headers, recipient)
        return f"{ACCEPTED} OK"

    def _record(self, headers: Message, recipient: str) -> None:
        at = time.time()
        owners = [(b, e) for b, e in self.books if b.owns(recipient.strip().lower())]
        for books, event_of in owners:
            for arrival in arrivals_of(headers, [recipient], event_of, at):
                books.arrived(arrival)
        if not owners:
            self.unclaimed += arrivals_of(headers, [recipient], self._any_event_of, at)

    async def _until_booked(self, delivery_id: str | None) -> None:
        deadline = time.monotonic() + BOOKING_WAIT_S
        while delivery_id and self._any_event_of(delivery_id) is None:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    def _any_event_of(self, delivery_id: str) -> str | None:
        found = (event_of(delivery_id) for _, event_of in self.books)
        return next((event_id for event_id in found if event_id is not None), None)

    async def start(self, port: int = 0) -> LedgerSmtp:
        """Listen on 127.0.0.1:`port` (0: a free one, then `.port`)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _session(self) -> SMTP:
        return _TrackedSmtp(self, self._sessions)

    async def stop(self) -> None:
        """Stop listening and close every session."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        self._sessions.clear()


class _TrackedSmtp(SMTP):
    """aiosmtpd's session, kept in `sessions` while connected (for `LedgerSmtp.stop`)."""

    def __init__(self, handler: LedgerSmtp, sessions: set[SMTP]) -> None:
        super().__init__(handler, hostname="ledger-smtp", ident="herald ledger")
        self.sessions = sessions

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.sessions.discard(self)
        super().connection_lost(error)
