"""The sender's pure parts: the webhook request, the result record, the channel dead letter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_core import headers as h
from herald_core.deliveries import AttemptOutcome, Delivery, DeliveryResult
from herald_core.errors import (
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from herald_core.headers import header
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Selection
from herald_core.topics import DELIVERY_RESULTS, Channel
from herald_sender.channels.webhook import render_webhook
from herald_sender.outcomes import dead_letter_record, result_record

ROUTED_AT = datetime(2026, 3, 12, 16, 5, 20, tzinfo=UTC)
ATTEMPTED_AT = datetime(2026, 3, 12, 16, 5, 21, 500_000, tzinfo=UTC)
SENT_AT = datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)
URL = "https://hooks.example.com/herald/T0001?token=s3cr3t"


def delivery(type_data=None, platform=Channel.WEBHOOK):
    event = parse_event(
        {
            "id": "evt-1",
            "type": "app_deployed",
            "created_at": "2026-03-12T17:05:14+01:00",
            "source": "deployer",
            "app_id": "app-1",
            "owner_id": "org-1",
            "user": {"id": "u-1", "username": "alice", "email": "alice@example.com"},
            "type_data": {"status": "build-error", "git_ref": "0a1b2c", "duration": 40},
        }
    )
    notifier = Notifier(
        id="n-1",
        name="ops",
        app_id="app-1",
        platform=platform,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": URL} if type_data is None else type_data,
    )
    return Delivery.for_(event, notifier, ROUTED_AT)


# --- render_webhook -------------------------------------------------------------------------


def test_render_webhook_posts_the_event_to_the_notifier_url():
    routed = delivery()
    request = render_webhook(routed, SENT_AT)
    assert request.url == URL
    assert request.body == routed.event.to_json()
    assert request.headers["webhook-id"] == routed.id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-herald-event-type"] == "app_deployed"


def test_render_webhook_body_is_the_raw_envelope_byte_for_byte():
    """The `raw` format is the envelope exactly as on notify.events and the live stream."""
    routed = delivery()
    body = render_webhook(routed, SENT_AT).body
    assert body == routed.event.to_json()
    assert parse_event(body) == routed.event


def test_render_webhook_is_pure():
    routed = delivery()
    assert render_webhook(routed, SENT_AT) == render_webhook(routed, SENT_AT)


def test_render_webhook_id_is_stable_across_routings():
    routed_anew = (delivery() for _ in range(3))
    ids = {render_webhook(routed, SENT_AT).headers["webhook-id"] for routed in routed_anew}
    assert ids == {delivery().id}


@pytest.mark.parametrize(
    "type_data",
    [
        {},
        {"webhook_url": None},
        {"webhook_url": ""},
        {"webhook_url": 42},
        {"webhook_url": [URL]},
        {"url": URL},
    ],
    ids=["absent", "null", "empty", "number", "list", "other-key"],
)
def test_render_webhook_without_url_is_permanent(type_data):
    with pytest.raises(PermanentDeliveryError) as caught:
        render_webhook(delivery(type_data=type_data), SENT_AT)
    assert caught.value.retryable is False
    assert caught.value.reason is FailureReason.INVALID_PAYLOAD
    assert "webhook_url" in caught.value.detail


# --- result_record --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "error", "status_code", "reason", "detail"),
    [
        (AttemptOutcome.DELIVERED, None, 200, None, None),
        (AttemptOutcome.DELIVERED, None, None, None, None),
        (
            AttemptOutcome.RETRY_SCHEDULED,
            RetryableDeliveryError(FailureReason.SERVER_ERROR, "HTTP 503", retry_after=30),
            503,
            "server_error",
            "HTTP 503",
        ),
        (
            AttemptOutcome.DEAD_LETTERED,
            PermanentDeliveryError(FailureReason.CLIENT_ERROR, "HTTP 404"),
            404,
            "client_error",
            "HTTP 404",
        ),
        (
            AttemptOutcome.DEAD_LETTERED,
            RetryableDeliveryError(FailureReason.TIMEOUT, "no answer in 10 s"),
            None,
            "timeout",
            "no answer in 10 s",
        ),
    ],
    ids=["delivered", "delivered-no-status", "retry-5xx", "dead-4xx", "dead-timeout"],
)
def test_result_record(outcome, error, status_code, reason, detail):
    routed = delivery()
    record = result_record(
        routed,
        outcome=outcome,
        at=ATTEMPTED_AT,
        duration_ms=123.456789,
        attempt=2,
        status_code=status_code,
        error=error,
    )
    assert record.topic == DELIVERY_RESULTS
    assert record.key == routed.id.encode()
    assert record.headers == []
    result = DeliveryResult.model_validate_json(record.value)
    assert result == DeliveryResult(
        delivery_id=routed.id,
        event_id="evt-1",
        event_type="app_deployed",
        app_id="app-1",
        owner_id="org-1",
        notifier_id="n-1",
        channel=Channel.WEBHOOK,
        attempt=2,
        outcome=outcome,
        reason=reason,
        detail=detail,
        status_code=status_code,
        duration_ms=123.457,
        at=ATTEMPTED_AT,
        delivery=routed,
    )


def test_result_record_defaults_to_the_first_attempt():
    record = result_record(
        delivery(), outcome=AttemptOutcome.DELIVERED, at=ATTEMPTED_AT, duration_ms=1.0
    )
    assert DeliveryResult.model_validate_json(record.value).attempt == 1


def test_result_record_keeps_a_capped_response_excerpt():
    record = result_record(
        delivery(),
        outcome=AttemptOutcome.DELIVERED,
        at=ATTEMPTED_AT,
        duration_ms=1.0,
        status_code=200,
        response_excerpt="ok" + "z" * 5000,
    )
    excerpt = DeliveryResult.model_validate_json(record.value).response_excerpt
    assert excerpt is not None
    assert (excerpt[:2], len(excerpt)) == ("ok", 1000)


def test_result_record_caps_the_detail():
    error = PermanentDeliveryError(FailureReason.CLIENT_ERROR, "x" * 5000)
    record = result_record(
        delivery(),
        outcome=AttemptOutcome.DEAD_LETTERED,
        at=ATTEMPTED_AT,
        duration_ms=1.0,
        error=error,
    )
    assert len(DeliveryResult.model_validate_json(record.value).detail) == 1000


# --- dead_letter_record ---------------------------------------------------------------------

DELIVERY_ID = b"0b7c4a53-8a0e-5d5f-9b0c-3b3f0e0d7a11"
INCOMING = [
    (h.CE_ID, b"evt-1"),
    (h.ATTEMPT, b"3"),
    (h.DELIVERY_ID, DELIVERY_ID),
    (h.TRACEPARENT, b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"),
    (h.DUE_AT, b"2026-03-12T16:06:00+00:00"),
    (h.LAST_ERROR, b"server_error: HTTP 502"),
    (h.DLQ_REASON, b"stale"),
    ("x-custom", b"anything"),
    (h.CE_TYPE, b"app_deployed"),
]


def dead_letter(original=INCOMING, **changes):
    arguments = {
        "channel": "webhook",
        "reason": "client_error",
        "detail": "HTTP 410 Gone",
        "attempt": 4,
        "source": ("notify.deliveries.webhook.retry.1m", 2, 1234),
        **changes,
    }
    return dead_letter_record(b'{"id": "d"}', b"n-1", original, **arguments)


def test_dead_letter_record_keeps_value_and_key_on_the_channel_dlq():
    record = dead_letter()
    assert record.topic == "notify.deliveries.webhook.dlq"
    assert record.value == b'{"id": "d"}'
    assert record.key == b"n-1"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (h.ATTEMPT, "4"),
        (h.LAST_ERROR, "client_error: HTTP 410 Gone"),
        (h.DLQ_REASON, "client_error"),
        (h.ORIGINAL_TOPIC, "notify.deliveries.webhook.retry.1m"),
        (h.ORIGINAL_PARTITION, "2"),
        (h.ORIGINAL_OFFSET, "1234"),
        (h.DELIVERY_ID, DELIVERY_ID.decode()),
        (h.CE_ID, "evt-1"),
        (h.CE_TYPE, "app_deployed"),
        (h.TRACEPARENT, "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
    ],
    ids=lambda v: v if v.startswith(("x-", "ce_", "traceparent")) else None,
)
def test_dead_letter_record_header(key, value):
    record = dead_letter()
    assert [k for k, _ in record.headers].count(key) == 1
    assert header(record.headers, key) == value


@pytest.mark.parametrize("dropped", [h.DUE_AT, "x-custom"])
def test_dead_letter_record_drops_incoming_x_headers(dropped):
    assert dropped not in [k for k, _ in dead_letter().headers]


def test_dead_letter_record_header_order():
    """Incoming non-`x-` headers first, in order, then the delivery id and the DLQ facts."""
    assert [k for k, _ in dead_letter().headers] == [
        h.CE_ID,
        h.TRACEPARENT,
        h.CE_TYPE,
        h.DELIVERY_ID,
        h.ATTEMPT,
        h.LAST_ERROR,
        h.DLQ_REASON,
        h.ORIGINAL_TOPIC,
        h.ORIGINAL_PARTITION,
        h.ORIGINAL_OFFSET,
    ]


@pytest.mark.parametrize(
    ("channel", "topic"),
    [
        ("webhook", "notify.deliveries.webhook.dlq"),
        (Channel.EMAIL, "notify.deliveries.email.dlq"),
        ("slack", "notify.deliveries.slack.dlq"),
    ],
    ids=["webhook", "email-enum", "slack"],
)
def test_dead_letter_record_topic_follows_the_channel(channel, topic):
    assert dead_letter(channel=channel).topic == topic


def test_dead_letter_record_caps_the_last_error():
    record = dead_letter(detail="y" * 5000)
    assert len(dict(record.headers)[h.LAST_ERROR]) == 1000


def test_dead_letter_record_keeps_a_null_value():
    record = dead_letter_record(
        None,
        None,
        [(h.DELIVERY_ID, DELIVERY_ID)],
        channel="webhook",
        reason="invalid_payload",
        detail="not a delivery",
        attempt=1,
        source=("notify.deliveries.webhook", 0, 7),
    )
    assert record.value is None
    assert record.key is None
    assert header(record.headers, h.DELIVERY_ID) == DELIVERY_ID.decode()


def test_a_failed_attempts_result_carries_the_receivers_status():
    from herald_sender.classify import classify_http

    error = classify_http(404, {}, now=ATTEMPTED_AT)
    assert error is not None
    record = result_record(
        delivery(),
        outcome=AttemptOutcome.DEAD_LETTERED,
        at=ATTEMPTED_AT,
        duration_ms=1.0,
        error=error,
    )
    result = DeliveryResult.model_validate_json(record.value)
    assert (result.status_code, result.reason, result.test) == (404, "client_error", False)


def test_a_notifier_tests_result_says_so():
    record = result_record(
        delivery(), outcome=AttemptOutcome.DELIVERED, at=ATTEMPTED_AT, duration_ms=1.0, test=True
    )
    assert DeliveryResult.model_validate_json(record.value).test is True
