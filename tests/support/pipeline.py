"""Herald's own services in-process (ingest, router, webhook sender) on the session broker.

Registered as a pytest plugin from tests/conftest.py; tests import `Herald` and `MailSink` from
`support.pipeline` for their annotations.

The `herald` fixture starts them once per test session; tests keep apart by unique ids.
Every test router joins the default `herald-router` group, so routers never duplicate each
other's work.

E-mail, end to end: the `herald_mail` fixture adds the e-mail sender (group
`herald-sender-email`) and a local SMTP sink (`MailSink`, aiosmtpd on a free port, one file per
message) to the session's `herald`, and returns the sink; `herald.email` and `herald.mail` are
set from then on. It starts only when a test asks for it: a second e-mail sender in the same
session (tests/integration/test_email_channel.py runs its own, with its own sink) reads the same
`notify.deliveries.email` records in its own group, so each delivery is then sent twice, once to
each sink, and has two results. Tests that use both should share `herald_mail` instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import CONFIG_NOTIFIERS, Channel
from herald_devstack.processes import free_port
from herald_devstack.smtp_sink import MaildirHandler, read_messages
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestAuthSettings, IngestSettings
from herald_kafka.producer import OutgoingRecord, send_all
from herald_router.app import RouterService
from herald_router.settings import RouterSettings
from herald_sender.app import SenderService
from herald_sender.settings import SenderSettings, SmtpSettings
from herald_testing.polling import eventually

LOCAL = HttpSettings(host="127.0.0.1", port=0)
QUIET = LogSettings(json=False, level="warning")
REFUSED_DOMAIN = "refused.example"
"""Recipients at this domain get a permanent 550 from `MailSink` (a bounced address)."""


class _Sink(MaildirHandler):
    """The dev sink, but recipients at REFUSED_DOMAIN get a permanent 550."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class MailSink:
    """A local SMTP server (aiosmtpd) on `port` writing every message to `directory`."""

    directory: Path
    port: int

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """The messages received so far, oldest first; only those to `to` when given."""
        found = read_messages(self.directory)
        if to is None:
            return found
        return [m for m in found if to.lower() in str(m.get("To", "")).lower()]

    async def wait_for(
        self, count: int = 1, *, to: str | None = None, timeout_s: float = 20.0
    ) -> list[EmailMessage]:
        """Wait until `count` messages (to `to`, when given) arrived; return them."""
        await eventually(
            lambda: len(self.messages(to)) >= count,
            timeout_s=timeout_s,
            what=f"{count} message(s){f' to {to}' if to else ''} at the mail sink",
        )
        return self.messages(to)


@dataclass
class Herald:
    ingest: IngestService
    router: RouterService
    sender: SenderService
    settings: KafkaSettings
    producer: Any
    email: SenderService | None = None
    """The e-mail sender, once a test asked for `herald_mail`."""
    mail: MailSink | None = None
    """Where the e-mail sender delivers, once a test asked for `herald_mail`."""

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.ingest.port}/v1/events"

    async def add_notifier(self, notifier: Notifier) -> None:
        await send_all(
            self.producer,
            [
                OutgoingRecord(
                    CONFIG_NOTIFIERS, notifier.model_dump_json().encode(), notifier.id.encode()
                )
            ],
        )
        await eventually(
            lambda: self.router.notifiers.get(notifier.id) == notifier,
            what=f"router sees notifier {notifier.id}",
        )

    async def remove_notifier(self, notifier_id: str) -> None:
        await send_all(
            self.producer, [OutgoingRecord(CONFIG_NOTIFIERS, None, notifier_id.encode())]
        )
        await eventually(
            lambda: notifier_id not in self.router.notifiers,
            what=f"router forgets notifier {notifier_id}",
        )


@pytest.fixture(scope="session")
async def herald(kafka_settings: KafkaSettings, producer: Any) -> AsyncIterator[Herald]:
    # Opened explicitly (development only): the tests post from many sessions of their own;
    # ingest's authentication has tests of its own (tests/integration/test_ingest_auth.py).
    ingest = IngestService(
        IngestSettings(
            kafka=kafka_settings, http=LOCAL, log=QUIET, auth=IngestAuthSettings(open=True)
        )
    )
    router = RouterService(RouterSettings(kafka=kafka_settings, http=LOCAL, log=QUIET))
    sender = SenderService(
        SenderSettings(
            kafka=kafka_settings,
            http=LOCAL,
            log=QUIET,
            channel=Channel.WEBHOOK,
            allow_loopback_targets=True,
            request_timeout_s=3,
            # Every test receiver is on 127.0.0.1, one host: no rate between tests.
            endpoint_rate_per_s=0,
            endpoint_concurrency=64,
            host_rate_per_s=0,
            host_concurrency=64,
        )
    )
    async with ingest, router, sender:
        await eventually(
            lambda: ingest.ready()[0] and router.ready()[0] and sender.ready()[0],
            timeout_s=60,
            what="services ready",
        )
        yield Herald(ingest, router, sender, kafka_settings, producer)


@pytest.fixture(scope="session")
def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailSink]:
    """A local SMTP sink for the session (refuses REFUSED_DOMAIN with 550)."""
    directory = tmp_path_factory.mktemp("herald-mail")
    port = free_port()  # aiosmtpd's Controller(port=0) fails its own self-check
    controller = Controller(_Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailSink(directory, port)
    finally:
        controller.stop()


@pytest.fixture(scope="session")
async def herald_mail(
    herald: Herald, mail_sink: MailSink, kafka_settings: KafkaSettings
) -> AsyncIterator[MailSink]:
    """The e-mail sender on the session's `herald`, delivering to `mail_sink`; returns the sink."""
    email = SenderService(
        SenderSettings(
            kafka=kafka_settings,
            http=LOCAL,
            log=QUIET,
            channel=Channel.EMAIL,
            smtp=SmtpSettings(port=mail_sink.port, timeout_s=5),
        )
    )
    async with email:
        await eventually(lambda: email.ready()[0], timeout_s=60, what="e-mail sender ready")
        herald.email, herald.mail = email, mail_sink
        try:
            yield mail_sink
        finally:
            herald.email, herald.mail = None, None
