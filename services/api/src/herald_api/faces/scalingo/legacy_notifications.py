"""Scalingo's legacy notifications ⇄ the one notifier model. Pure.

A legacy notification is an app notifier that carries `type_data.face = "scalingo_legacy"`:

    {"id", "app_id", "type", "webhook_url", "active"}
        ⇅
    Notifier(scope=app, platform=webhook | slack, selection=[app_deployed],
             type_data={"webhook_url", "face": "scalingo_legacy", "format": "scalingo"})

- `type` is never given: it is read from the URL. A Slack incoming-webhook host (or any host the
  Slack platform accepts, `herald_api.model.chat_hosts`) makes a `slack` notification, anything
  else a `webhook` one; a `webhook` notification sends Scalingo's JSON (the `scalingo` format), a
  `slack` one Slack messages. Loopback URLs are always `webhook`: only a stand-in would play Slack
there.
- Only deployment events are sent, as the document says: the selection is `app_deployed`.
- The type of a notification never changes: a PATCH whose URL reads as another type is refused
  ("update a slack notification with some non slack url").
- One enabled notification per type and app: `conflict` finds the one in the way.

The marker is data rather than a name convention so that a rename through the notifiers API
(`GET /v1/apps/{app}/notifiers` lists these notifiers too) keeps the notification listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from herald_core.notifiers import Notifier, Scope, Selection, WebhookFormat
from herald_core.topics import Channel

from herald_api.faces.scalingo.legacy_wire import LegacyNotificationIn, LegacyNotificationPatch
from herald_api.model.chat_hosts import ChatHosts, chat_host_problem
from herald_api.model.platforms import platform_of
from herald_api.model.shapes import shape_errors
from herald_api.model.type_data import Errors, InvalidNotifier, check_type_data

FACE = "scalingo_legacy"
SELECTED = ("app_deployed",)
TYPES: Mapping[str, Channel] = {"webhook": Channel.WEBHOOK, "slack": Channel.SLACK}
_BOOLEAN_TEXT = {"true": True, "false": False}


def is_legacy(notifier: Notifier) -> bool:
    """Whether the notifier is one of this face's notifications. Pure."""
    return (
        notifier.scope is Scope.APP
        and notifier.type_data.get("face") == FACE
        and notifier.platform in TYPES.values()
    )


def type_of(notifier: Notifier) -> str:
    """The notification's `type` (`webhook` or `slack`). Pure."""
    return "slack" if notifier.platform is Channel.SLACK else "webhook"


def inferred_type(url: str, chat_hosts: ChatHosts | None = None) -> str:
    """`slack` when the URL's host is a Slack incoming-webhook host, else `webhook`. Pure."""
    return "slack" if chat_host_problem("slack", url, extra=chat_hosts) is None else "webhook"


def to_wire(notifier: Notifier) -> dict[str, Any]:
    """The notification as Scalingo shows it. Pure."""
    return {
        "id": notifier.id,
        "app_id": notifier.app_id or "",
        "type": type_of(notifier),
        "webhook_url": notifier.type_data.get("webhook_url", ""),
        "active": notifier.active,
    }


def _shape(
    model: type[LegacyNotificationIn], body: Mapping[str, Any]
) -> tuple[bool | None, Errors]:
    """The body's problems of shape (the wire model's), and `active` as given (the document's
    own example sends the string "true"); None if absent."""
    errors = shape_errors(model, body)
    value = body.get("active")
    if value is None or "active" in errors:
        return None, errors
    return (value if isinstance(value, bool) else _BOOLEAN_TEXT[value]), errors


def _type_data(
    kind: str, url: Any, *, allow_loopback: bool, chat_hosts: ChatHosts | None
) -> tuple[dict[str, Any], Errors]:
    """The notifier's type_data for a URL, and the problems of that URL (as `webhook_url`)."""
    data: dict[str, Any] = {"webhook_url": url, "face": FACE}
    if kind == "webhook":
        data["format"] = WebhookFormat.SCALINGO.value
    problems = check_type_data(
        platform_of(TYPES[kind]), data, allow_loopback=allow_loopback, chat_hosts=chat_hosts
    )
    errors = {key.removeprefix("type_data."): msgs for key, msgs in problems.items()}
    return data, errors


