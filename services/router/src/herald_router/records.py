"""The records the router writes: one per delivery, built without a model per delivery.

`delivery_records` splices parts encoded once (the event, each notifier's snapshot, the
routing time: `herald_core.delivery_json`) into each record's value, which is byte for byte
what `Delivery.for_(…).to_json()` would write for the same event JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from herald_core import headers as h
from herald_core import tracing
from herald_core.deliveries import Delivery, delivery_id
from herald_core.delivery_json import SnapshotCache, delivery_json
from herald_core.routing import Decision
from herald_core.topics import Channel, deliveries_topic
from herald_kafka.producer import OutgoingRecord


@dataclass(frozen=True, slots=True)
class Routed:
    """One delivery the router wrote, for its metrics and spans."""

    id: str
    notifier_id: str
    channel: Channel
    traceparent: str | None


def passed_on(event_headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The event's headers a delivery carries: CloudEvents attributes and `tracestate`."""
    return [(k, v) for k, v in event_headers if k.startswith("ce_") or k == h.TRACESTATE]


def delivery_records(
    event_id: str,
    event_json: bytes,
    verdicts: Sequence[Decision],
    routed_at: bytes,
    parent: tracing.TraceParent | None,
    event_headers: Sequence[tuple[str, bytes]],
    snapshots: SnapshotCache,
) -> tuple[list[OutgoingRecord], list[Routed]]:
    """`notify.deliveries.<channel>` records, keyed by notifier id (per-endpoint ordering),
    one per delivered verdict: the event's CloudEvents attributes and `tracestate`, the
    delivery's own `traceparent` (a child of the event's, seeded with the delivery id, as
    `herald_core.routing.route` makes it) and id."""
    common = passed_on(event_headers)
    records: list[OutgoingRecord] = []
    routed: list[Routed] = []
    for verdict in verdicts:
        notifier = verdict.notifier
        channel = notifier.channel
        did = delivery_id(event_id, notifier.id)
        trace = None if parent is None else str(tracing.child(parent, did))
        value = delivery_json(
            did,
            channel,
            event_json,
            snapshots.get(notifier),
            verdict.recipients,
            routed_at,
            trace,
        )
        headers = [*common, (h.TRACEPARENT, trace.encode())] if trace else [*common]
        headers.append((h.DELIVERY_ID, did.encode()))
        records.append(
            OutgoingRecord(deliveries_topic(channel), value, notifier.id.encode(), headers)
        )
        routed.append(Routed(did, notifier.id, channel, trace))
    return records, routed


def delivery_record(delivery: Delivery, event_headers: list[tuple[str, bytes]]) -> OutgoingRecord:
    """One `Delivery` model's record, with the same key and headers as `delivery_records`
    (for callers that hold a model: tests, tools)."""
    trace = [(h.TRACEPARENT, delivery.traceparent.encode())] if delivery.traceparent else []
    headers = [*passed_on(event_headers), *trace, (h.DELIVERY_ID, delivery.id.encode())]
    return OutgoingRecord(
        deliveries_topic(delivery.channel),
        delivery.to_json(),
        delivery.notifier.id.encode(),
        headers,
    )
