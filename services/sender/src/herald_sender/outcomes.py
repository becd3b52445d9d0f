"""What the sender writes after an attempt: a result, and for failures a dead letter. Pure.

Until retry tiers land (issue 6) every failed attempt is dead-lettered with its reason; the
record carries the attempt headers retries will use.
"""

from __future__ import annotations

from datetime import datetime

from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.errors import DeliveryError
from herald_core.topics import DELIVERY_RESULTS, delivery_dlq_topic
from herald_kafka.producer import OutgoingRecord

RESPONSE_EXCERPT_MAX = 1000  # characters of the endpoint's answer kept with the attempt


def result_record(
    delivery: Delivery,
    *,
    outcome: AttemptOutcome,
    at: datetime,
    duration_ms: float,
    attempt: int = 1,
    status_code: int | None = None,
    error: DeliveryError | None = None,
    response_excerpt: str | None = None,
) -> OutgoingRecord:
    """The `notify.delivery-results` record of one attempt, keyed by delivery id."""
    result = DeliveryResult(
        delivery_id=delivery.id,
        event_id=delivery.event.id,
        event_type=delivery.event.type,
        app_id=delivery.event.app_id,
        owner_id=delivery.event.owner_id,
        notifier_id=delivery.notifier.id,
        channel=delivery.channel,
        attempt=attempt,
        outcome=outcome,
        reason=error.reason.value if error else None,
        detail=error.detail[:1000] if error else None,
        status_code=status_code,
        duration_ms=round(duration_ms, 3),
        at=at,
        response_excerpt=response_excerpt[:RESPONSE_EXCERPT_MAX] if response_excerpt else None,
    )
    return OutgoingRecord(DELIVERY_RESULTS, result.to_json(), delivery.id.encode())


def dead_letter_record(
    value: bytes | None,
    key: bytes | None,
    original: list[tuple[str, bytes]],
    *,
    channel: str,
    reason: str,
    detail: str,
    attempt: int,
    source: tuple[str, int, int],
) -> OutgoingRecord:
    """The channel DLQ record: the delivery as received, why it failed, where it came from."""
    topic, partition, offset = source
    delivery_id = dict(original).get(h.DELIVERY_ID)
    headers = [
        *[(k, v) for k, v in original if not k.startswith("x-")],
        *([(h.DELIVERY_ID, delivery_id)] if delivery_id else []),
        (h.ATTEMPT, str(attempt).encode()),
        (h.LAST_ERROR, h.text_value(f"{reason}: {detail}")),
        (h.DLQ_REASON, reason.encode()),
        (h.ORIGINAL_TOPIC, topic.encode()),
        (h.ORIGINAL_PARTITION, str(partition).encode()),
        (h.ORIGINAL_OFFSET, str(offset).encode()),
    ]
    return OutgoingRecord(delivery_dlq_topic(channel), value, key, headers)
