"""The records the router writes."""

from __future__ import annotations

from herald_core import headers as h
from herald_core.deliveries import Delivery
from herald_core.topics import deliveries_topic
from herald_kafka.producer import OutgoingRecord


def delivery_record(delivery: Delivery, event_headers: list[tuple[str, bytes]]) -> OutgoingRecord:
    """`notify.deliveries.<channel>`, keyed by notifier id (per-endpoint ordering): the event's
    CloudEvents attributes and `tracestate`, the delivery's own `traceparent` (a child of the
    event's, `herald_core.routing.route`) and id."""
    passed_on = [(k, v) for k, v in event_headers if k.startswith("ce_") or k == h.TRACESTATE]
    trace = [(h.TRACEPARENT, delivery.traceparent.encode())] if delivery.traceparent else []
    headers = [*passed_on, *trace, (h.DELIVERY_ID, delivery.id.encode())]
    return OutgoingRecord(
        deliveries_topic(delivery.channel),
        delivery.to_json(),
        delivery.notifier.id.encode(),
        headers,
    )
