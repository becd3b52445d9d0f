"""Retry tiers on the real broker: a failed delivery hops through `notify.deliveries.<channel>
.retry.<tier>` until it is delivered, dead-lettered, or exhausted (docs/architecture.md).

Isolation: the session `herald` fixture's sender consumes `notify.deliveries.webhook`, so this
module runs its own `SenderService` on the Rocket.Chat channel's topics (which no other test
consumes), with the webhook sender injected through `sender_factory`, its own consumer groups,
and tier delays scaled down from 10 s … 6 h to 0.2 … 1.2 s. Deliveries are produced directly.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery
from herald_core.settings import KafkaSettings
from herald_core.topics import (
    Channel,
    deliveries_topic,
    delivery_dlq_topic,
    retry_topic,
)
from herald_kafka.lag import topic_depths
from herald_sender.app import SenderService
from herald_sender.channels.webhook import WebhookSender
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Received, Reply
from herald_testing.topics import find_record, headers_of

from support.helpers import (
    produce_deliveries,
    results_of,
    running_sender,
    sender_settings,
    webhook_delivery,
    webhook_id,
)

pytestmark = pytest.mark.integration

CHANNEL = Channel.ROCKETCHAT
DELAYS = (0.2, 0.3, 0.4, 0.5, 1.2)  # the tiers 10s, 1m, 10m, 1h, 6h, scaled down
EARLY_S = 0.05  # clock and poll slack when checking that an attempt was not early


@pytest.fixture(scope="module")
async def retrying_sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    group = f"herald-test-retries-{uuid.uuid4().hex[:8]}"
    settings = sender_settings(
        kafka_settings,
        CHANNEL,
        group_id=group,
        connect_timeout_s=0.5,
        request_timeout_s=0.5,
        retry_delays_s=DELAYS,
        dlq_depth_every_s=0.5,
    )
    async with running_sender(settings, sender_factory=WebhookSender.from_settings) as service:
        yield service


async def deliver(producer: Any, url: str) -> Delivery:
    """Put one delivery to `url` on the channel's deliveries topic, as the router would."""
    delivery = webhook_delivery(url, channel=CHANNEL, app_id="app-retries")
    await produce_deliveries(producer, [delivery])
    return delivery


async def dead_letter_of(settings: KafkaSettings, delivery: Delivery) -> dict[str, str]:
    record = await find_record(
        settings.bootstrap_servers,
        delivery_dlq_topic(CHANNEL),
        lambda r: dict(r.headers).get(h.DELIVERY_ID) == delivery.id.encode(),
    )
    return headers_of(record)


def responses(service: SenderService, outcome: str) -> float:
    """How many receiver answers `herald_sender_response_seconds` counted for `outcome`."""
    labels = {"channel": CHANNEL.value, "outcome": outcome}
    return service.registry.get_sample_value("herald_sender_response_seconds_count", labels) or 0


def gaps(requests: list[Received]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]


