"""Per-endpoint limits on the real path (issue 19): Kafka in, a real receiver on loopback.

The rate and in-flight cap are keyed by the webhook URL, what chat services limit: many
notifiers posting to different URLs on one host are not throttled to one URL's budget, while
one URL still is. And a delivery waiting for its endpoint holds nobody back: one receiver that
never answers (in time) does not delay the deliveries to the others.

Isolation: a `SenderService` with the webhook sender injected (`sender_factory`) on the Web Push
topic, in consumer groups of its own that start at the topic's end (the sigkill test writes to
that topic too), tier delays scaled down. Deliveries are produced directly.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import OffsetAndMetadata
from herald_core.deliveries import Delivery
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel, deliveries_topic, retry_tiers, retry_topic
from herald_kafka.reader import topic_partitions
from herald_sender.app import SenderService
from herald_sender.channels.webhook import WebhookSender
from herald_sender.settings import SenderSettings
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Reply

from support.helpers import (
    produce_deliveries,
    running_sender,
    sender_settings,
    webhook_delivery,
    webhook_id,
)

pytestmark = pytest.mark.integration

CHANNEL = Channel.WEBPUSH
RATE = 2.0  # requests per second to one URL, bursts of 2
PER_URL = 2  # requests in flight to one URL
REQUEST_TIMEOUT_S = 6.0
DELAYS = (0.2, 0.3, 0.4, 0.5, 1.2)  # the tiers 10s … 6h, scaled down


async def group_at_end(kafka: KafkaSettings, group: str, topics: list[str]) -> None:
    """Commit `group`'s offsets at the end of `topics`, so it reads only what comes next."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, kafka, topics)
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
async def sender(kafka_settings: KafkaSettings) -> AsyncIterator[SenderService]:
    settings: SenderSettings = sender_settings(
        kafka_settings,
        CHANNEL,
        concurrency=8,
        endpoint_rate_per_s=RATE,
        endpoint_concurrency=PER_URL,
        host_rate_per_s=0,
        host_concurrency=64,
        connect_timeout_s=2,
        request_timeout_s=REQUEST_TIMEOUT_S,
        retry_delays_s=DELAYS,
    )
    tiers = [retry_topic(CHANNEL, tier) for tier in retry_tiers()]
    await group_at_end(kafka_settings, settings.consumer_group, [deliveries_topic(CHANNEL)])
    await group_at_end(kafka_settings, settings.retry_consumer_group, tiers)
    async with running_sender(settings, sender_factory=WebhookSender.from_settings) as service:
        yield service


def a_delivery(url: str) -> Delivery:
    return webhook_delivery(url, channel=CHANNEL, app_id=f"app-{uuid.uuid4().hex[:8]}")


async def test_many_urls_on_one_host_are_not_held_to_one_urls_rate(
    sender, producer, receiver: HttpReceiver
) -> None:
    urls = [receiver.url(f"/many/{i}") for i in range(20)]
    deliveries = [a_delivery(url) for url in urls for _ in range(int(RATE))]

    await produce_deliveries(producer, deliveries)

    await eventually(
        lambda: sum(len(receiver.on(f"/many/{i}")) for i in range(20)) >= len(deliveries),
        timeout_s=30,
        what="every delivery to the 20 URLs",
    )
    requests = sorted(
        (r for r in receiver.requests if r.path.startswith("/many/")), key=lambda r: r.at
    )
    assert {webhook_id(r) for r in requests} == {d.id for d in deliveries}
    # Each URL's burst: keyed by host, 40 requests at 2/s would take 19 s.
    spread = requests[-1].at - requests[0].at
    assert spread < 5, f"{len(requests)} requests to 20 URLs of one host took {spread:.2f}s"


async def test_one_url_is_still_held_to_its_rate(sender, producer, receiver: HttpReceiver) -> None:
    count = 8
    deliveries = [a_delivery(receiver.url("/one")) for _ in range(count)]

    await produce_deliveries(producer, deliveries)

    requests = await receiver.wait_for("/one", count, timeout_s=30)
    assert {webhook_id(r) for r in requests} == {d.id for d in deliveries}
    # A burst of RATE, then RATE per second; a lower bound only, with slack.
    expected = (count - RATE) / RATE
    spread = requests[-1].at - requests[0].at
    assert spread >= expected * 0.8, f"{count} requests in {spread:.2f}s at {RATE}/s"


async def test_a_hanging_endpoint_holds_back_no_other(
    sender, producer, receiver: HttpReceiver
) -> None:
    # More deliveries to the silent URL than the sender has slots: waiting for their endpoint,
    # they must hold none (only the PER_URL in flight do).
    # The first PER_URL requests hang past the timeout; the rest would be answered at once.
    hanging = 12
    receiver.scripts["/silent"] = [Reply(200, delay_s=REQUEST_TIMEOUT_S + 2)] * PER_URL
    silent = [a_delivery(receiver.url("/silent")) for _ in range(hanging)]
    healthy = [a_delivery(receiver.url(f"/healthy/{i}")) for i in range(20)]

    await produce_deliveries(producer, silent)
    await receiver.wait_for("/silent", PER_URL, timeout_s=30)
    started = time.monotonic()
    await produce_deliveries(producer, healthy)

    await eventually(
        lambda: sum(len(receiver.on(f"/healthy/{i}")) for i in range(20)) >= len(healthy),
        timeout_s=30,
        what="every delivery to the healthy URLs",
    )
    took = time.monotonic() - started
    # Before the silent URL's first requests time out, and with only PER_URL of them sent.
    assert took < REQUEST_TIMEOUT_S - 1, f"healthy deliveries took {took:.2f}s"
    assert len(receiver.on("/silent")) == PER_URL
