"""Progress over several recipients travels with the retry record (`x-recipients-done`).

The pure rule (`herald_core.retry`) and the shell around it, with a scripted channel sender:
an attempt that reached recipients 0 and 2 of 3 and failed on 1 writes `0,2` into its retry
record; the retry, read from that record by any process, is given recipient 1 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult, Recipient
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.retry import (
    RetryState,
    recipients_done_after,
    recipients_done_value,
    recipients_left,
)
from herald_core.topics import DELIVERY_RESULTS, Channel, delivery_dlq_topic
from herald_sender.app import SenderService
from herald_sender.channels import SendReport
from herald_sender.settings import SenderSettings

ADDRESSES = ("ann@example.com", "bob@example.com", "cid@example.com")
HERE = ("notify.deliveries.email", 0, 7)


@pytest.mark.parametrize(
    ("value", "done"),
    [
        (None, frozenset()),
        (b"", frozenset()),
        (b"0,2", frozenset({0, 2})),
        (b" 1 ,", frozenset({1})),
        (b"0,x", frozenset()),  # malformed: everyone again, a duplicate rather than a loss
        (b"-1", frozenset()),
        (b"9999999", frozenset()),
    ],
)
def test_the_header_reads_as_indices(value, done):
    headers = [] if value is None else [(h.RECIPIENTS_DONE, value)]
    assert RetryState.of(headers, HERE).recipients_done == done


@pytest.mark.parametrize(
    ("count", "done", "delivered", "left", "after"),
    [
        (3, frozenset(), (0, 2), (0, 1, 2), {0, 2}),
        (3, frozenset({0, 2}), (), (1,), {0, 2}),
        (3, frozenset({0, 2}), (0,), (1,), {0, 1, 2}),
        (3, frozenset({5}), (), (0, 1, 2), {5}),
        (2, frozenset({1}), (0, 3), (0,), {0, 1}),  # an index past the attempted list: ignored
    ],
)
def test_what_is_left_and_what_is_done_after_an_attempt(count, done, delivered, left, after):
    assert recipients_left(count, done) == left
    assert recipients_done_after(left, done, delivered) == after


def test_the_header_value_is_sorted_indices():
    assert recipients_done_value(frozenset({2, 0, 10})) == b"0,2,10"


@dataclass(frozen=True)
class FakeRecord:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = "notify.deliveries.email"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"n-1"
    timestamp: int = 0


class ScriptedSender:
    """Fails the addresses in `failing` with `error`; records whom each attempt was given."""

    channel: ClassVar[Channel] = Channel.EMAIL

    def __init__(self, failing: set[str], error: type[DeliveryError]) -> None:
        self.failing = failing
        self.error = error
        self.given: list[list[str]] = []

    async def send(self, delivery: Delivery) -> SendReport:
        addresses = [r.address for r in delivery.recipients]
        self.given.append(addresses)
        reached = tuple(i for i, a in enumerate(addresses) if a not in self.failing)
        if len(reached) < len(addresses):
            raise self.error(FailureReason.SERVER_ERROR, "SMTP 451 later", delivered=reached)
        return SendReport(status=250)

    async def __aenter__(self) -> ScriptedSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def three_recipients() -> Delivery:
    event = parse_event(
        {
            "id": "evt-1",
            "type": "app_deployed",
            "created_at": "2026-03-12T17:05:14+01:00",
            "app_id": "app-1",
            "owner_id": "org-1",
            "type_data": {"status": "success"},
        }
    )
    notifier = Notifier(
        id="n-1",
        name="mail",
        app_id="app-1",
        platform=Channel.EMAIL,
        selection=Selection(send_all_events=True),
        type_data={"emails": list(ADDRESSES)},
    )
    recipients = tuple(Recipient(address=a) for a in ADDRESSES)
    return Delivery.for_(event, notifier, datetime(2026, 3, 12, tzinfo=UTC), recipients=recipients)


async def attempt(sender: ScriptedSender, headers: tuple[tuple[str, bytes], ...] = ()):
    settings = SenderSettings(channel=Channel.EMAIL)
    service = SenderService(settings, sender_factory=lambda _settings: sender)
    try:
        return await service._attempt(FakeRecord(three_recipients().to_json(), headers))
    finally:
        await service.producer.stop()


def follow_up(outputs, topic_part: str):
    [record] = [o for o in outputs if topic_part in o.topic]
    return record


async def test_a_partial_failure_writes_who_is_done_and_the_retry_sends_to_the_rest():
    first = ScriptedSender({"bob@example.com"}, RetryableDeliveryError)
    outputs = await attempt(first)
    assert first.given == [list(ADDRESSES)]
    retry = follow_up(outputs, ".retry.")
    assert dict(retry.headers)[h.RECIPIENTS_DONE] == b"0,2"

    # Another process, no memory of the first attempt: only the record's headers.
    later = ScriptedSender(set(), RetryableDeliveryError)
    outputs = await attempt(later, tuple(retry.headers))
    assert later.given == [["bob@example.com"]]
    [result] = [o for o in outputs if o.topic == DELIVERY_RESULTS]
    parsed = DeliveryResult.model_validate_json(result.value)
    assert (parsed.outcome, parsed.attempt) == (AttemptOutcome.DELIVERED, 2)
    assert len(parsed.delivery.recipients) == 3  # the result names the delivery as routed


async def test_a_second_partial_failure_adds_to_what_is_done():
    first = ScriptedSender({"bob@example.com", "cid@example.com"}, RetryableDeliveryError)
    retry = follow_up(await attempt(first), ".retry.")
    assert dict(retry.headers)[h.RECIPIENTS_DONE] == b"0"
    second = ScriptedSender({"bob@example.com"}, RetryableDeliveryError)
    again = follow_up(await attempt(second, tuple(retry.headers)), ".retry.")
    assert second.given == [["bob@example.com", "cid@example.com"]]
    assert [v for k, v in again.headers if k == h.RECIPIENTS_DONE] == [b"0,2"]


async def test_a_dead_letter_keeps_who_was_reached():
    sender = ScriptedSender({"cid@example.com"}, PermanentDeliveryError)
    dead = follow_up(await attempt(sender), delivery_dlq_topic(Channel.EMAIL.value))
    assert dict(dead.headers)[h.RECIPIENTS_DONE] == b"0,1"


async def test_everyone_done_is_delivered_without_sending():
    sender = ScriptedSender(set(), RetryableDeliveryError)
    outputs = await attempt(sender, ((h.ATTEMPT, b"1"), (h.RECIPIENTS_DONE, b"0,1,2")))
    assert sender.given == []
    [result] = [o for o in outputs if o.topic == DELIVERY_RESULTS]
    assert DeliveryResult.model_validate_json(result.value).outcome is AttemptOutcome.DELIVERED
