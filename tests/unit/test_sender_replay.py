"""A replayed delivery (`herald-ops dlq replay`) in the sender: its attempts go on counting from
the dead letter's, so the history keeps a row for each, while its retry schedule starts over at
the first tier (`x-retries-from`), and the retry and DLQ records it leads to carry that on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.errors import FailureReason, RetryableDeliveryError
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.topics import DELIVERY_RESULTS, Channel, delivery_dlq_topic
from herald_sender.app import SenderService
from herald_sender.channels import SendReport
from herald_sender.settings import SenderSettings

TIERS = 5  # the webhook tiers of topics.yaml


@dataclass(frozen=True)
class FakeRecord:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = "notify.deliveries.webhook"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"n-1"
    timestamp: int = 0


class Refusing:
    """A webhook sender whose receiver answers 503 to everything."""

    channel: ClassVar[Channel] = Channel.WEBHOOK

    async def send(self, delivery: Delivery) -> SendReport:
        raise RetryableDeliveryError(FailureReason.SERVER_ERROR, "503")

    async def __aenter__(self) -> Refusing:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def delivery() -> Delivery:
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
        name="hook",
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": "https://hooks.example.com/h"},
    )
    return Delivery.for_(event, notifier, datetime(2026, 3, 12, tzinfo=UTC))


async def attempt(headers: list[tuple[str, bytes]]):
    service = SenderService(
        SenderSettings(channel=Channel.WEBHOOK), sender_factory=lambda _: Refusing()
    )
    try:
        return await service._attempt(FakeRecord(delivery().to_json(), tuple(headers)))
    finally:
        await service.producer.stop()


def result_of(outputs) -> DeliveryResult:
    [result] = [o for o in outputs if o.topic == DELIVERY_RESULTS]
    return DeliveryResult.model_validate_json(result.value)


async def test_a_replay_after_the_last_tier_is_retried_from_the_first_tier():
    replayed = [(h.DELIVERY_ID, b"d-1"), (h.ATTEMPT, b"6"), (h.RETRIES_FROM, b"6")]
    outputs = await attempt(replayed)
    assert (result_of(outputs).attempt, result_of(outputs).outcome) == (
        7,
        AttemptOutcome.RETRY_SCHEDULED,
    )
    [retry] = [o for o in outputs if ".retry." in o.topic]
    assert retry.topic.endswith(".retry.10s")  # the first tier, not a dead letter
    assert (h.header(retry.headers, h.ATTEMPT), h.header(retry.headers, h.RETRIES_FROM)) == (
        "7",
        "6",
    )


async def test_without_the_restart_the_same_attempt_is_dead_lettered():
    outputs = await attempt([(h.DELIVERY_ID, b"d-1"), (h.ATTEMPT, b"6")])
    assert result_of(outputs).outcome is not AttemptOutcome.RETRY_SCHEDULED
    assert [o.topic for o in outputs if o.topic != DELIVERY_RESULTS] == [
        delivery_dlq_topic(Channel.WEBHOOK)
    ]


async def test_a_replay_that_uses_every_tier_again_is_dead_lettered_with_its_restart():
    outputs = await attempt([(h.ATTEMPT, b"11"), (h.RETRIES_FROM, b"6")])
    [letter] = [o for o in outputs if o.topic == delivery_dlq_topic(Channel.WEBHOOK)]
    assert h.header(letter.headers, h.ATTEMPT) == str(6 + TIERS + 1)
    assert h.header(letter.headers, h.RETRIES_FROM) == "6"
    assert h.header(letter.headers, h.DLQ_REASON) == "exhausted"
