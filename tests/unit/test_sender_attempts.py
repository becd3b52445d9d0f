"""One attempt through the sender shell, with a fake channel sender (no broker, no network):
the result record carries the receiver's answer, a notifier test is attempted once, and a
delivery replayed from its DLQ goes on counting attempts with its retry schedule started over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.errors import (
    DeliveryError,
    FailureReason,
    PermanentDeliveryError,
    RecordTooLarge,
    RetryableDeliveryError,
)
from herald_core.intake import parse_event
from herald_core.markers import TEST_DETAIL_PREFIX
from herald_core.notifiers import Notifier, Selection
from herald_core.topics import DELIVERY_RESULTS, Channel, delivery_dlq_topic
from herald_kafka.loop import handle_guarded
from herald_sender.app import SenderService, is_test
from herald_sender.channels import SendReport
from herald_sender.channels.webhook import response_excerpt
from herald_sender.outcomes import RESPONSE_EXCERPT_MAX
from herald_sender.settings import SenderSettings


@dataclass(frozen=True)
class FakeRecord:
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    topic: str = "notify.deliveries.webhook"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"n-1"
    timestamp: int = 0


class FakeSender:
    channel: ClassVar[Channel] = Channel.WEBHOOK

    def __init__(self, outcome: SendReport | DeliveryError) -> None:
        self.outcome = outcome
        self.calls = 0

    async def send(self, delivery: Delivery) -> SendReport:
        self.calls += 1
        if isinstance(self.outcome, DeliveryError):
            raise self.outcome
        return self.outcome

    async def __aenter__(self) -> FakeSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def a_delivery() -> Delivery:
    event = parse_event(
        {
            "id": "evt-1",
            "type": "app_deployed",
            "created_at": "2026-03-12T17:05:14+01:00",
            "source": "deployer",
            "app_id": "app-1",
            "owner_id": "org-1",
            "type_data": {"status": "success"},
        }
    )
    notifier = Notifier(
        id="n-1",
        name="ops",
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": "https://hooks.example.com/x"},
    )
    return Delivery.for_(event, notifier, datetime(2026, 3, 12, tzinfo=UTC))


async def attempt(outcome, headers=()):
    sender = FakeSender(outcome)
    service = SenderService(SenderSettings(), sender_factory=lambda _settings: sender)
    try:
        outputs = await service._attempt(FakeRecord(a_delivery().to_json(), tuple(headers)))
    finally:
        await service.producer.stop()
    return sender, outputs


def result_of(outputs) -> DeliveryResult:
    [result] = [o for o in outputs if o.topic == DELIVERY_RESULTS]
    return DeliveryResult.model_validate_json(result.value)


async def test_a_delivered_attempt_carries_status_and_answer():
    _, outputs = await attempt(SendReport(202, "queued as 42"))
    result = result_of(outputs)
    assert (result.outcome, result.status_code, result.response_excerpt) == (
        AttemptOutcome.DELIVERED,
        202,
        "queued as 42",
    )


async def test_a_failed_attempt_carries_the_answer_too():
    error = RetryableDeliveryError(FailureReason.SERVER_ERROR, "HTTP 503 Service Unavailable")
    error.response_excerpt = "try later"
    _, outputs = await attempt(error)
    assert [o.topic for o in outputs] == [DELIVERY_RESULTS, "notify.deliveries.webhook.retry.10s"]
    assert result_of(outputs).response_excerpt == "try later"


@pytest.mark.parametrize(
    "error",
    [
        RetryableDeliveryError(FailureReason.SERVER_ERROR, "HTTP 503 Service Unavailable"),
        PermanentDeliveryError(FailureReason.CLIENT_ERROR, "HTTP 404 Not Found"),
    ],
)
async def test_a_failed_test_delivery_is_only_a_dead_lettered_result(error):
    sender, outputs = await attempt(error, [(h.TEST, b"1")])
    assert sender.calls == 1
    assert [o.topic for o in outputs] == [DELIVERY_RESULTS]
    result = result_of(outputs)
    assert result.outcome is AttemptOutcome.DEAD_LETTERED
    assert result.reason == error.reason.value
    assert result.detail == TEST_DETAIL_PREFIX + error.detail
    assert result.attempt == 1


async def test_a_delivered_test_delivery_is_a_normal_result():
    _, outputs = await attempt(SendReport(200, "ok"), [(h.TEST, b"1")])
    assert [o.topic for o in outputs] == [DELIVERY_RESULTS]
    assert result_of(outputs).outcome is AttemptOutcome.DELIVERED


async def test_an_unexpected_error_on_a_test_delivery_is_not_retried():
    sender = FakeSender(SendReport(200))
    service = SenderService(SenderSettings(), sender_factory=lambda _settings: sender)
    try:
        record = FakeRecord(a_delivery().to_json(), ((h.TEST, b"1"),))
        outputs = service._failed(record, RuntimeError("boom"))
    finally:
        await service.producer.stop()
    assert [o.topic for o in outputs] == [DELIVERY_RESULTS]
    assert result_of(outputs).outcome is AttemptOutcome.DEAD_LETTERED


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((), False),
        (((h.TEST, b"1"),), True),
        (((h.TEST, b"true"),), True),
        (((h.TEST, b"0"),), False),
    ],
)
def test_is_test_reads_the_header(headers, expected):
    assert is_test(FakeRecord(b"", headers)) is expected


@pytest.mark.parametrize(
    ("body", "excerpt"),
    [
        (b"", None),
        (b"ok", "ok"),
        (b"caf\xc3\xa9 \xff", "café \ufffd"),
        (b"x" * 5000, "x" * RESPONSE_EXCERPT_MAX),
    ],
)
def test_response_excerpt_decodes_and_caps(body, excerpt):
    assert response_excerpt(body) == excerpt


async def test_a_delivery_whose_outputs_are_too_large_is_dead_lettered_not_retried():
    """The loop gives the sender a `RecordTooLarge` when an attempt's outputs would not fit the
    broker: a retry tier would not take the delivery either, so it goes to the DLQ at once."""
    sender = FakeSender(SendReport(200))
    service = SenderService(SenderSettings(), sender_factory=lambda _settings: sender)
    try:
        record = FakeRecord(a_delivery().to_json())
        outputs = service._failed(record, RecordTooLarge("its result would be 2 MB"))
    finally:
        await service.producer.stop()
    [letter] = outputs
    assert letter.topic == "notify.deliveries.webhook.dlq"
    assert h.header(letter.headers, h.DLQ_REASON) == "too_large"
    assert letter.value == record.value


async def test_a_delivered_attempt_too_large_to_record_is_dead_lettered_once():
    """Through the loop's guard, as the sender runs: the result of a delivered attempt does not
    fit, so the record is dead-lettered with `too_large`, and the webhook was sent once."""
    sender = FakeSender(SendReport(200, "ok"))
    service = SenderService(SenderSettings(), sender_factory=lambda _settings: sender)
    record = FakeRecord(a_delivery().to_json())
    try:
        outputs = await handle_guarded(
            service._attempt, service._failed, record, max_record_bytes=len(record.value) + 200
        )
    finally:
        await service.producer.stop()
    assert sender.calls == 1
    assert [o.topic for o in outputs] == ["notify.deliveries.webhook.dlq"]
    assert h.header(outputs[0].headers, h.DLQ_REASON) == "too_large"


# --- a replay (`herald-ops dlq replay`): attempts go on, the schedule starts over -----------------

TIERS = 5  # the webhook tiers of topics.yaml
REFUSED = RetryableDeliveryError(FailureReason.SERVER_ERROR, "503")


async def test_a_replay_after_the_last_tier_is_retried_from_the_first_tier():
    replayed = [(h.DELIVERY_ID, b"d-1"), (h.ATTEMPT, b"6"), (h.RETRIES_FROM, b"6")]
    _, outputs = await attempt(REFUSED, replayed)
    result = result_of(outputs)
    assert (result.attempt, result.outcome) == (7, AttemptOutcome.RETRY_SCHEDULED)
    [retry] = [o for o in outputs if ".retry." in o.topic]
    assert retry.topic.endswith(".retry.10s")  # the first tier, not a dead letter
    assert (h.header(retry.headers, h.ATTEMPT), h.header(retry.headers, h.RETRIES_FROM)) == (
        "7",
        "6",
    )


async def test_without_the_restart_the_same_attempt_is_dead_lettered():
    _, outputs = await attempt(REFUSED, [(h.DELIVERY_ID, b"d-1"), (h.ATTEMPT, b"6")])
    assert result_of(outputs).outcome is not AttemptOutcome.RETRY_SCHEDULED
    assert [o.topic for o in outputs if o.topic != DELIVERY_RESULTS] == [
        delivery_dlq_topic(Channel.WEBHOOK)
    ]


async def test_a_replay_that_uses_every_tier_again_is_dead_lettered_with_its_restart():
    _, outputs = await attempt(REFUSED, [(h.ATTEMPT, b"11"), (h.RETRIES_FROM, b"6")])
    [letter] = [o for o in outputs if o.topic == delivery_dlq_topic(Channel.WEBHOOK)]
    assert h.header(letter.headers, h.ATTEMPT) == str(6 + TIERS + 1)
    assert h.header(letter.headers, h.RETRIES_FROM) == "6"
    assert h.header(letter.headers, h.DLQ_REASON) == "exhausted"
