"""type_data validation shared by every face: a notifier's per-platform settings, checked
against the one notifier model (docs/scalingo-compat.md); secrets are write-only (masked).

Pure functions. Every problem is listed (`errors`, field → messages); `InvalidNotifier` carries
them. The Scalingo wire translation is the face's (`faces/scalingo/notifier_face`), a
notifier's wire shape `herald_api.model.notifier_wire`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from herald_core.errors import UnsafeUrl
from herald_core.notifiers import WebhookFormat
from herald_core.urlpolicy import check_url

from herald_api.model.chat_hosts import ChatHosts, chat_host_problem
from herald_api.model.platforms import Platform
from herald_api.model.webhook_secrets import SECRET_SHAPE

Errors = dict[str, list[str]]

SECRET_KEYS = frozenset(
    {
        "secret",
        "secrets",
        "previous_secrets",
        "token",
        "auth_token",
        "bot_token",
        "flow_token",
        "convox_signing_key",
        "convox_signing_keys",
    }
)
MASK = "********"
ROTATED = "previous_secrets"
"""Kept by `POST …/secret/rotate` (`herald_api.model.webhook_secrets`): never set by a request."""
ROTATE_HINT = "is kept by POST …/secret/rotate"
FORBIDDEN_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_SLACK_BOT_TOKEN = re.compile(r"^xox[bp]-[A-Za-z0-9-]{8,250}$")
_SLACK_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,30}|#[a-z0-9_-]{1,80})$")


def new_notifier_id() -> str:
    return f"no-{uuid.uuid4()}"


def mask_type_data(type_data: Mapping[str, Any]) -> dict[str, Any]:
    """type_data as shown to clients: secrets are write-only. Pure."""
    shown: dict[str, Any] = {
        k: (MASK if k in SECRET_KEYS and v else v) for k, v in type_data.items()
    }
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {
            k: (MASK if k.lower() == "authorization" else v) for k, v in headers.items()
        }
    return shown


def check_type_data(
    platform: Platform,
    data: Mapping[str, Any],
    *,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> Errors:
    """Problems of a complete type_data for a platform. Pure.

    `chat_hosts` adds host patterns per platform to `herald_api.model.chat_hosts.KNOWN_HOSTS`.
    """
    errors: Errors = {}
    if platform.name == "slack" and "webhook_url" not in data and "bot_token" in data:
        _check_slack_bot(data, errors)
    elif platform.webhook_like:
        _check_webhook_url(data.get("webhook_url"), errors, allow_loopback)
        if "type_data.webhook_url" not in errors:
            problem = chat_host_problem(
                platform.name,
                data["webhook_url"],
                extra=chat_hosts,
                allow_loopback=allow_loopback,
            )
            if problem is not None:
                errors.setdefault("type_data.webhook_url", []).append(problem)
    extra = _PLATFORM_CHECKS.get(platform.name)
    if extra is not None:
        extra(data, errors)
    return errors


def _check_slack_bot(data: Mapping[str, Any], errors: Errors) -> None:
    """Slack's bot-token mode (deploy threads): a bot token and the channel to post in."""
    token, channel = data.get("bot_token"), data.get("channel")
    if not isinstance(token, str) or not _SLACK_BOT_TOKEN.match(token):
        errors.setdefault("type_data.bot_token", []).append("must be a Slack bot token (xoxb-…)")
    if not isinstance(channel, str) or not _SLACK_CHANNEL.match(channel):
        errors.setdefault("type_data.channel", []).append(
            "must be a Slack channel id (C…, G…) or #name"
        )


def _check_hipchat(data: Mapping[str, Any], errors: Errors) -> None:
    for key in ("token", "room"):
        if not isinstance(data.get(key), str) or not data.get(key):
            errors.setdefault(f"type_data.{key}", []).append("can't be blank")


def _check_ios_push(data: Mapping[str, Any], errors: Errors) -> None:
    tokens = data.get("device_tokens")
    valid = isinstance(tokens, list) and all(
        isinstance(t, str) and re.fullmatch(r"[0-9a-fA-F]{32,200}", t) for t in tokens
    )
    if not valid:
        errors.setdefault("type_data.device_tokens", []).append(
            "must be a list of hex device tokens"
        )


def _check_browser_push(data: Mapping[str, Any], errors: Errors) -> None:
    if not isinstance(data.get("subscriptions"), list):
        errors.setdefault("type_data.subscriptions", []).append(
            "must be a list of push subscriptions"
        )


