"""Convox's webhook format and `Convox-Signature` (herald_sender.convox), checked against an
independent verifier written from docs.convox.com's receiver description."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from herald_core.deliveries import Delivery
from herald_core.envelope import Event, EventUser
from herald_core.errors import PermanentDeliveryError
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_sender.channels.webhook import render_webhook
from herald_sender.convox import (
    HEADER,
    MAX_CONVOX_KEYS,
    convox_body,
    convox_headers,
    convox_keys,
    convox_signature,
)

NOW = datetime(2026, 4, 27, 10, 30, 5, tzinfo=UTC)
T = 1777285805  # NOW as seconds since the epoch


def delivery(notifier_data: dict | None = None, **event: object) -> Delivery:
    fields = {
        "id": "ev-1",
        "type": "release:promote",
        "created_at": datetime(2026, 4, 27, 10, 30, tzinfo=UTC),
        "source": "convox-rack",
        "app_id": "app-1",
        "app_name": "myapp",
        "owner_id": "org-1",
        "rack": "production",
        "type_data": {"status": "success", "release_id": "R123", "actor": "alice@example.com"},
        **event,
    }
    notifier = Notifier(
        id="no-1",
        scope=Scope.APP,
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": "https://hooks.example.com/x", "format": "convox"}
        | (notifier_data or {}),
    )
    return Delivery.for_(Event(**fields), notifier, NOW)


def verify(header: str, body: bytes, key: str, now: int, tolerance: int = 300) -> bool:
    """Parse `t=…,v1=…[,v1=…]`, recompute HMAC-SHA256(key, f"{t}.{body}") hex, compare."""
    pairs = [segment.split("=", 1) for segment in header.split(",")]
    stamps = [int(v) for k, v in pairs if k == "t"]
    if len(stamps) != 1 or abs(now - stamps[0]) > tolerance:
        return False
    digest = hmac.new(key.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(digest, v) for k, v in pairs if k == "v1")


def test_the_body_has_convox_s_shape_with_a_stable_action() -> None:
    body = convox_body(delivery())
    assert body == {
        "action": "release:promote",
        "status": "success",
        "timestamp": "2026-04-27T10:30:00Z",
        "data": {
            "rack": "production",
            "app": "myapp",
            "id": "R123",
            "actor": "alice@example.com",
            "release_id": "R123",
            "app_id": "app-1",
            "event_id": "ev-1",
        },
    }


@pytest.mark.parametrize(
    ("type_data", "user", "status", "actor"),
    [
        ({}, None, "success", "system"),
        ({"status": "error", "message": "boom"}, None, "error", "system"),
        ({}, EventUser(email="bob@example.com"), "success", "bob@example.com"),
        ({"actor": "ci"}, EventUser(username="bob"), "success", "ci"),
    ],
)
def test_status_and_actor_defaults(type_data, user, status, actor) -> None:
    body = convox_body(delivery(type_data=type_data, user=user))  # the event's type_data
    assert (body["status"], body["data"]["actor"]) == (status, actor)
    assert body["data"].get("message") == type_data.get("message")


def test_the_signature_matches_the_documented_scheme() -> None:
    body = b'{"action":"app:budget:reset"}'
    header = convox_signature([b"key-one", b"key-two"], T, body)
    assert header.startswith(f"t={T},v1=")
    assert header.count("v1=") == 2
    assert verify(header, body, "key-one", T)
    assert verify(header, body, "key-two", T)
    assert not verify(header, body, "key-three", T)
    assert not verify(header, body + b" ", "key-one", T)
    assert not verify(header, body, "key-one", T + 301)
    expected = hmac.new(b"key-one", f"{T}.".encode() + body, hashlib.sha256).hexdigest()
    assert header.split(",")[1] == f"v1={expected}"


def test_render_webhook_signs_the_exact_bytes_it_sends_with_every_key() -> None:
    keys = {
        "convox_signing_key": "current-key-0123456789",
        "convox_signing_keys": ["old-key-0123456789"],
    }
    signed = delivery(keys)
    request = render_webhook(signed, NOW)
    assert json.loads(request.body)["action"] == "release:promote"
    header = request.headers[HEADER]
    assert header.startswith(f"t={T},")
    assert verify(header, request.body, "current-key-0123456789", T)
    assert verify(header, request.body, "old-key-0123456789", T)
    assert request.headers["webhook-id"] == signed.id  # Standard Webhooks' headers still come


def test_no_key_no_signature_and_other_formats_never_get_one() -> None:
    assert HEADER not in render_webhook(delivery(), NOW).headers
    raw = delivery({"format": "raw", "convox_signing_key": "current-key-0123456789"})
    assert HEADER not in render_webhook(raw, NOW).headers


def test_a_custom_header_cannot_forge_the_signature() -> None:
    d = delivery({"convox_signing_key": "k" * 20, "headers": {"convox-signature": "t=1,v1=00"}})
    headers = render_webhook(d, NOW).headers
    assert "convox-signature" not in headers
    assert headers[HEADER].startswith(f"t={T},")


def test_keys_are_deduplicated_capped_and_checked() -> None:
    many = [f"key-{i}-0123456789" for i in range(6)]
    keys = convox_keys({"convox_signing_key": many[0], "convox_signing_keys": many})
    assert keys == [k.encode() for k in many[:MAX_CONVOX_KEYS]]
    assert convox_headers({}, NOW, b"{}") == {}
    for bad in (
        {"convox_signing_key": 7},
        {"convox_signing_keys": "x"},
        {"convox_signing_key": ""},
    ):
        with pytest.raises(PermanentDeliveryError) as caught:
            convox_keys(bad)
        assert "0123456789" not in str(caught.value)
