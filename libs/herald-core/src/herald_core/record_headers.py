"""The Kafka record headers Herald writes, as models: one per kind of record (the contract).

Header names are `herald_core.headers`'; every value is UTF-8 text on the wire. These models
are not used to read headers (services read single headers with `herald_core.headers.header`):
they say which headers each kind of record carries, so that `herald_core.schemas` generates
their JSON Schemas and the AsyncAPI document's message headers from them. `decoded` turns a
record's header list into the object these schemas describe (tests validate real records).

Readers must tolerate headers they do not know: a record passes on some of the headers it was
made from (the CloudEvents attributes of an event, the original headers of a dead letter).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from herald_core import headers as h
from herald_core.errors import FailureReason

_COUNT = r"^[0-9]+$"
_INDICES = r"^[0-9]+(,[0-9]+)*$"


def decoded(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    """A record's headers as one object: name → value decoded as UTF-8 (the last one wins, as
    `herald_core.headers.header` reads them). Pure."""
    return {name: value.decode("utf-8", "replace") for name, value in headers}


class _Headers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)


class EventHeaders(_Headers):
    """A `notify.events` record: the CloudEvents binary-mode attributes of the event (Kafka
    protocol binding, `ce_` prefix) and its W3C trace context."""

    ce_id: str = Field(description="The event id (`id` of the value)")
    ce_type: str = Field(description="The event type id (`type` of the value)")
    ce_source: str = Field(pattern=r"^/herald/", description="`/herald/<source of the value>`")
    ce_time: str = Field(description="The event's `created_at`, RFC 3339")
    ce_specversion: str = Field(pattern=r"^1\.0$", description="CloudEvents 1.0")
    traceparent: str | None = Field(default=None, description="W3C trace context")
    tracestate: str | None = Field(default=None, description="W3C vendor trace state")


class DeliveryHeaders(_Headers):
    """A `notify.deliveries.<channel>` record. The router passes on the event's CloudEvents
    attributes and adds the delivery id; the API's redeliveries and notifier tests carry the
    attempts made so far and, for a test, `herald-test`."""

    ce_id: str | None = None
    ce_type: str | None = None
    ce_source: str | None = None
    ce_time: str | None = None
    ce_specversion: str | None = None
    traceparent: str | None = Field(default=None, description="W3C trace context")
    tracestate: str | None = Field(default=None, description="W3C vendor trace state")
    delivery_id: str | None = Field(
        default=None, alias=h.DELIVERY_ID, description="The delivery's id (`id` of the value)"
    )
    attempt: str | None = Field(
        default=None, alias=h.ATTEMPT, pattern=_COUNT, description="Attempts already made"
    )
    test: str | None = Field(
        default=None, alias=h.TEST, description="A notifier test: one attempt, never retried"
    )


class RetryHeaders(DeliveryHeaders):
    """A `notify.deliveries.<channel>.retry.<tier>` record: the delivery as received, with the
    sender's retry state (`herald_core.retry`)."""

    attempt: str = Field(alias=h.ATTEMPT, pattern=_COUNT, description="The attempt that failed")
    due_at: str = Field(
        alias=h.DUE_AT, pattern=_COUNT, description="When to try again, epoch milliseconds"
    )
    first_failed_at: str = Field(
        alias=h.FIRST_FAILED_AT, description="The first failure of the delivery, RFC 3339"
    )
    last_error: str = Field(alias=h.LAST_ERROR, max_length=1000, description="Why it failed")
    original_topic: str = Field(alias=h.ORIGINAL_TOPIC, description="The deliveries topic")
    original_partition: str = Field(alias=h.ORIGINAL_PARTITION, pattern=_COUNT)
    original_offset: str = Field(alias=h.ORIGINAL_OFFSET, pattern=_COUNT)
    recipients_done: str | None = Field(
        default=None,
        alias=h.RECIPIENTS_DONE,
        pattern=_INDICES,
        description="Recipients already delivered, indices into `recipients`",
    )
    retries_from: str | None = Field(
        default=None,
        alias=h.RETRIES_FROM,
        pattern=_COUNT,
        description="A replayed delivery: the attempt after which its retry schedule restarts",
    )


class DeliveryDeadLetterHeaders(DeliveryHeaders):
    """A `notify.deliveries.<channel>.dlq` record: the delivery as received, why it failed for
    good and where it came from."""

    attempt: str = Field(alias=h.ATTEMPT, pattern=_COUNT, description="The last attempt")
    last_error: str = Field(alias=h.LAST_ERROR, max_length=1000, description="`reason: detail`")
    dlq_reason: FailureReason = Field(alias=h.DLQ_REASON)
    original_topic: str = Field(alias=h.ORIGINAL_TOPIC, description="The deliveries topic")
    original_partition: str = Field(alias=h.ORIGINAL_PARTITION, pattern=_COUNT)
    original_offset: str = Field(alias=h.ORIGINAL_OFFSET, pattern=_COUNT)
    first_failed_at: str | None = Field(
        default=None, alias=h.FIRST_FAILED_AT, description="The first failure, RFC 3339"
    )
    recipients_done: str | None = Field(default=None, alias=h.RECIPIENTS_DONE, pattern=_INDICES)
    retries_from: str | None = Field(default=None, alias=h.RETRIES_FROM, pattern=_COUNT)


class EventDeadLetterHeaders(_Headers):
    """A `notify.events.dlq` record: the bytes as received (ingest) or the event (router),
    their original headers, and why they were refused."""

    dlq_reason: FailureReason = Field(alias=h.DLQ_REASON)
    dlq_detail: str = Field(alias=h.DLQ_DETAIL, max_length=1000)
    dlq_source: str = Field(
        alias=h.DLQ_SOURCE, description="Who refused it: `router`, or the ingest source"
    )
    dlq_truncated: str | None = Field(
        default=None,
        alias=h.DLQ_TRUNCATED,
        pattern=_COUNT,
        description="The value was cut to fit the broker: its size in bytes",
    )