def notification_from_create(
    body: Mapping[str, Any],
    *,
    notifier_id: str,
    app_id: str,
    owner_id: str,
    now: datetime,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> Notifier:
    """A new notification from the `notification` object of a POST. Pure.

    Raises:
        InvalidNotifier: listing every problem, by Scalingo field name.
    """
    active, errors = _shape(LegacyNotificationIn, body)
    url = body.get("webhook_url")
    if not isinstance(url, str) or not url.strip():
        errors.setdefault("webhook_url", ["can't be blank"])
        raise InvalidNotifier(errors)
    url = url.strip()
    kind = inferred_type(url, chat_hosts)
    data, problems = _type_data(kind, url, allow_loopback=allow_loopback, chat_hosts=chat_hosts)
    errors.update(problems)
    given = body.get("type")
    if given is not None and given != kind and "type" not in errors:
        errors.setdefault("type", []).append(f"is read from webhook_url: this URL makes {kind!r}")
    if errors:
        raise InvalidNotifier(errors)
    return Notifier(
        id=notifier_id,
        name=f"{kind} notification",
        active=True if active is None else active,
        scope=Scope.APP,
        app_id=app_id,
        owner_id=owner_id,
        platform=TYPES[kind],
        selection=Selection(selected_event_ids=SELECTED),
        type_data=data,
        created_at=now,
        updated_at=now,
    )


def notification_patched(
    current: Notifier,
    body: Mapping[str, Any],
    *,
    now: datetime,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> Notifier:
    """`current` with a PATCH's `notification` object applied (absent = unchanged). Pure.

    Raises:
        InvalidNotifier: listing every problem; a URL of another type is one.
    """
    active, errors = _shape(LegacyNotificationPatch, body)
    kind = type_of(current)
    type_data = dict(current.type_data)
    if "webhook_url" in body and "webhook_url" not in errors:
        url = body["webhook_url"]
        if not isinstance(url, str) or not url.strip():
            errors["webhook_url"] = ["can't be blank"]
        else:
            url = url.strip()
            data, problems = _type_data(
                kind, url, allow_loopback=allow_loopback, chat_hosts=chat_hosts
            )
            errors.update(problems)
            if not problems and inferred_type(url, chat_hosts) != kind:
                errors.setdefault("webhook_url", []).append(
                    f"is a {inferred_type(url, chat_hosts)} URL: a {kind} notification keeps"
                    " its type (remove it and add a new one)"
                )
            type_data = {**type_data, **data}
    given = body.get("type")
    if given is not None and given != kind and "type" not in errors:
        errors["type"] = ["cannot change"]
    if errors:
        raise InvalidNotifier(errors)
    changes: dict[str, Any] = {"type_data": type_data}
    if active is not None:
        changes["active"] = active
    return current.model_copy(update=changes).touched(now)


def conflict(candidate: Notifier, others: Iterable[Notifier]) -> Notifier | None:
    """The other enabled notification of the same type and app, if `candidate` is enabled. Pure.

    Scalingo: "You can only have one notification per type enabled."
    """
    if not candidate.active:
        return None
    return next(
        (
            other
            for other in others
            if other.id != candidate.id
            and other.active
            and is_legacy(other)
            and other.app_id == candidate.app_id
            and other.platform is candidate.platform
        ),
        None,
    )


def conflict_errors(candidate: Notifier, other: Notifier) -> Errors:
    """Scalingo's `errors` for a second enabled notification of a type. Pure."""
    kind = type_of(candidate)
    return {
        "type": [
            f"a {kind} notification is already enabled for this app ({other.id}):"
            " only one notification per type can be enabled"
        ]
    }
