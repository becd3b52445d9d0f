"""Convox's webhook format and signature (docs.convox.com "Webhooks", "Webhook Signing").

The body is what a Convox rack posts to an app's webhook URL, with the stable `action` field
receivers switch on:

    {"action": "release:promote", "status": "success", "timestamp": "2026-04-27T10:30:00Z",
     "data": {"rack": "production", "app": "myapp", "id": "R123456789", "actor": "…", …}}

    action     the event type id as Convox spells it (`release:promote`, `app:budget:cap`, …);
               Herald's other types keep their own ids (receivers ignore unknown actions)
    status     `type_data.status` when the event has one, else `success` (Convox: success|error)
    timestamp  the event's time, RFC 3339 UTC with `Z` (the moment it happened, not of sending)
    data       `rack` and `app` (the app's name) when known, `id` (the release id, else the build
               id, as Convox's `release:*`/`build:create` carry it), `actor` (type_data's, else
               the event user's e-mail or name, else "system" as Convox's accumulator events),
               then the other `type_data` members as they are (`message` on errors, budget
               figures, …). The envelope's own ids travel too: `app_id`, `event_id`.

Signing, when the notifier's `type_data` has `convox_signing_key` (and `convox_signing_keys`,
older keys still accepted, during a rotation):

    Convox-Signature: t=<unix seconds of sending>,v1=<hex HMAC-SHA256(key, f"{t}.{body}")>[,v1=…]

The key is the configured string's UTF-8 bytes, as Convox's `webhook_signing_key` rack parameter;
one `v1` per active key, the current key first, at most `MAX_CONVOX_KEYS` (Convox: "up to 4 keys
per rotation"). Receivers verify against any one and reject a `t` outside their tolerance (Convox
recommends 5 minutes). The Standard Webhooks headers (`webhook-id`, …) are still sent beside it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from herald_core.deliveries import Delivery
from herald_core.errors import FailureReason, PermanentDeliveryError

from herald_sender.signing import timestamp_of

HEADER = "Convox-Signature"
KEY_FIELD = "convox_signing_key"
KEYS_FIELD = "convox_signing_keys"
MAX_CONVOX_KEYS = 4
DEFAULT_STATUS = "success"
SYSTEM_ACTOR = "system"
_LIFTED = ("status", "actor")


def convox_body(delivery: Delivery) -> dict[str, Any]:
    """The Convox webhook JSON of `delivery`'s event. Pure."""
    event = delivery.event
    data = dict(event.type_data)
    status = data.get("status")
    out: dict[str, Any] = {}
    if event.rack:
        out["rack"] = event.rack
    if event.app_name:
        out["app"] = event.app_name
    release, build = data.get("release_id"), data.get("build_id")
    if release or build:
        out["id"] = release or build
    out["actor"] = _actor(delivery, data.get("actor"))
    out.update({k: v for k, v in data.items() if k not in _LIFTED and k not in out})
    out["app_id"] = event.app_id
    out["event_id"] = event.id
    return {
        "action": event.type,
        "status": status if isinstance(status, str) and status else DEFAULT_STATUS,
        "timestamp": event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": out,
    }


def _actor(delivery: Delivery, given: Any) -> str:
    if isinstance(given, str) and given:
        return given
    user = delivery.event.user
    if user is not None:
        for candidate in (user.email, user.username, user.id):
            if candidate:
                return candidate
    return SYSTEM_ACTOR


def render_convox(delivery: Delivery, now: datetime) -> bytes:
    """The body bytes, compact UTF-8 JSON (the bytes that are signed). Pure."""
    return json.dumps(convox_body(delivery), ensure_ascii=False, separators=(",", ":")).encode()


def convox_keys(type_data: Mapping[str, Any]) -> list[bytes]:
    """The active signing keys: `convox_signing_key`, then `convox_signing_keys`. Pure.

    Deduplicated, capped at MAX_CONVOX_KEYS; empty when the notifier has none.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when a key is not a non-empty string (a
            misconfigured notifier fails loudly rather than sending unsigned). The detail
            never contains a key.
    """
    found: list[str] = []
    key = type_data.get(KEY_FIELD)
    if key is not None:
        if not isinstance(key, str) or not key:
            raise _invalid(f"type_data.{KEY_FIELD} must be a non-empty string")
        found.append(key)
    listed = type_data.get(KEYS_FIELD)
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(k, str) and k for k in listed):
            raise _invalid(f"type_data.{KEYS_FIELD} must be a list of non-empty strings")
        found.extend(listed)
    return [k.encode() for k in list(dict.fromkeys(found))[:MAX_CONVOX_KEYS]]


def convox_signature(keys: list[bytes], timestamp: int, body: bytes) -> str:
    """The `Convox-Signature` value `t=<ts>,v1=<hex>[,v1=<hex>…]`. Pure."""
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(k, signed, hashlib.sha256).hexdigest()}" for k in keys]
    return ",".join(parts)


def convox_headers(type_data: Mapping[str, Any], now: datetime, body: bytes) -> dict[str, str]:
    """`{"Convox-Signature": …}` when the notifier has a key, else nothing. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD for a malformed key (see `convox_keys`).
    """
    keys = convox_keys(type_data)
    if not keys:
        return {}
    return {HEADER: convox_signature(keys, timestamp_of(now), body)}


def _invalid(detail: str) -> PermanentDeliveryError:
    return PermanentDeliveryError(FailureReason.INVALID_PAYLOAD, detail)
