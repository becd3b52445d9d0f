"""Delivery records written without a model per delivery: the router's hot path.

`Delivery.to_json()` builds and serialises a pydantic model for every delivery, the event
included, so a fan-out of 100 serialised the same event 100 times. Here the parts that repeat
are encoded once and spliced:

- the event, once per event (or the `notify.events` record's value as it arrived, which the
  router has just validated: a delivery's reader parses it with the same `Event` model);
- each notifier's snapshot, once per notifier version (`SnapshotCache`);
- the routing time, once per event.

For the same inputs the bytes equal `Delivery.for_(…).to_json()` (a unit test compares them
over the benchmark corpus), so readers cannot tell the two apart. Pure, except the cache.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, TypeAdapter

from herald_core.deliveries import NotifierSnapshot, Recipient
from herald_core.notifiers import NotifierLike
from herald_core.topics import Channel

_TIME = TypeAdapter(AwareDatetime)
_RECIPIENTS = TypeAdapter(tuple[Recipient, ...])


def time_json(at: datetime) -> bytes:
    """`at` as a delivery's `routed_at` is written (a JSON string, quotes included)."""
    return _TIME.dump_json(at)


def snapshot_json(notifier: NotifierLike) -> bytes:
    """The notifier's `NotifierSnapshot`, as a delivery's `notifier` field is written."""
    return (
        NotifierSnapshot(
            id=notifier.id,
            name=notifier.name,
            platform=notifier.platform,
            version=notifier.version,
            type_data=notifier.type_data,
        )
        .model_dump_json()
        .encode()
    )


def recipients_json(recipients: tuple[Recipient, ...]) -> bytes:
    return _RECIPIENTS.dump_json(recipients) if recipients else b"[]"


def delivery_json(
    delivery_id: str,
    channel: Channel,
    event_json: bytes,
    snapshot: bytes,
    recipients: tuple[Recipient, ...],
    routed_at: bytes,
    traceparent: str | None,
) -> bytes:
    """One delivery record's value, from parts encoded ahead (`time_json`, `snapshot_json`).

    `delivery_id`, the channel and a `traceparent` are made of characters JSON never escapes
    (hex, dashes, lower-case words); each is checked by the unit test's comparison."""
    trace = b"null" if traceparent is None else b'"' + traceparent.encode() + b'"'
    return b"".join(
        (
            b'{"id":"',
            delivery_id.encode(),
            b'","channel":"',
            channel.value.encode(),
            b'","event":',
            event_json,
            b',"notifier":',
            snapshot,
            b',"recipients":',
            recipients_json(recipients),
            b',"routed_at":',
            routed_at,
            b',"traceparent":',
            trace,
            b"}",
        )
    )


class SnapshotCache:
    """Notifier → its encoded snapshot, encoded on first use and kept while the notifier object
    is the one the view holds (a changed notifier is a new object: encoded again)."""

    def __init__(self) -> None:
        self._encoded: dict[str, tuple[NotifierLike, bytes]] = {}

    def get(self, notifier: NotifierLike) -> bytes:
        held = self._encoded.get(notifier.id)
        if held is not None and held[0] is notifier:
            return held[1]
        encoded = snapshot_json(notifier)
        self._encoded[notifier.id] = (notifier, encoded)
        return encoded

    def forget(self, notifier_id: str) -> None:
        self._encoded.pop(notifier_id, None)

    def __len__(self) -> int:
        return len(self._encoded)
