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
from herald_core.urlpolicy import check_url

from herald_api.model.chat_hosts import ChatHosts, chat_host_problem
from herald_api.model.platforms import Platform
from herald_api.model.shapes import has_problem, shape_errors
from herald_api.model.type_data_shapes import SHAPES

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
    errors = _shape_errors(platform, data)
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


def _shape_errors(platform: Platform, data: Mapping[str, Any]) -> Errors:
    """The platform's member types, lengths and patterns (`type_data_shapes`)."""
    shape = SHAPES.get(platform.name)
    if shape is None:
        return {}
    return {f"type_data.{k}": v for k, v in shape_errors(shape, dict(data)).items()}


def _sound(errors: Errors, member: str) -> bool:
    """Whether `member` passed its shape (no problem at it or inside it yet)."""
    return not has_problem(errors, f"type_data.{member}")


def _check_slack_bot(data: Mapping[str, Any], errors: Errors) -> None:
    """Slack's bot-token mode (deploy threads): a bot token and the channel to post in."""
    token, channel = data.get("bot_token"), data.get("channel")
    if not isinstance(token, str) or not _SLACK_BOT_TOKEN.match(token):
        errors.setdefault("type_data.bot_token", []).append("must be a Slack bot token (xoxb-…)")
    if not isinstance(channel, str) or not _SLACK_CHANNEL.match(channel):
        errors.setdefault("type_data.channel", []).append(
            "must be a Slack channel id (C…, G…) or #name"
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
    """Beyond the shape: the Convox keys' rules, and which headers may be set."""
    _check_convox_keys(data, errors)
    headers = data.get("headers")
    if not isinstance(headers, dict):  # the shape said so
        return
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or name.lower() in FORBIDDEN_HEADERS:
            errors.setdefault("type_data.headers", []).append(f"{name!r} cannot be set")
        elif isinstance(value, str) and (any(c in value for c in "\r\n\x00") or len(value) > 2000):
            errors.setdefault("type_data.headers", []).append(f"{name!r} has an invalid value")


def _check_convox_keys(data: Mapping[str, Any], errors: Errors) -> None:
    """`convox_signing_key` (+ `convox_signing_keys` during a rotation): format `convox` only,
    printable ASCII, and the older keys only beside a current one."""
    key, more = data.get("convox_signing_key"), data.get("convox_signing_keys")
    if key is None and more is None:
        return
    if data.get("format") != "convox" and _sound(errors, "format"):
        errors.setdefault("type_data.format", []).append(
            "must be convox when a convox_signing_key is set"
        )
    if key is not None and _sound(errors, "convox_signing_key") and not _printable(key):
        errors.setdefault("type_data.convox_signing_key", []).append(
            "must be printable ASCII characters"
        )
    if (
        more is not None
        and _sound(errors, "convox_signing_keys")
        and (key is None or not all(_printable(k) for k in more))
    ):
        errors.setdefault("type_data.convox_signing_keys", []).append(
            "must be printable ASCII older keys, beside a convox_signing_key"
        )


def _printable(key: str) -> bool:
    return key.isprintable() and key.isascii()


def _check_email(data: Mapping[str, Any], errors: Errors) -> None:
    """Beyond the shape: each address must be one."""
    if not _sound(errors, "emails"):
        return
    for address in data.get("emails", []):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            errors.setdefault("type_data.emails", []).append(
                f"{address!r} is not an e-mail address"
            )


_PLATFORM_CHECKS: dict[str, Callable[[Mapping[str, Any], Errors], None]] = {
    "webhook": _check_webhook_extras,
    "email": _check_email,
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
