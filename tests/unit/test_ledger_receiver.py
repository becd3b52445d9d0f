"""The ledger receiver's pure parts: answer delays, timestamp skew, the HMAC checked apart
from the timestamp's age."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from herald_testing.ledger_receiver import OK, Behaviour, hmac_holds, timestamp_skew
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
