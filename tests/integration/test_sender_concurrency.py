"""The delivery engine on the real broker (issue 6): concurrent sends with each notifier's
deliveries in order, nothing lost when a second sender joins mid-burst, the per-endpoint rate,
the receiver's answer in the results, and notifier tests attempted once.

Isolation: the session `herald` fixture's sender consumes `notify.deliveries.webhook` and the
chat tests every chat channel's topic, so this module runs its own `SenderService` with the
webhook sender injected (`sender_factory`) on the APNs topics, which no other test consumes,
with its own consumer groups and tier delays scaled down. Deliveries are produced directly.
Every receiver is on 127.0.0.1, one host, so that sender has no endpoint or host rate; the rate is
tested on a `WebhookSender` built from settings the same way, without Kafka (and through Kafka,
per URL and with a hanging endpoint, in test_endpoint_limits).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery
from herald_core.markers import TEST_DETAIL_PREFIX
from herald_core.settings import KafkaSettings
from herald_core.topics import (
    DELIVERY_RESULTS,
    Channel,
    delivery_dlq_topic,
    retry_topic,
)
from herald_sender.app import SenderService
from herald_sender.channels.webhook import WebhookSender
from herald_sender.settings import SenderSettings
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Reply
from herald_testing.topics import records_now

from support.helpers import (
    produce_deliveries,
    results_of,
    running_sender,
    sender_settings,
    webhook_delivery,
    webhook_id,
)

pytestmark = pytest.mark.integration

CHANNEL = Channel.APNS
DELAYS = (0.2, 0.3, 0.4, 0.5, 1.2)  # the tiers 10s … 6h, scaled down
SLOW_S = 0.2  # how long the slow receiver takes per request
RATE = 20.0  # requests per second to one endpoint, for the rate test


def settings_for(kafka: KafkaSettings, channel: Channel, **options: Any) -> SenderSettings:
    return sender_settings(
        kafka, channel, connect_timeout_s=2, request_timeout_s=3, retry_delays_s=DELAYS, **options
    )


@pytest.fixture(scope="module")
async def sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    settings = settings_for(
        kafka_settings,
        CHANNEL,
        concurrency=64,
        endpoint_concurrency=64,
        endpoint_rate_per_s=0,
        host_concurrency=64,
        host_rate_per_s=0,
    )
    async with running_sender(settings, sender_factory=WebhookSender.from_settings) as service:
        yield service


def a_delivery(url: str, notifier_id: str | None = None) -> Delivery:
    return webhook_delivery(url, channel=CHANNEL, app_id="app-engine", notifier_id=notifier_id)


async def test_a_slow_receiver_gets_many_deliveries_at_once(
    sender, producer, receiver: HttpReceiver
) -> None:
    count = 40
    receiver.scripts["/slow"] = [Reply(200, delay_s=SLOW_S) for _ in range(count)]
    deliveries = [a_delivery(receiver.url("/slow")) for _ in range(count)]

    await produce_deliveries(producer, deliveries)

    requests = await receiver.wait_for("/slow", count, timeout_s=30)
    assert {webhook_id(r) for r in requests} == {d.id for d in deliveries}
    spread = requests[-1].at - requests[0].at
    # One after the other they would take count x SLOW_S = 8 s; at once, about SLOW_S.
    assert spread < count * SLOW_S / 3, f"requests spread over {spread:.2f}s"


async def test_one_notifiers_deliveries_stay_in_order(
    sender, producer, receiver: HttpReceiver
) -> None:
    notifier_id = f"n-{uuid.uuid4().hex[:12]}"
    receiver.scripts["/ordered"] = [Reply(200, delay_s=0.05) for _ in range(8)]
    deliveries = [a_delivery(receiver.url("/ordered"), notifier_id) for _ in range(8)]

    await produce_deliveries(producer, deliveries)

    requests = await receiver.wait_for("/ordered", 8, timeout_s=30)
    assert [webhook_id(r) for r in requests] == [d.id for d in deliveries]
    for earlier, later in itertools.pairwise(requests):
        assert later.at - earlier.at >= 0.04, "two deliveries of one notifier overlapped"


async def test_a_second_sender_joining_mid_burst_loses_nothing(
    sender, producer, receiver: HttpReceiver
) -> None:
    count, notifiers = 1500, 300
    receiver.scripts["/burst"] = [Reply(200, delay_s=0.01) for _ in range(2 * count)]
    ids = [f"n-{uuid.uuid4().hex[:12]}" for _ in range(notifiers)]
    url = receiver.url("/burst")
    deliveries = [a_delivery(url, ids[i % notifiers]) for i in range(count)]

    await produce_deliveries(producer, deliveries)
    await receiver.wait_for("/burst", count // 5, timeout_s=30)
    # The same group: the partitions are shared out again while the first has records in flight.
    async with running_sender(sender.settings, sender_factory=WebhookSender.from_settings):
        await eventually(
            lambda: {webhook_id(r) for r in receiver.on("/burst")} >= {d.id for d in deliveries},
            timeout_s=60,
            what="every delivery of the burst at the receiver",
        )
    assert {webhook_id(r) for r in receiver.on("/burst")} == {d.id for d in deliveries}
    for notifier_id in ids[:20]:  # each notifier's first attempts came in order
        mine = [d.id for d in deliveries if d.notifier.id == notifier_id]
        seen = [webhook_id(r) for r in receiver.on("/burst") if webhook_id(r) in set(mine)]
        firsts = list(dict.fromkeys(seen))
        assert firsts == mine


async def test_the_endpoint_rate_holds_a_burst_back(kafka_settings, receiver: HttpReceiver) -> None:
    count = 60
    settings = settings_for(kafka_settings, CHANNEL, endpoint_rate_per_s=RATE)
    deliveries = [a_delivery(receiver.url("/limited")) for _ in range(count)]

    async with WebhookSender.from_settings(settings) as webhook:
        await asyncio.gather(*(webhook.send(d) for d in deliveries))

    requests = receiver.on("/limited")
    assert {webhook_id(r) for r in requests} == {d.id for d in deliveries}
    # A burst of RATE, then the rest at RATE per second; a lower bound only, with slack.
    expected = (count - RATE) / RATE
    spread = requests[-1].at - requests[0].at
    assert spread >= expected * 0.8, f"{count} requests in {spread:.2f}s at {RATE}/s"


async def test_results_carry_the_receivers_answer(
    sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.scripts["/answers"] = [Reply(503)]  # answers "scripted", then 200 "ok"
    delivery = a_delivery(receiver.url("/answers"))

    await produce_deliveries(producer, [delivery])

    results = await results_of(kafka_settings, delivery, 2)
    assert [(r.outcome, r.response_excerpt) for r in results] == [
        (AttemptOutcome.RETRY_SCHEDULED, "scripted"),
        (AttemptOutcome.DELIVERED, "ok"),
    ]
    assert results[1].status_code == 200


async def test_a_notifier_test_that_fails_is_attempted_once_and_only_reported(
    sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    receiver.statuses["/test-fails"] = 500
    delivery = a_delivery(receiver.url("/test-fails"))

    await produce_deliveries(producer, [delivery], test=True)

    [result] = await results_of(kafka_settings, delivery, 1)
    assert result.outcome is AttemptOutcome.DEAD_LETTERED
    assert result.reason == "server_error"
    assert result.detail.startswith(TEST_DETAIL_PREFIX)
    assert result.response_excerpt == "ok"
    assert len(receiver.on("/test-fails")) == 1

    def this_delivery(record: Any) -> bool:
        return dict(record.headers).get(h.DELIVERY_ID) == delivery.id.encode()

    # The sender writes a retry or a dead letter with its result, and awaits every ack before
    # it moves on: once the result is read, anything it wrote beside it is there to be read.
    for topic in (retry_topic(CHANNEL, "10s"), delivery_dlq_topic(CHANNEL)):
        assert await records_now(kafka_settings.bootstrap_servers, topic, this_delivery) == []
    key = delivery.id.encode()
    results = await records_now(
        kafka_settings.bootstrap_servers, DELIVERY_RESULTS, lambda r: r.key == key
    )
    assert len(results) == 1


async def test_a_notifier_test_that_succeeds_is_a_normal_result(
    sender, producer, receiver: HttpReceiver, kafka_settings
) -> None:
    delivery = a_delivery(receiver.url("/test-ok"))

    await produce_deliveries(producer, [delivery], test=True)

    [result] = await results_of(kafka_settings, delivery, 1)
    assert (result.outcome, result.status_code) == (AttemptOutcome.DELIVERED, 200)
