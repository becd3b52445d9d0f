"""The e-mail channel on the real broker, a real SMTP server (aiosmtpd) and the real API.

Isolation: no session sender consumes `notify.deliveries.email`, so this module runs its own
`SenderService` for Channel.EMAIL with its own consumer groups, against an in-process sink on
a free port that refuses recipients at `refused.example` with 550 and answers 451 to the first
RCPT of each address at `flaky.example`. Deliveries are produced
directly, built from notifiers created through the API. The one-click unsubscribe goes through
the API too, and the notifier in Postgres and the router's own rules (`/v1/events/simulate`)
show the address is no longer mailed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from herald_api.store import notifier_store
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.directory import Directory
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier
from herald_core.recipients import resolve_recipients
from herald_core.settings import KafkaSettings
from herald_core.topics import (
    DELIVERY_RESULTS,
    Channel,
    delivery_dlq_topic,
    retry_topic,
)
from herald_core.unsubscribe import unsubscribe_claim
from herald_devstack.processes import free_port
from herald_devstack.smtp_sink import MaildirHandler, read_messages
from herald_sender.app import SenderService
from herald_sender.settings import SmtpSettings
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.topics import find_record, headers_of, records_for_key

from support.helpers import deployed, produce_deliveries, running_sender, sender_settings

pytestmark = pytest.mark.integration

REFUSED_DOMAIN = "refused.example"
FLAKY_DOMAIN = "flaky.example"


class RefusingSink(MaildirHandler):
    """The dev sink, but recipients at REFUSED_DOMAIN get a permanent 550, and the first RCPT
    of each address at FLAKY_DOMAIN a temporary 451."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.deferred: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such user here"
        if address.lower().endswith("@" + FLAKY_DOMAIN) and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    directory = tmp_path_factory.mktemp("mail")
    port = free_port()
    controller = Controller(RefusingSink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield directory, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
async def email_sender(
    kafka_settings: KafkaSettings, mailbox: tuple[Path, int], api: Any
) -> AsyncIterator[SenderService]:
    _, port = mailbox
    settings = sender_settings(
        kafka_settings,
        Channel.EMAIL,
        group_id=f"herald-test-email-{uuid.uuid4().hex[:8]}",
        retry_delays_s=(0.2, 0.3, 0.4, 0.5, 1.2),
        smtp=SmtpSettings(
            port=port, timeout_s=5, unsubscribe_base_url=f"http://127.0.0.1:{api.port}"
        ),
    )
    async with running_sender(settings) as service:
        yield service


async def email_notifier(admin: ApiClient, api: Any, unique: str, emails: list[str]) -> Notifier:
    """An app and an e-mail notifier for it, created through the API; as stored in Postgres."""
    app_id = f"mail-{unique}"
    status, body = await admin.call(
        "PUT",
        f"/v1/apps/{app_id}",
        {"app": {"name": "shop", "owner_id": f"mail-org-{unique}"}},
    )
    assert status == 201, body
    status, body = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": "deploy mail",
                "platform_id": "email",
                "selected_event_ids": ["app_deployed"],
                "type_data": {"emails": emails},
            }
        },
    )
    assert status == 201, body
    return await stored(api, body["notifier"]["id"])


async def stored(api: Any, notifier_id: str) -> Notifier:
    async with api.pool.acquire() as connection:
        notifier = await notifier_store.load(connection, notifier_id)
    assert notifier is not None
    return notifier


def mail_deployed(app_id: str, owner_id: str) -> dict[str, Any]:
    """A deployment of the mailed app, with markup in its git ref (the mail must escape it)."""
    return deployed(app_id, owner_id, app_name="shop", git_ref="<b>0a1b2c</b>")


async def deliver(producer: Any, notifier: Notifier) -> Delivery:
    """Route one app_deployed event to `notifier` as the router would, and produce it."""
    event = parse_event(mail_deployed(notifier.app_id or "", f"owner-of-{notifier.app_id}"))
    recipients = resolve_recipients(notifier, event, Directory())
    delivery = Delivery.for_(event, notifier, datetime.now(UTC), recipients=recipients)
    await produce_deliveries(producer, [delivery])
    return delivery


