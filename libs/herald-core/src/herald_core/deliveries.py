"""A delivery: one event for one notifier, as the router hands it to a sender.

The delivery id is deterministic, `uuid5(event id, notifier id)`, so a repeated routing of the
same event produces the same id: endpoints see it as the idempotency key (`webhook-id`,
`Message-ID`) and the recorder as a primary key.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from herald_core.envelope import Event
from herald_core.notifiers import NotifierLike
from herald_core.topics import Channel

DELIVERY_NAMESPACE = uuid.UUID("6f0c8a52-41b1-5f8e-9a63-4e6a3c1d2b70")
_NAMESPACE_BYTES = DELIVERY_NAMESPACE.bytes


def delivery_id(event_id: str, notifier_id: str) -> str:
    """`uuid5(event id, notifier id)` as a string. Pure.

    RFC 9562's name-based UUID written out by hand (the router makes one per delivery, and
    `uuid.uuid5` spends most of its time building `UUID` objects): the first 16 bytes of
    SHA-1(namespace + name), with the version (5) and variant (10) bits set. A unit test keeps
    it equal to `uuid.uuid5`.
    """
    digest = hashlib.sha1(
        _NAMESPACE_BYTES + f"{event_id}\x1f{notifier_id}".encode(), usedforsecurity=False
    ).digest()
    hexed = (
        digest[:6]
        + bytes(((digest[6] & 0x0F) | 0x50, digest[7], (digest[8] & 0x3F) | 0x80))
        + digest[9:16]
    ).hex()
    return f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


class NotifierSnapshot(BaseModel):
    """The notifier fields a sender needs, frozen at routing time."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    platform: Channel
    version: int
    type_data: dict[str, Any] = Field(default_factory=dict)


class Recipient(BaseModel):
    """An e-mail (or push) recipient resolved by the router."""

    model_config = ConfigDict(frozen=True)

    address: str
    name: str | None = None
    user_id: str | None = None


class Delivery(BaseModel):
    """What travels on `notify.deliveries.<channel>`, keyed by notifier id."""

    model_config = ConfigDict(frozen=True)

    id: str
    channel: Channel
    event: Event
    notifier: NotifierSnapshot
    recipients: tuple[Recipient, ...] = ()
    routed_at: AwareDatetime
    traceparent: str | None = None

    @classmethod
    def for_(
        cls,
        event: Event,
        notifier: NotifierLike,
        routed_at: datetime,
        *,
        recipients: tuple[Recipient, ...] = (),
        traceparent: str | None = None,
    ) -> Delivery:
        """Build the delivery of `event` to `notifier`. Pure."""
        return cls(
            id=delivery_id(event.id, notifier.id),
            channel=notifier.channel,
            event=event,
            notifier=NotifierSnapshot(
                id=notifier.id,
                name=notifier.name,
                platform=notifier.platform,
                version=notifier.version,
                type_data=notifier.type_data,
            ),
            recipients=recipients,
            routed_at=routed_at,
            traceparent=traceparent,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD_LETTERED = "dead_lettered"


class DeliveryResult(BaseModel):
    """One attempt's outcome, on `notify.delivery-results` keyed by delivery id.

    `app_id` and `owner_id` (the event's) let the recorder file the attempt under its app;
    `response_excerpt` is the start of the endpoint's answer, when the channel read one;
    `delivery` is the delivery itself, which the recorder keeps so that the API can redeliver it.
    All four are optional: results written before they existed still parse.
    """

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    event_id: str
    event_type: str
    app_id: str | None = None
    owner_id: str | None = None
    notifier_id: str
    channel: Channel
    attempt: int = 1
    outcome: AttemptOutcome
    reason: str | None = None
    detail: str | None = None
    status_code: int | None = None
    duration_ms: float
    at: AwareDatetime
    response_excerpt: str | None = None
    delivery: Delivery | None = None
    test: bool = False
    """A notifier test's attempt (`herald-test` header): endpoint health does not count it."""

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
