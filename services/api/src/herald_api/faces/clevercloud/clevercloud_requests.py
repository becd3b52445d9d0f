"""Clever Cloud's hook requests, checked (docs/faces.md, "Clever Cloud"): the bodies of
`POST`/`PUT /v2/notifications/webhooks/{ownerId}` and `…/emailhooks/{ownerId}`, turned into
`WebhookRequest` / `EmailhookRequest` with every problem listed (`InvalidNotifier`). Pure.
`clevercloud_face` makes the notifiers of a checked request.

A hook's `events` are Clever Cloud ids, `META_*` groups or any catalog id (absent or empty:
every event). Its `scope` holds apps of the hook's owner and add-ons (absent: the whole owner).
E-mail targets (`notified`) map onto the recipients the router resolves:

    {"type": "email", "target": "a@x.io,b@y.io"}   emails: [a@x.io, b@y.io]
    {"type": "userid", "target": "user_1"}         user_ids: [user_1]
    {"type": "userid"}                             owner: true (the owner's account; every
                                                   member for an organisation)
    {"type": "organisation"}                       members: true
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from herald_core.catalog import CATALOG
from herald_core.notifiers import NAME_MAX_LENGTH, Selection
from herald_core.topics import Channel

from herald_api.faces.clevercloud.clevercloud_wire import CcEmailhookIn, CcWebhookIn
from herald_api.model.hooks import ScopeFacts
from herald_api.model.platforms import platform_of
from herald_api.model.shapes import has_problem, shape_errors
from herald_api.model.type_data import Errors, InvalidNotifier, check_type_data

ADDON_PREFIX = "addon_"
NOT_SCOPABLE_PREFIXES = ("orga_", "user_")  # Clever Cloud's owner and user ids


@dataclass(frozen=True)
class HookScope:
    """What a hook watches: the whole owner when both are empty."""

    app_ids: tuple[str, ...] = ()
    addon_ids: tuple[str, ...] = ()

    @property
    def wire(self) -> list[str] | None:
        ids = [*self.app_ids, *self.addon_ids]
        return ids or None


@dataclass(frozen=True)
class HookCommon:
    name: str
    selection: Selection
    scope: HookScope


@dataclass(frozen=True)
class WebhookRequest:
    common: HookCommon
    urls: tuple[tuple[str, str], ...]  # (format, url)


@dataclass(frozen=True)
class EmailhookRequest:
    common: HookCommon
    recipients: dict[str, Any]


def scope_ids(body: Any) -> list[str]:
    """The ids a body's `scope` names (for the caller to look up), whatever else is wrong."""
    raw = body.get("scope") if isinstance(body, dict) else None
    return [i for i in raw if isinstance(i, str)] if isinstance(raw, list) else []


def _name(body: Mapping[str, Any], errors: Errors) -> str:
    name = body.get("name")
    return "" if name is None or "name" in errors else str(name).strip()


def _selection(body: Mapping[str, Any], errors: Errors) -> Selection:
    """`events`: Clever Cloud ids, `META_*` ids or any catalog id; absent or empty = all."""
    raw = body.get("events")
    if raw is None or raw == [] or has_problem(errors, "events"):
        return Selection(send_all_events=True)
    for event_id in raw:
        if not CATALOG.is_known(event_id):
            errors.setdefault("events", []).append(
                f"unknown event {event_id!r} (see /v2/notifications/info/events)"
            )
    return Selection(selected_event_ids=tuple(dict.fromkeys(raw)))


def _scope(body: Mapping[str, Any], owner_id: str, facts: ScopeFacts, errors: Errors) -> HookScope:
    """`scope`: apps of the hook's owner and add-ons, nothing else; absent = the whole owner."""
    raw = body.get("scope")
    if raw is None or has_problem(errors, "scope"):
        return HookScope()
    apps: list[str] = []
    addons: list[str] = []
    for resource in dict.fromkeys(raw):
        problem = _scope_problem(resource, owner_id, facts)
        if problem is not None:
            errors.setdefault("scope", []).append(problem)
        elif resource in facts.app_owners:
            apps.append(resource)
        else:
            addons.append(resource)
    return HookScope(tuple(apps), tuple(addons))


def _scope_problem(resource: str, owner_id: str, facts: ScopeFacts) -> str | None:
    owner = facts.app_owners.get(resource)
    if owner is not None:
        return None if owner == owner_id else f"{resource!r} is not an app of {owner_id}"
    if resource in facts.principals or resource.startswith(NOT_SCOPABLE_PREFIXES):
        return f"{resource!r} is an organisation or a user: a scope holds apps and add-ons"
    if not resource.startswith(ADDON_PREFIX):
        return f"{resource!r} is not a known app of {owner_id}, nor an add-on id (addon_…)"
    return None