def _check_webhook_url(url: Any, errors: Errors, allow_loopback: bool) -> None:
    if not isinstance(url, str) or not url:
        errors.setdefault("type_data.webhook_url", []).append("can't be blank")
        return
    try:
        check_url(url, allow_loopback=allow_loopback)
    except UnsafeUrl as exc:
        errors.setdefault("type_data.webhook_url", []).append(f"is not allowed: {exc.detail}")


def _check_webhook_extras(data: Mapping[str, Any], errors: Errors) -> None:
    if "format" in data and data["format"] not in {f.value for f in WebhookFormat}:
        errors.setdefault("type_data.format", []).append(
            f"must be one of {sorted(f.value for f in WebhookFormat)}"
        )
    secret = data.get("secret")
    if secret is not None and (not isinstance(secret, str) or not SECRET_SHAPE.match(secret)):
        errors.setdefault("type_data.secret", []).append("must look like whsec_<base64, 24+ chars>")
    rotated = data.get("secrets")
    if rotated is not None and (
        not isinstance(rotated, list)
        or len(rotated) > 2
        or not all(isinstance(s, str) and SECRET_SHAPE.match(s) for s in rotated)
    ):
        errors.setdefault("type_data.secrets", []).append(
            "must be a list of at most 2 more secrets (whsec_…), newest first, during a rotation"
        )
    _check_convox_keys(data, errors)
    headers = data.get("headers")
    if headers is None:
        return
    if not isinstance(headers, dict):
        errors.setdefault("type_data.headers", []).append("must be an object of header: value")
        return
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in FORBIDDEN_HEADERS:
            errors.setdefault("type_data.headers", []).append(f"{name!r} cannot be set")
        elif not isinstance(value, str) or any(c in value for c in "\r\n\x00") or len(value) > 2000:
            errors.setdefault("type_data.headers", []).append(f"{name!r} has an invalid value")


CONVOX_KEY_MAX = 500
CONVOX_MORE_KEYS = 3  # Convox: up to 4 keys during a rotation


def _check_convox_keys(data: Mapping[str, Any], errors: Errors) -> None:
    """`convox_signing_key` (+ `convox_signing_keys` during a rotation): format `convox` only."""
    key, more = data.get("convox_signing_key"), data.get("convox_signing_keys")
    if key is None and more is None:
        return
    if data.get("format") != "convox":
        errors.setdefault("type_data.format", []).append(
            "must be convox when a convox_signing_key is set"
        )
    if key is not None and not _convox_key(key):
        errors.setdefault("type_data.convox_signing_key", []).append(
            f"must be a string of 16 to {CONVOX_KEY_MAX} printable characters"
        )
    if more is not None and (
        not isinstance(more, list)
        or len(more) > CONVOX_MORE_KEYS
        or not all(_convox_key(k) for k in more)
        or key is None
    ):
        errors.setdefault("type_data.convox_signing_keys", []).append(
            f"must be a list of at most {CONVOX_MORE_KEYS} older keys, beside a convox_signing_key"
        )


def _convox_key(key: Any) -> bool:
    return (
        isinstance(key, str)
        and 16 <= len(key) <= CONVOX_KEY_MAX
        and key.isprintable()
        and key.isascii()
    )


def _check_email(data: Mapping[str, Any], errors: Errors) -> None:
    emails = data.get("emails", [])
    if not isinstance(emails, list):
        errors.setdefault("type_data.emails", []).append("must be a list of e-mail addresses")
    else:
        for address in emails:
            try:
                validate_email(
                    address if isinstance(address, str) else "", check_deliverability=False
                )
            except EmailNotValidError:
                errors.setdefault("type_data.emails", []).append(
                    f"{address!r} is not an e-mail address"
                )
    user_ids = data.get("user_ids", [])
    if not isinstance(user_ids, list) or not all(isinstance(u, str) for u in user_ids):
        errors.setdefault("type_data.user_ids", []).append("must be a list of user ids")
    for flag in ("owner", "collaborators"):
        if flag in data and not isinstance(data[flag], bool):
            errors.setdefault(f"type_data.{flag}", []).append("must be true or false")


_PLATFORM_CHECKS: dict[str, Callable[[Mapping[str, Any], Errors], None]] = {
    "webhook": _check_webhook_extras,
    "email": _check_email,
    "hipchat": _check_hipchat,
    "ios_push": _check_ios_push,
    "browser_push": _check_browser_push,
}


def merge_type_data(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """Key-by-key merge: absent keys stay, `null` removes, masked secrets are not overwritten."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif not (key in SECRET_KEYS and value == MASK):
            merged[key] = value
    return merged


class InvalidNotifier(Exception):
    """Every problem found in a notifier request, field → messages."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors
