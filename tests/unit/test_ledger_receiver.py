"""The ledger receiver's pure parts: answer delays, timestamp skew, the HMAC checked apart
from the timestamp's age, and what a request is by its path's kind (webhook or chat)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from herald_core.headers import HERALD_DELIVERY_ID, HERALD_EVENT_ID
from herald_testing.ledger import Arrival
from herald_testing.ledger_receiver import (
    OK,
    Behaviour,
    LedgerReceiver,
    hmac_holds,
    timestamp_skew,
)
from standardwebhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()


def signed(at: datetime, body: bytes = b'{"id":"ev-1"}') -> dict[str, str]:
    signature = Webhook(SECRET).sign("msg-1", at, body.decode())
    return {
        "Webhook-Id": "msg-1",
        "Webhook-Timestamp": str(int(at.timestamp())),
        "Webhook-Signature": f"v1,bm9wZQ== {signature}",
    }


def test_a_behaviour_waits_within_its_delay() -> None:
    assert OK.pause_s() == 0.0
    slow = Behaviour(delay_s=(2.0, 5.0))
    assert all(2.0 <= slow.pause_s() <= 5.0 for _ in range(100))


def test_the_skew_is_the_timestamp_minus_the_receiver_clock() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert timestamp_skew(signed(at), at.timestamp() - 600) == 600
    assert timestamp_skew({"webhook-timestamp": "soon"}, 0.0) is None
    assert timestamp_skew({}, 0.0) is None


def test_the_hmac_holds_whatever_the_time_and_fails_on_any_change() -> None:
    at = datetime(2020, 1, 1, tzinfo=UTC)  # years off: Webhook.verify would refuse it
    body = b'{"id":"ev-1"}'
    headers = signed(at, body)
    assert hmac_holds(SECRET, body, headers)
    assert not hmac_holds(SECRET, body + b" ", headers)
    assert not hmac_holds(SECRET, body, {**headers, "Webhook-Timestamp": "1"})
    other = "whsec_" + base64.b64encode(b"x" * 24).decode()
    assert not hmac_holds(other, body, headers)


HOOK, CHAT = "/t/app/hook", "/t/app/chat"
IDENTITY = {HERALD_DELIVERY_ID: "dl-1", HERALD_EVENT_ID: "ev-1"}


def receiver() -> LedgerReceiver:
    """A receiver told its paths' kinds (not started: `arrival_of` needs no socket)."""
    found = LedgerReceiver()
    found.expect(HOOK, SECRET)
    found.expect_chat(CHAT)
    return found


def test_a_chat_post_is_unsigned_and_named_by_its_headers() -> None:
    lowered = {name.lower(): value for name, value in IDENTITY.items()}
    for headers in (IDENTITY, lowered):
        assert receiver().arrival_of(CHAT, headers, b'{"text": "hi"}', 200, 5.0) == Arrival(
            CHAT, "dl-1", "ev-1", 200, signature_valid=None, at=5.0
        )


def test_a_chat_post_without_the_headers_has_no_ids() -> None:
    arrival = receiver().arrival_of(CHAT, {}, b'{"id": "ev-in-body"}', 200, 5.0)
    assert (arrival.webhook_id, arrival.event_id) == (None, None)


@pytest.mark.parametrize("path", [HOOK, "/t/app/unknown"])
def test_a_webhook_without_its_signature_fails_even_with_the_chat_headers(path: str) -> None:
    body = b'{"id":"ev-1"}'
    arrival = receiver().arrival_of(path, {**IDENTITY, "webhook-id": "dl-1"}, body, 200, 5.0)
    assert arrival.signature_valid is False
    assert (arrival.webhook_id, arrival.event_id) == ("dl-1", "ev-1")


def test_a_signed_webhook_holds() -> None:
    body = b'{"id":"ev-1"}'
    headers = signed(datetime.now(UTC), body)
    assert receiver().arrival_of(HOOK, headers, body, 200, 5.0).signature_valid is True