def _common(
    body: Mapping[str, Any], owner_id: str, facts: ScopeFacts, errors: Errors
) -> HookCommon:
    return HookCommon(
        _name(body, errors), _selection(body, errors), _scope(body, owner_id, facts, errors)
    )


def parse_webhook(
    body: Any, *, owner_id: str, facts: ScopeFacts, allow_loopback: bool
) -> WebhookRequest:
    """A `POST /v2/notifications/webhooks/{ownerId}` body, checked. Pure.

    Also takes the older single-URL shape (`url` and `format`).

    Raises:
        InvalidNotifier: listing every problem.
    """
    if not isinstance(body, dict):
        raise InvalidNotifier({"body": ["must be a JSON object"]})
    errors = shape_errors(CcWebhookIn, body)
    common = _common(body, owner_id, facts, errors)
    raw_urls = body.get("urls")
    single = raw_urls is None and body.get("url") is not None
    if single and ("url" in errors or "format" in errors):
        urls: tuple[tuple[str, str], ...] = ()  # the older shape is wrong: said under its names
    else:
        if single:
            raw_urls = [{"url": body["url"], "format": body.get("format") or "raw"}]
        urls = _urls(raw_urls, errors, allow_loopback)
    if errors:
        raise InvalidNotifier(errors)
    return WebhookRequest(common, urls)


def _urls(raw: Any, errors: Errors, allow_loopback: bool) -> tuple[tuple[str, str], ...]:
    """The (format, url) pairs; their shape is the wire model's, their URLs are checked here."""
    if raw is None:
        errors.setdefault("urls", ["is required"])
    if raw is None or "urls" in errors:
        return ()
    webhook = platform_of(Channel.WEBHOOK)
    found: list[tuple[str, str]] = []
    for position, item in enumerate(raw):
        where = f"urls.{position}"
        if where in errors or f"{where}.url" in errors:
            continue
        url_problems = check_type_data(
            webhook, {"webhook_url": item["url"]}, allow_loopback=allow_loopback
        )
        for messages in url_problems.values():
            errors.setdefault(f"{where}.url", []).extend(messages)
        found.append((item.get("format", "raw"), item["url"]))
    if len(set(found)) != len(found):
        errors.setdefault("urls", []).append("lists the same URL and format twice")
    return tuple(found)


def parse_emailhook(body: Any, *, owner_id: str, facts: ScopeFacts) -> EmailhookRequest:
    """A `POST /v2/notifications/emailhooks/{ownerId}` body, checked. Pure.

    Raises:
        InvalidNotifier: listing every problem.
    """
    if not isinstance(body, dict):
        raise InvalidNotifier({"body": ["must be a JSON object"]})
    errors = shape_errors(CcEmailhookIn, body)
    common = _common(body, owner_id, facts, errors)
    recipients = _notified(body.get("notified"), errors)
    if errors:
        raise InvalidNotifier(errors)
    return EmailhookRequest(common, recipients)


def _notified(raw: Any, errors: Errors) -> dict[str, Any]:
    recipients: dict[str, Any] = {"emails": [], "user_ids": [], "members": False, "owner": False}
    if "notified" in errors:
        return recipients
    for position, target in enumerate(raw):
        where = f"notified.{position}"
        if has_problem(errors, where):
            continue
        kind, value = target["type"], target.get("target")
        if kind == "organisation":
            recipients["members"] = True
        elif kind == "userid" and value is None:
            recipients["owner"] = True
        elif kind == "userid" and isinstance(value, str) and 0 < len(value) <= NAME_MAX_LENGTH:
            recipients["user_ids"] = list(dict.fromkeys([*recipients["user_ids"], value]))
        elif kind == "email" and isinstance(value, str):
            recipients["emails"] = list(
                dict.fromkeys([*recipients["emails"], *_addresses(value, where, errors)])
            )
        else:
            errors.setdefault(where, []).append(
                'must be {"type": "email", "target": "a@x.io,…"}, {"type": "userid",'
                ' "target": <user id>} or {"type": "organisation"}'
            )
    return recipients


def _addresses(text: str, where: str, errors: Errors) -> list[str]:
    found = []
    for address in (a.strip() for a in text.split(",")):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            errors.setdefault(f"{where}.target", []).append(f"{address!r} is not an e-mail address")
            continue
        found.append(address)
    return found
