"""Handing a delivery straight to its channel's sender: the notifier test and redelivery.

Both skip the router: the API builds the `Delivery` itself and produces it to
`notify.deliveries.<channel>`, keyed by notifier id like the router's, through the API's own
idempotent producer. Retry state travels in headers: `x-attempt` is the number of
attempts made so far, so the sender's attempt is that plus one; `herald-test: 1` marks a test
(one attempt, a result, no retry and no dead letter).
"""

from __future__ import annotations

from aiohttp import web
from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.topics import deliveries_topic
from herald_kafka import AIOKafkaProducer
from herald_kafka.producer import OutgoingRecord, send_all_within

DELIVERY_PRODUCER = web.AppKey("herald_delivery_producer", AIOKafkaProducer)


def delivery_record(delivery: Delivery, *, attempts_so_far: int, test: bool) -> OutgoingRecord:
    """The record that asks the channel's sender for attempt `attempts_so_far + 1`. Pure."""
    headers: h.Headers = [(h.ATTEMPT, str(attempts_so_far).encode())]
    if test:
        headers.append((h.TEST, b"1"))
    if delivery.traceparent:
        headers.append((h.TRACEPARENT, delivery.traceparent.encode()))
    return OutgoingRecord(
        deliveries_topic(delivery.channel),
        delivery.to_json(),
        delivery.notifier.id.encode(),
        headers,
    )


async def queue_delivery(
    producer: AIOKafkaProducer,
    delivery: Delivery,
    *,
    attempts_so_far: int,
    timeout_s: float,
    test: bool = False,
) -> None:
    """Produce the delivery and return once the broker acknowledged it, within `timeout_s`.

    Raises:
        aiokafka.errors.KafkaError: when the broker did not take it, or not in time (the
            request answers 503 and the client tries again: same delivery id).
    """
    record = delivery_record(delivery, attempts_so_far=attempts_so_far, test=test)
    await send_all_within(producer, [record], timeout_s)
