"""Standard Webhooks signing (https://www.standardwebhooks.com). Pure.

Every webhook carries

    webhook-id:        the delivery id (the receiver's idempotency key)
    webhook-timestamp: integer seconds since the epoch, when the attempt was rendered
    webhook-signature: "v1,<base64 HMAC-SHA256>" per active secret, space-separated

where the HMAC is over ``f"{id}.{timestamp}.".encode() + body`` with the secret's key. A secret
is ``whsec_`` followed by base64; the key is the decoded bytes (the prefix is optional, as in
the reference libraries).

Secrets. A webhook notifier's ``type_data`` may hold

    secret:           "whsec_…"      the current secret (the API generates one at creation)
    previous_secrets: [{"secret": "whsec_…", "expires_at": RFC 3339}, …]
                                     secrets replaced by a rotation (`POST …/secret/rotate`),
                                     each still signed with until its `expires_at`
    secrets:          ["whsec_…", …] more secrets still accepted, newest first, with no expiry
                                     (managed by hand through PATCH)

The active secrets at `now` are ``secret``, then the ``previous_secrets`` whose `expires_at` is
still ahead, then ``secrets``; duplicates dropped, at most `MAX_SIGNATURES` of them (the first
ones; the rest are ignored at send time). A receiver verifies if any signature matches one of
its keys, so during a rotation's overlap it may hold either the old or the new secret. Every
secret member is write-only in the API (`herald_api.model.type_data.SECRET_KEYS`).

A notifier with no secret at all (a row stored before the API generated them) is sent with
`webhook-id` and `webhook-timestamp` but no `webhook-signature`, rather than not at all.

Hand-written rather than built on the `standardwebhooks` package (MIT, checked at 1.1.0):
its `Webhook` holds one key per instance, signs a `str` body, and turns the timestamp into
seconds with ``timestamp.replace(tzinfo=UTC)``, which silently signs the wrong second for an
aware non-UTC datetime. Signing here is a dozen lines over `hmac`; the package stays a test
dependency, the independent implementation the golden vectors and integration tests verify
against (tests/contract/test_signing_vectors.py).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from herald_core.errors import FailureReason, PermanentDeliveryError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SIGNATURE_VERSION = "v1"
MAX_SIGNATURES = 3
"""Signatures per request: the current secret and up to two older ones during a rotation."""

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
SIGNING_HEADERS = frozenset({HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE})


@functools.lru_cache(maxsize=4096)
def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (prefix optional, padding optional). Pure,
    so cached: a sender signs with the same secrets over and over (a refusal is not cached).

    Raises:
        ValueError: when the rest is not base64 or decodes to nothing. The message never
            contains the secret.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("the secret is not base64") from None
    if not key:
        raise ValueError("the secret is empty")
    return key


def timestamp_of(now: datetime) -> int:
    """`webhook-timestamp`: whole seconds since the epoch. Pure.

    Raises:
        ValueError: for a naive datetime (its epoch second depends on the host's zone).
    """
    if now.tzinfo is None:
        raise ValueError("the signing clock must be timezone-aware")
    return math.floor(now.timestamp())


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of `body` for `msg_id` at `timestamp`. Pure."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_header(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per key, in order, space-separated. Pure."""
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def active_secrets(type_data: Mapping[str, Any], now: datetime) -> list[str]:
    """The secrets a notifier signs with at `now`: `secret`, the unexpired `previous_secrets`,
    then `secrets`; deduplicated, capped. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when `secret` is not a string, `secrets` not
            a list of strings, or `previous_secrets` not a list of {secret, expires_at}: a
            misconfigured notifier fails loudly rather than sending unsigned. The detail never
            contains a secret.
    """
    found: list[str] = []
    secret = type_data.get("secret")
    if secret is not None:
        if not isinstance(secret, str):
            raise _invalid("type_data.secret must be a string")
        found.append(secret)
    found.extend(unexpired_previous(type_data.get("previous_secrets"), now))
    listed = type_data.get("secrets")
    if listed is not None:
        if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
            raise _invalid("type_data.secrets must be a list of strings")
        found.extend(listed)
    return list(dict.fromkeys(found))[:MAX_SIGNATURES]


def unexpired_previous(previous: Any, now: datetime) -> list[str]:
    """The secrets of `previous_secrets` whose `expires_at` is after `now`, in order. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when it is not a list of objects with a string
            `secret` and an RFC 3339 `expires_at` with a zone.
    """
    if previous is None:
        return []
    if not isinstance(previous, list):
        raise _invalid("type_data.previous_secrets must be a list")
    kept: list[str] = []
    for position, entry in enumerate(previous):
        where = f"type_data.previous_secrets #{position + 1}"
        secret = entry.get("secret") if isinstance(entry, dict) else None
        expires = entry.get("expires_at") if isinstance(entry, dict) else None
        if not isinstance(secret, str) or not isinstance(expires, str):
            raise _invalid(f"{where} must be an object with a secret and an expires_at")
        if _moment(expires, where) > now:
            kept.append(secret)
    return kept


def _moment(text: str, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{where}: expires_at is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise _invalid(f"{where}: expires_at has no zone")
    return moment


def signing_keys(type_data: Mapping[str, Any], now: datetime) -> list[bytes]:
    """The HMAC keys of a notifier's secrets active at `now`; empty when it has none. Pure.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD when a secret is malformed (see
            `active_secrets`, `decode_secret`).
    """
    keys: list[bytes] = []
    for position, secret in enumerate(active_secrets(type_data, now)):
        try:
            keys.append(decode_secret(secret))
        except ValueError as exc:
            raise _invalid(f"signing secret #{position + 1}: {exc}") from None
    return keys


def signing_headers(
    type_data: Mapping[str, Any], msg_id: str, now: datetime, body: bytes
) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp`, and `webhook-signature` when there are secrets. Pure.

    `now` is both the timestamp and the clock that retires expired `previous_secrets`.

    Raises:
        PermanentDeliveryError: INVALID_PAYLOAD for a malformed secret.
    """
    timestamp = timestamp_of(now)
    headers = {HEADER_ID: msg_id, HEADER_TIMESTAMP: str(timestamp)}
    keys = signing_keys(type_data, now)
    if keys:
        headers[HEADER_SIGNATURE] = signature_header(keys, msg_id, timestamp, body)
    return headers


def _invalid(detail: str) -> PermanentDeliveryError:
    return PermanentDeliveryError(FailureReason.INVALID_PAYLOAD, detail)