async def test_a_receiver_failing_three_times_gets_the_fourth_attempt(
    retrying_sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.scripts["/flaky"] = [Reply(503), Reply(503), Reply(503)]
    before = {o: responses(retrying_sender, o) for o in ("failed", "delivered")}

    delivery = await deliver(producer, receiver.url("/flaky"))

    requests = await receiver.wait_for("/flaky", 4, timeout_s=15)
    assert {webhook_id(r) for r in requests} == {delivery.id}
    for gap, delay in zip(gaps(requests), DELAYS, strict=False):
        assert gap >= delay - EARLY_S, f"attempt came {gap:.2f}s after the last, tier {delay}s"
    results = await results_of(kafka_settings, delivery, 4)
    assert [(r.attempt, r.outcome) for r in results] == [
        (1, AttemptOutcome.RETRY_SCHEDULED),
        (2, AttemptOutcome.RETRY_SCHEDULED),
        (3, AttemptOutcome.RETRY_SCHEDULED),
        (4, AttemptOutcome.DELIVERED),
    ]
    assert {r.reason for r in results[:3]} == {"server_error"}
    # Its last result is final (delivered or dead-lettered): no attempt is left to come.
    assert len(receiver.on("/flaky")) == 4
    # Each answer timed by outcome (other tests' late retries may add to it: at least).
    assert responses(retrying_sender, "failed") - before["failed"] >= 3
    assert responses(retrying_sender, "delivered") - before["delivered"] >= 1


async def test_retry_after_is_honoured_rounded_up_to_a_tier(
    retrying_sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.scripts["/busy"] = [Reply(429, {"Retry-After": "1"})]

    delivery = await deliver(producer, receiver.url("/busy"))

    requests = await receiver.wait_for("/busy", 2, timeout_s=15)
    # 1 s rounds up to the first tier at least that long: the last one (1.2 s here, 6 h live).
    assert gaps(requests)[0] >= DELAYS[-1] - EARLY_S
    hop = await find_record(
        kafka_settings.bootstrap_servers,
        retry_topic(CHANNEL, "6h"),
        lambda r: dict(r.headers).get(h.DELIVERY_ID) == delivery.id.encode(),
    )
    headers = headers_of(hop)
    assert headers[h.ATTEMPT] == "1"
    assert headers[h.LAST_ERROR] == "rate_limited: HTTP 429 Too Many Requests"
    assert int(headers[h.DUE_AT]) - hop.timestamp >= 1000 - 50  # due ≥ 1 s after it was written
    results = await results_of(kafka_settings, delivery, 2)
    assert [(r.attempt, r.outcome) for r in results] == [
        (1, AttemptOutcome.RETRY_SCHEDULED),
        (2, AttemptOutcome.DELIVERED),
    ]


async def test_gone_is_dead_lettered_at_once(
    retrying_sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.statuses["/gone"] = 410

    delivery = await deliver(producer, receiver.url("/gone"))

    dead = await dead_letter_of(kafka_settings, delivery)
    assert dead[h.DLQ_REASON] == "gone", "the reason endpoint health disables the notifier on"
    assert dead[h.ATTEMPT] == "1"
    assert "410" in dead[h.LAST_ERROR]
    assert dead[h.ORIGINAL_TOPIC] == deliveries_topic(CHANNEL)
    [result] = await results_of(kafka_settings, delivery, 1)
    assert (result.attempt, result.outcome, result.reason) == (
        1,
        AttemptOutcome.DEAD_LETTERED,
        "gone",
    )
    # Its last result is final (delivered or dead-lettered): no attempt is left to come.
    assert len(receiver.on("/gone")) == 1
    # The sender samples its DLQ's depth: at least this one, and what the broker says it holds.
    dlq = delivery_dlq_topic(CHANNEL)

    async def depth_sampled() -> bool:
        held = (await topic_depths(kafka_settings, [dlq]))[dlq]
        labels = {"channel": CHANNEL.value}
        sampled = retrying_sender.registry.get_sample_value("herald_dlq_records", labels)
        return held >= 1 and sampled == held

    await eventually(
        depth_sampled, timeout_s=30, what="herald_dlq_records equal to the DLQ's depth"
    )


async def test_a_silent_receiver_times_out_and_is_retried(
    retrying_sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.scripts["/silent"] = [Reply(200, delay_s=2.0)]

    delivery = await deliver(producer, receiver.url("/silent"))

    requests = await receiver.wait_for("/silent", 2, timeout_s=15)
    assert {webhook_id(r) for r in requests} == {delivery.id}
    results = await results_of(kafka_settings, delivery, 2)
    assert [(r.attempt, r.outcome, r.reason) for r in results] == [
        (1, AttemptOutcome.RETRY_SCHEDULED, "timeout"),
        (2, AttemptOutcome.DELIVERED, None),
    ]


async def test_exhausted_after_the_last_tier(
    retrying_sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.statuses["/down"] = 503

    delivery = await deliver(producer, receiver.url("/down"))

    requests = await receiver.wait_for("/down", len(DELAYS) + 1, timeout_s=20)
    for gap, delay in zip(gaps(requests), DELAYS, strict=True):
        assert gap >= delay - EARLY_S, f"attempt came {gap:.2f}s after the last, tier {delay}s"
    dead = await dead_letter_of(kafka_settings, delivery)
    assert dead[h.DLQ_REASON] == "exhausted"
    assert dead[h.ATTEMPT] == str(len(DELAYS) + 1)
    assert dead[h.LAST_ERROR].startswith("exhausted: gave up after 6 attempts")
    assert "server_error: HTTP 503" in dead[h.LAST_ERROR]
    assert dead[h.DELIVERY_ID] == delivery.id
    assert dead[h.ORIGINAL_TOPIC] == deliveries_topic(CHANNEL)
    assert dead[h.ORIGINAL_PARTITION].isdigit()
    assert dead[h.ORIGINAL_OFFSET].isdigit()
    assert datetime.fromisoformat(dead[h.FIRST_FAILED_AT]) <= datetime.now(UTC)
    assert h.DUE_AT not in dead
    results = await results_of(kafka_settings, delivery, len(DELAYS) + 1)
    assert [r.attempt for r in results] == [1, 2, 3, 4, 5, 6]
    assert [r.outcome for r in results] == [AttemptOutcome.RETRY_SCHEDULED] * 5 + [
        AttemptOutcome.DEAD_LETTERED
    ]
    assert results[-1].reason == "exhausted"
    exhausted = {"channel": CHANNEL.value, "reason": "exhausted"}
    metric = "herald_notification_dead_letters_total"
    assert (retrying_sender.registry.get_sample_value(metric, exhausted) or 0) >= 1
    retried = {"channel": CHANNEL.value, "reason": "server_error"}
    metric = "herald_notification_retries_total"
    assert (retrying_sender.registry.get_sample_value(metric, retried) or 0) >= len(DELAYS)
    # Its last result is final (delivered or dead-lettered): no attempt is left to come.
    assert len(receiver.on("/down")) == len(DELAYS) + 1
