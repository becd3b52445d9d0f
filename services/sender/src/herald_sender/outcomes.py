"""What the sender writes after an attempt: a result, and for a failure either the record on
its next retry tier's topic or a dead letter on the channel DLQ (`herald_core.retry`). Pure.

Retry state travels in headers: incoming `x-` headers are dropped and the sender's
own are written again, so a record never carries two versions of its state.
"""

from __future__ import annotations

from datetime import datetime

from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.errors import DeliveryError
from herald_core.retry import RetryState, epoch_ms, recipients_done_value
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
    test: bool = False,
) -> OutgoingRecord:
    """The `notify.delivery-results` record of one attempt, keyed by delivery id.

    `status_code` defaults to the error's (the receiver answered, but not with a success).
    """
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
        status_code=_status_code(status_code, error),
        duration_ms=round(duration_ms, 3),
        at=at,
        response_excerpt=response_excerpt[:RESPONSE_EXCERPT_MAX] if response_excerpt else None,
        delivery=delivery,
        test=test,
    )
    return OutgoingRecord(DELIVERY_RESULTS, result.to_json(), delivery.id.encode())


def _status_code(given: int | None, error: DeliveryError | None) -> int | None:
    if given is not None or error is None:
        return given
    return error.status_code


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
    retries_from: int = 0,
    first_failed_at: str | None = None,
    recipients_done: frozenset[int] = frozenset(),
) -> OutgoingRecord:
    """The channel DLQ record: the delivery as received, why it failed, where it came from.

    `source` is the record's place on the deliveries topic (`RetryState.source`), also when it
    was dead-lettered from a retry tier; `recipients_done` the recipients already delivered to.
    """
    topic, partition, offset = source
    headers = [
        *_passed_on(original),
        (h.ATTEMPT, str(attempt).encode()),
        (h.LAST_ERROR, h.text_value(f"{reason}: {detail}")),
        (h.DLQ_REASON, reason.encode()),
        (h.ORIGINAL_TOPIC, topic.encode()),
        (h.ORIGINAL_PARTITION, str(partition).encode()),
        (h.ORIGINAL_OFFSET, str(offset).encode()),
        *([(h.FIRST_FAILED_AT, first_failed_at.encode())] if first_failed_at else []),
        *_progress(recipients_done),
        *_restarted(retries_from),
    ]
    return OutgoingRecord(delivery_dlq_topic(channel), value, key, headers)


def retry_record(
    value: bytes | None,
    key: bytes | None,
    original: list[tuple[str, bytes]],
    *,
    topic: str,
    attempt: int,
    due_at: datetime,
    state: RetryState,
    failed_at: datetime,
    last_error: str,
    recipients_done: frozenset[int] = frozenset(),
) -> OutgoingRecord:
    """The delivery as received, on the retry tier `topic`, after failed attempt `attempt`.

    `x-due-at` is in epoch milliseconds (what the delayed consumer compares with its clock);
    `x-first-failed-at` is RFC 3339, kept from `state` once set; `x-recipients-done` lists
    `recipients_done`, the recipients that the retry must not send to again.
    """
    source_topic, partition, offset = state.source
    headers = [
        *_passed_on(original),
        (h.ATTEMPT, str(attempt).encode()),
        (h.DUE_AT, str(epoch_ms(due_at)).encode()),
        (h.FIRST_FAILED_AT, (state.first_failed_at or failed_at.isoformat()).encode()),
        (h.LAST_ERROR, h.text_value(last_error)),
        (h.ORIGINAL_TOPIC, source_topic.encode()),
        (h.ORIGINAL_PARTITION, str(partition).encode()),
        (h.ORIGINAL_OFFSET, str(offset).encode()),
        *_progress(recipients_done),
        *_restarted(state.retries_from),
    ]
    return OutgoingRecord(topic, value, key, headers)


def _progress(recipients_done: frozenset[int]) -> list[tuple[str, bytes]]:
    return [(h.RECIPIENTS_DONE, recipients_done_value(recipients_done))] if recipients_done else []


def _restarted(retries_from: int) -> list[tuple[str, bytes]]:
    return [(h.RETRIES_FROM, str(retries_from).encode())] if retries_from else []


def _passed_on(original: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Incoming headers that are not Herald's retry state, then the delivery id."""
    delivery_id = dict(original).get(h.DELIVERY_ID)
    return [
        *[(k, v) for k, v in original if not k.startswith("x-")],
        *([(h.DELIVERY_ID, delivery_id)] if delivery_id else []),
    ]
