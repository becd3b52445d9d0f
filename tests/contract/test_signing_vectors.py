"""Standard Webhooks signing against golden vectors.

The expected signatures were computed with the `standardwebhooks` package (1.1.0), an
implementation independent of ours, and are committed as literals so a change in either side
shows up here. The first vector is also the one published with the Svix/Standard Webhooks
reference libraries.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_sender.signing import (
    MAX_SIGNATURES,
    active_secrets,
    decode_secret,
    sign,
    signature_header,
    signing_headers,
    signing_keys,
    timestamp_of,
)
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

# (secret, msg id, timestamp, body, signature computed by `standardwebhooks`)
VECTORS = [
    (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ),
    (
        "whsec_aGVyYWxkLWdvbGRlbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg==",
        "0b7c4a53-8a0e-5d5f-9b0c-3b3f0e0d7a11",
        1773331521,
        '{"id":"evt-1","type":"app_deployed"}',
        "v1,sq23BhbSmSPqXqSLjUYlS1ruKOZn35o3wpIKQ+oQydA=",
    ),
    (
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "d-ünïcode",
        0,
        '{"name":"café ☕","emoji":"🚀"}',
        "v1,W2T1QLM4UgRClBFm7W3yagjbEvbXxOWW0+9OF4k5o6s=",
    ),
    (
        "whsec_cm90YXRpb24tbmV3LWtleS0zMi1ieXRlcy1sb25nISE=",
        "msg_rotation",
        1700000000,
        "",
        "v1,B41lEohZHb+mTxutkUiQdymhAWXa5x7Qn+QWqMkBf/Q=",
    ),
    (
        "whsec_cm90YXRpb24tb2xkLWtleS0zMi1ieXRlcy1sb25nISE=",
        "msg_rotation",
        1700000000,
        "",
        "v1,rAiT79qCSN+RHSEW8KC9bjqygJ3eUhWHhqdStMFT8aY=",
    ),
]
NEW, OLD = VECTORS[3][0], VECTORS[4][0]
OTHER = "whsec_" + base64.b64encode(b"a third key, never configured").decode()


@pytest.mark.parametrize(("secret", "msg_id", "timestamp", "body", "expected"), VECTORS)
def test_signature_matches_the_golden_vector(secret, msg_id, timestamp, body, expected):
    assert sign(decode_secret(secret), msg_id, timestamp, body.encode()) == expected


@pytest.mark.parametrize(("secret", "msg_id", "timestamp", "body", "expected"), VECTORS)
def test_signing_headers_match_the_golden_vector(secret, msg_id, timestamp, body, expected):
    now = datetime.fromtimestamp(timestamp, UTC)
    assert signing_headers({"secret": secret}, msg_id, now, body.encode()) == {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": expected,
    }


def test_rotation_gives_one_signature_per_secret_newest_first():
    keys = [decode_secret(NEW), decode_secret(OLD)]
    assert signature_header(keys, "msg_rotation", 1700000000, b"") == (
        "v1,B41lEohZHb+mTxutkUiQdymhAWXa5x7Qn+QWqMkBf/Q= "
        "v1,rAiT79qCSN+RHSEW8KC9bjqygJ3eUhWHhqdStMFT8aY="
    )


@pytest.mark.parametrize(
    "type_data",
    [
        {"secret": NEW, "secrets": [OLD]},
        {"secrets": [NEW, OLD]},
        {"secret": NEW, "secrets": [NEW, OLD, NEW]},  # duplicates are signed once
    ],
    ids=["secret+secrets", "secrets", "duplicates"],
)
def test_both_rotation_shapes_give_the_same_header(type_data):
    now = datetime.fromtimestamp(1700000000, UTC)
    headers = signing_headers(type_data, "msg_rotation", now, b"")
    assert headers["webhook-signature"].split(" ") == [VECTORS[3][4], VECTORS[4][4]]


def test_rotated_pair_verifies_with_either_secret_in_the_reference_library():
    body = b'{"id":"evt-1","type":"app_deployed","text":"d\xc3\xa9ploy\xc3\xa9"}'
    headers = signing_headers({"secret": NEW, "secrets": [OLD]}, "msg_1", datetime.now(UTC), body)
    assert Webhook(NEW).verify(body, headers) == Webhook(OLD).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(body + b" ", headers)


def test_signatures_are_capped_keeping_the_newest():
    secrets = ["whsec_" + base64.b64encode(f"key number {i}".encode()).decode() for i in range(5)]
    assert active_secrets({"secrets": secrets}, datetime.now(UTC)) == secrets[:MAX_SIGNATURES]
    headers = signing_headers({"secrets": secrets}, "m", datetime.now(UTC), b"{}")
    assert len(headers["webhook-signature"].split(" ")) == MAX_SIGNATURES == 3


@pytest.mark.parametrize(
    "type_data", [{}, {"secret": None}, {"secrets": []}, {"secret": None, "secrets": None}]
)
def test_no_secret_means_no_signature_but_id_and_timestamp(type_data):
    now = datetime(2026, 3, 12, 16, 5, 21, 999_000, tzinfo=UTC)
    assert signing_headers(type_data, "d-1", now, b"{}") == {
        "webhook-id": "d-1",
        "webhook-timestamp": "1773331521",
    }


@pytest.mark.parametrize(
    "spelling",
    [
        "whsec_aGVyYWxkLWdvbGRlbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg==",
        "whsec_aGVyYWxkLWdvbGRlbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg",  # unpadded
        "aGVyYWxkLWdvbGRlbi1rZXktMDEyMzQ1Njc4OWFiY2RlZg==",  # no prefix
    ],
)
def test_secret_spellings_decode_to_one_key(spelling):
    assert decode_secret(spelling) == b"herald-golden-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("type_data", "detail"),
    [
        ({"secret": "whsec_not*base64!SECRETPART"}, "not base64"),
        ({"secret": "whsec_"}, "empty"),
        ({"secret": "whsec_a"}, "not base64"),
        ({"secrets": [NEW, "whsec_%%SECRETPART%%"]}, "#2"),
        ({"secret": 42}, "type_data.secret must be a string"),
        ({"secrets": "whsec_SECRETPART"}, "type_data.secrets must be a list"),
        ({"secrets": [NEW, None]}, "type_data.secrets must be a list"),
    ],
)
def test_malformed_secrets_are_permanent_and_never_quoted(type_data, detail):
    with pytest.raises(PermanentDeliveryError) as info:
        signing_keys(type_data, datetime.now(UTC))
    assert info.value.reason is FailureReason.INVALID_PAYLOAD
    assert detail in info.value.detail
    assert "SECRETPART" not in str(info.value)
    assert info.value.__cause__ is None


def test_timestamp_is_the_epoch_second_whatever_the_zone():
    paris = timezone(timedelta(hours=1))
    assert timestamp_of(datetime(2026, 3, 12, 17, 5, 21, 750_000, tzinfo=paris)) == 1773331521
    assert timestamp_of(datetime(2026, 3, 12, 16, 5, 21, tzinfo=UTC)) == 1773331521
    with pytest.raises(ValueError, match="aware"):
        timestamp_of(datetime(2026, 3, 12, 16, 5, 21))  # naive: the point of the test
