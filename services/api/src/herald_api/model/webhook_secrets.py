"""Webhook signing secrets: generated at creation, read back, rotated with an overlap.

Every webhook notifier is signed (Standard Webhooks, `herald_sender.signing`). A notifier created
without a `secret`, by any face, gets a generated one: `whsec_` + base64 of `SECRET_BYTES`
random bytes. The creation answer shows it once in clear; every read shows the mask. Its owner
reads it again with `GET …/secret` (as with Svix) and replaces it with `POST …/secret/rotate`.

A rotation makes the new secret `type_data.secret` and moves the one it replaces into
`type_data.previous_secrets` with an `expires_at` (now + the overlap): the sender signs with
both until then, so receivers can switch keys without losing a delivery. At most
`MAX_PREVIOUS` previous secrets are kept (the newest), and expired ones are dropped at each
rotation. A `secrets` list (older secrets kept by hand, without expiry) is left as it is.

Pure functions, but for `new_secret` and `ensure_secret`, which draw random bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from herald_core.notifiers import Notifier
from herald_core.topics import Channel

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32
MAX_PREVIOUS = 2
DEFAULT_OVERLAP_S = 24 * 3600
MAX_OVERLAP_S = 7 * 24 * 3600
SIGNING_KEYS = ("secret", "previous_secrets", "secrets")
"""The `type_data` members that sign a webhook: a hook's notifiers share them."""
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/=]{24,200}$"  # noqa: S105 - a pattern, not a secret
"""What a signing secret looks like (the wire models and the type_data checks use it too)."""
SECRET_SHAPE = re.compile(SECRET_PATTERN)
_ROTATE_FIELDS = frozenset({"secret", "overlap_seconds"})

Errors = dict[str, list[str]]


def new_secret() -> str:
    """A fresh `whsec_<base64>` secret of `SECRET_BYTES` random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def is_webhook(notifier: Notifier) -> bool:
    """Whether the notifier is signed: every webhook notifier, whatever its format. Pure."""
    return notifier.platform is Channel.WEBHOOK


def secret_of(notifier: Notifier) -> str | None:
    """The notifier's current secret, if it has one. Pure."""
    secret = notifier.type_data.get("secret")
    return secret if isinstance(secret, str) and secret else None


def needs_secret(notifier: Notifier) -> bool:
    """A webhook notifier without a secret (new, or stored before secrets were generated). Pure."""
    return is_webhook(notifier) and secret_of(notifier) is None


def with_secret(notifier: Notifier, secret: str) -> Notifier:
    """`notifier` signed with `secret` (same version: for a notifier being created). Pure."""
    return notifier.model_copy(update={"type_data": {**notifier.type_data, "secret": secret}})


def ensure_secret(notifier: Notifier) -> tuple[Notifier, str | None]:
    """A new webhook notifier with a secret: its own, else a generated one (then also returned,
    to be shown once). Other notifiers are returned as they are."""
    if not needs_secret(notifier):
        return notifier, None
    secret = new_secret()
    return with_secret(notifier, secret), secret


def signing_members(type_data: Mapping[str, Any]) -> dict[str, Any]:
    """The members of `type_data` that sign (`SIGNING_KEYS`), to carry onto another. Pure."""
    return {key: type_data[key] for key in SIGNING_KEYS if type_data.get(key) is not None}


def is_secret(value: Any) -> bool:
    """Whether `value` is a `whsec_` secret the sender can decode. Pure."""
    if not isinstance(value, str) or not SECRET_SHAPE.match(value):
        return False
    encoded = value.removeprefix(SECRET_PREFIX)
    try:
        return bool(base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True))
    except binascii.Error:
        return False


@dataclass(frozen=True)
class Rotation:
    """A rotation request: the new secret (None: generate one) and the overlap in seconds."""

    secret: str | None = None
    overlap_s: int = DEFAULT_OVERLAP_S


def parse_rotation(body: Any) -> tuple[Rotation, Errors]:
    """A rotate body (`{}` or absent: a generated secret, the default overlap), and its
    problems by field. Pure.

    `{"secret": "whsec_…", "overlap_seconds": 0..MAX_OVERLAP_S}`, both optional.
    """
    if body is None:
        return Rotation(), {}
    if not isinstance(body, dict):
        return Rotation(), {"body": ['must be a JSON object {"secret"?, "overlap_seconds"?}']}
    errors: Errors = {name: ["unknown field"] for name in sorted(set(body) - _ROTATE_FIELDS)}
    secret = body.get("secret")
    if secret is not None and not is_secret(secret):
        errors["secret"] = ["must be whsec_ followed by base64 (24 to 200 characters)"]
    overlap = body.get("overlap_seconds", DEFAULT_OVERLAP_S)
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        errors["overlap_seconds"] = ["must be a whole number of seconds"]
    elif not 0 <= overlap <= MAX_OVERLAP_S:
        errors["overlap_seconds"] = [f"must be between 0 and {MAX_OVERLAP_S} (7 days)"]
    if errors:
        return Rotation(), errors
    return Rotation(secret, overlap), {}


def rfc3339(moment: datetime) -> str:
    """An aware time as RFC 3339, UTC spelled `Z`. Pure."""
    return moment.isoformat().replace("+00:00", "Z")


def live_previous(previous: Any, now: datetime) -> list[dict[str, str]]:
    """The well-formed `previous_secrets` entries that expire after `now`, in order. Pure."""
    if not isinstance(previous, list):
        return []
    kept = []
    for entry in previous:
        if not isinstance(entry, dict):
            continue
        secret, expires = entry.get("secret"), entry.get("expires_at")
        if not isinstance(secret, str) or not isinstance(expires, str):
            continue
        try:
            moment = datetime.fromisoformat(expires)
        except ValueError:
            continue
        if moment.tzinfo is not None and moment > now:
            kept.append({"secret": secret, "expires_at": expires})
    return kept


def rotated_type_data(
    type_data: Mapping[str, Any], secret: str, now: datetime, overlap_s: int
) -> dict[str, Any]:
    """`type_data` signed with `secret` from now on; the secret it replaces is kept in
    `previous_secrets` until now + `overlap_s` (not at all for 0, or when it is the same one).
    Pure."""
    old = type_data.get("secret")
    previous = live_previous(type_data.get("previous_secrets"), now)
    if isinstance(old, str) and old and old != secret and overlap_s > 0:
        expires = rfc3339(now + timedelta(seconds=overlap_s))
        previous.insert(0, {"secret": old, "expires_at": expires})
    previous = [p for p in previous if p["secret"] != secret][:MAX_PREVIOUS]
    data = {**type_data, "secret": secret}
    data.pop("previous_secrets", None)
    if previous:
        data["previous_secrets"] = previous
    return data


def rotated(notifier: Notifier, secret: str, now: datetime, overlap_s: int) -> Notifier:
    """`notifier` after a rotation to `secret`: a new version. Pure."""
    data = rotated_type_data(notifier.type_data, secret, now, overlap_s)
    return notifier.model_copy(update={"type_data": data}).touched(now)


def previous_expiries(notifier: Notifier) -> list[dict[str, str]]:
    """When each previous secret stops signing, newest first, without the secrets. Pure."""
    previous = notifier.type_data.get("previous_secrets")
    if not isinstance(previous, list):
        return []
    return [
        {"expires_at": entry["expires_at"]}
        for entry in previous
        if isinstance(entry, dict) and isinstance(entry.get("expires_at"), str)
    ]