async def mail_of(directory: Path, delivery: Delivery, count: int) -> list[EmailMessage]:
    def found() -> list[EmailMessage]:
        mine = [m for m in read_messages(directory) if m["X-Herald-Delivery-Id"] == delivery.id]
        return mine if len(mine) >= count else []

    return await eventually(found, timeout_s=30, what=f"{count} messages of {delivery.id}")


def link_of(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<"), header
    assert header.endswith(">"), header
    return header[1:-1]


async def test_two_recipients_get_one_message_each(
    email_sender: SenderService,
    mailbox: tuple[Path, int],
    producer: Any,
    api: Any,
    admin: ApiClient,
    unique: str,
    kafka_settings: KafkaSettings,
) -> None:
    notifier = await email_notifier(admin, api, unique, ["ann@example.com", "Bob@Example.com"])
    delivery = await deliver(producer, notifier)

    messages = await mail_of(mailbox[0], delivery, 2)

    assert sorted(str(m["To"]) for m in messages) == ["Bob@Example.com", "ann@example.com"]
    assert sorted(m["X-Herald-Rcpt-To"] for m in messages) == [
        "Bob@Example.com",
        "ann@example.com",
    ]
    links = set()
    for message in messages:
        assert message.get_content_type() == "multipart/alternative"
        kinds = [part.get_content_type() for part in message.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        assert message["Message-ID"] == f"<{delivery.id}@herald>"
        assert message["Subject"] == "[shop] App deployed: success"
        assert message["From"] == "Herald <notifications@herald.local>"
        assert message["Date"] is not None
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = link_of(message)
        assert link.startswith(f"http://127.0.0.1:{api.port}/v1/unsubscribe/")
        html_part = message.get_body(("html",))
        assert html_part is not None
        page = html_part.get_content()
        assert f'href="{link}"' in page
        assert "&lt;b&gt;0a1b2c&lt;/b&gt;" in page
        assert "<b>0a1b2c" not in page
        claim = unsubscribe_claim(
            email_sender.settings.smtp.unsubscribe_secret.get_secret_value(),
            link.rsplit("/", 1)[1],
        )
        assert claim is not None
        assert claim.notifier_id == notifier.id
        assert claim.address == str(message["To"]).lower()
        links.add(link)
    assert len(links) == 2, "each recipient has their own unsubscribe link"
    [result] = [
        DeliveryResult.model_validate_json(r.value)
        for r in await records_for_key(
            kafka_settings.bootstrap_servers, DELIVERY_RESULTS, delivery.id.encode(), 1
        )
    ]
    assert (result.outcome, result.attempt) == (AttemptOutcome.DELIVERED, 1)


async def test_a_refused_recipient_is_dead_lettered_at_once(
    email_sender: SenderService,
    mailbox: tuple[Path, int],
    producer: Any,
    api: Any,
    admin: ApiClient,
    unique: str,
    kafka_settings: KafkaSettings,
) -> None:
    notifier = await email_notifier(
        admin, api, unique, ["carol@example.com", f"nobody@{REFUSED_DOMAIN}"]
    )
    delivery = await deliver(producer, notifier)

    dead = headers_of(
        await find_record(
            kafka_settings.bootstrap_servers,
            delivery_dlq_topic(Channel.EMAIL.value),
            lambda r: dict(r.headers).get(h.DELIVERY_ID) == delivery.id.encode(),
        )
    )
    assert dead[h.DLQ_REASON] == "invalid_recipient"
    assert dead[h.ATTEMPT] == "1"
    assert "550" in dead[h.LAST_ERROR]
    [accepted] = await mail_of(mailbox[0], delivery, 1)
    assert accepted["To"] == "carol@example.com"
    [result] = [
        DeliveryResult.model_validate_json(r.value)
        for r in await records_for_key(
            kafka_settings.bootstrap_servers, DELIVERY_RESULTS, delivery.id.encode(), 1
        )
    ]
    assert (result.outcome, result.reason) == (AttemptOutcome.DEAD_LETTERED, "invalid_recipient")


async def test_one_click_unsubscribe_stops_the_mail(
    email_sender: SenderService,
    mailbox: tuple[Path, int],
    producer: Any,
    api: Any,
    admin: ApiClient,
    http: Any,
    unique: str,
    kafka_settings: KafkaSettings,
) -> None:
    notifier = await email_notifier(admin, api, unique, ["dan@example.com", "erin@example.com"])
    delivery = await deliver(producer, notifier)
    messages = await mail_of(mailbox[0], delivery, 2)
    [to_dan] = [m for m in messages if m["To"] == "dan@example.com"]
    link = link_of(to_dan)

    async with http.get(link) as page:  # what a person clicking the link sees first
        assert page.status == 200
        assert 'method="post"' in await page.text()
    async with http.post(link, data={"List-Unsubscribe": "One-Click"}) as answer:
        assert answer.status == 200, await answer.text()
        assert await answer.json() == {
            "unsubscribed": {"notifier_id": notifier.id, "address": "dan@example.com"}
        }
    async with http.post(link, data={"List-Unsubscribe": "One-Click"}) as again:
        assert again.status == 200  # idempotent
    async with http.post(link[:-3] + "AAA", data={"List-Unsubscribe": "One-Click"}) as forged:
        assert forged.status == 404
    async with http.post(link, data={"something": "else"}) as wrong:
        assert wrong.status == 400

    after = await stored(api, notifier.id)
    assert after.type_data["unsubscribed"] == ["dan@example.com"]
    assert after.version == notifier.version + 1
    event = parse_event(mail_deployed(notifier.app_id or "", f"mail-org-{unique}"))
    assert [r.address for r in resolve_recipients(after, event, Directory())] == [
        "erin@example.com"
    ]
    status, simulated = await admin.call(
        "POST",
        "/v1/events/simulate",
        mail_deployed(notifier.app_id or "", f"mail-org-{unique}"),
    )
    assert status == 200, simulated
    [routed] = [d for d in simulated["deliveries"] if d["notifier_id"] == notifier.id]
    assert [r["address"] for r in routed["recipients"]] == ["erin@example.com"]

    fresh = await deliver(producer, after)
    [only] = await mail_of(mailbox[0], fresh, 1)
    assert only["To"] == "erin@example.com"
    # The sender writes the delivery's result once every recipient was mailed: after it, a
    # message to dan would be in the mailbox already.
    await records_for_key(kafka_settings.bootstrap_servers, DELIVERY_RESULTS, fresh.id.encode(), 1)
    assert not [
        m
        for m in read_messages(mailbox[0])
        if m["X-Herald-Delivery-Id"] == fresh.id and m["To"] == "dan@example.com"
    ]


async def test_a_retry_after_a_temporary_refusal_mails_only_the_rest(
    email_sender: SenderService,
    mailbox: tuple[Path, int],
    producer: Any,
    api: Any,
    admin: ApiClient,
    unique: str,
    kafka_settings: KafkaSettings,
) -> None:
    flaky = f"fay-{unique}@{FLAKY_DOMAIN}"
    notifier = await email_notifier(
        admin, api, unique, ["gus@example.com", flaky, "hal@example.com"]
    )
    delivery = await deliver(producer, notifier)
    addresses = [r.address for r in delivery.recipients]
    assert len(addresses) == 3

    messages = await mail_of(mailbox[0], delivery, 3)  # two at once, the third on the retry
    # This sender's results: attempt 1 scheduled a retry, attempt 2 delivered. (In a full run
    # the session's other e-mail sender, `herald_mail`'s, also reads this record in its own
    # group and mails its own sink, which accepts all three: its results share the key.)
    for attempt, outcome in ((1, AttemptOutcome.RETRY_SCHEDULED), (2, AttemptOutcome.DELIVERED)):
        await find_record(
            kafka_settings.bootstrap_servers,
            DELIVERY_RESULTS,
            lambda r, attempt=attempt, outcome=outcome: (
                r.key == delivery.id.encode()
                and (result := DeliveryResult.model_validate_json(r.value or b"{}")).attempt
                == attempt
                and result.outcome == outcome
            ),
        )
    mine = [m for m in read_messages(mailbox[0]) if m["X-Herald-Delivery-Id"] == delivery.id]
    assert sorted(str(m["To"]) for m in mine) == sorted(addresses), "one message each"
    assert len(messages) == 3
    retry = headers_of(
        await find_record(
            kafka_settings.bootstrap_servers,
            retry_topic(Channel.EMAIL, "10s"),
            lambda r: dict(r.headers).get(h.DELIVERY_ID) == delivery.id.encode(),
        )
    )
    done = [str(i) for i, a in enumerate(addresses) if a != flaky]
    assert retry[h.RECIPIENTS_DONE] == ",".join(done)
    assert "451" in retry[h.LAST_ERROR]
