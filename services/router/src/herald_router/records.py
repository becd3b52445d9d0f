"""The records the router writes."""

from __future__ import annotations

from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.topics import deliveries_topic
from herald_kafka.producer import OutgoingRecord


def delivery_record(delivery: Delivery, event_headers: list[tuple[str, bytes]]) -> OutgoingRecord:
    """`notify.deliveries.<channel>`, keyed by notifier id (per-endpoint ordering)."""
    passed_on = [(k, v) for k, v in event_headers if k.startswith("ce_") or k == h.TRACEPARENT]
    headers = [*passed_on, (h.DELIVERY_ID, delivery.id.encode())]
    return OutgoingRecord(
        deliveries_topic(delivery.channel),
        delivery.to_json(),
        delivery.notifier.id.encode(),
        headers,
    )
