"""One-click unsubscribe tokens (RFC 8058): which notifier stops mailing which address. Pure.

    token = unsubscribe_token(secret, notifier_id="no-1", address="Ann@Example.com")
    unsubscribe_claim(secret, token)   # UnsubscribeClaim("no-1", "ann@example.com"), or None

A token is `v1.<payload>.<signature>`: the payload is the notifier id and the lower-cased address
joined by a unit separator, base64url without padding; the signature is HMAC-SHA256 of
`v1.<payload>` under a secret the sender (which writes the links) and the API (which honours
them) share. Tokens do not expire: a link in an old message must keep working (RFC 8058 §3.1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

DEV_SECRET = "herald-dev-unsubscribe-secret-change-me"  # noqa: S105 - local runs and tests only
"""The default of the `unsubscribe_secret` settings; production sets its own."""

VERSION = "v1"
MAX_TOKEN_LENGTH = 800  # a 200-character id and a 320-character address fit
_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class UnsubscribeClaim:
    """What a verified token says: stop `notifier_id` mailing `address` (lower-case)."""

    notifier_id: str
    address: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, signed: str) -> str:
    return _b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())


def normalise_address(address: str) -> str:
    """The form addresses are compared in: stripped, lower-case. Pure."""
    return address.strip().lower()


def unsubscribe_token(secret: str, *, notifier_id: str, address: str) -> str:
    """The signed token of (notifier, address). Pure.

    Raises:
        ValueError: an empty secret, notifier id or address, one holding the separator, or a
            token longer than MAX_TOKEN_LENGTH.
    """
    address = normalise_address(address)
    if not secret or not notifier_id or not address:
        raise ValueError("an unsubscribe token needs a secret, a notifier id and an address")
    if _SEPARATOR in notifier_id or _SEPARATOR in address:
        raise ValueError("a notifier id or address may not hold a unit separator")
    payload = _b64(f"{notifier_id}{_SEPARATOR}{address}".encode())
    signed = f"{VERSION}.{payload}"
    token = f"{signed}.{_signature(secret, signed)}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError("the notifier id or address is too long for an unsubscribe token")
    return token


def unsubscribe_claim(secret: str, token: str) -> UnsubscribeClaim | None:
    """The claim of a token signed with `secret`; None for anything else. Pure, never raises."""
    if not secret or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        return None
    version, payload, signature = token.split(".")
    if version != VERSION or not hmac.compare_digest(
        signature.encode("ascii", "replace"),
        _signature(secret, f"{version}.{payload}").encode(),
    ):
        return None
    try:
        text = _unb64(payload).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    notifier_id, separator, address = text.partition(_SEPARATOR)
    if not separator or not notifier_id or not address:
        return None
    return UnsubscribeClaim(notifier_id=notifier_id, address=address)
