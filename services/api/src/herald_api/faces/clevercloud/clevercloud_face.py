"""Clever Cloud's organisation notifications face (docs/faces.md, "Clever Cloud"): hooks ⇄ the
one notifier model. Pure functions; `clevercloud_api` is the HTTP shell around them.

A hook is one or more owner-scoped notifiers that share `type_data.hook_id` (all marked
`type_data.face = "clevercloud"`, like every face's notifiers):

    webhook    one webhook notifier per URL, id `<hook id>.<position>`, type_data
               {webhook_url, format, hook_id, hook_kind: "webhook", hook_position, secret}:
               one signing secret per hook, generated at creation and kept by every edit
               (`hook_signing`, `signed_hook`); rotating it rotates every URL's notifier
    emailhook  one e-mail notifier, id `<hook id>.0`, type_data {hook_id,
               hook_kind: "emailhook", emails, user_ids, members, owner}

The hook's `events` are the notifiers' `selected_event_ids` as given (Clever Cloud ids and
`META_*` groups, resolved by the catalog at routing time); no `events` is `send_all_events`.
Its `scope` splits into the notifiers' `app_ids` (apps of the hook's owner) and `addon_ids`.
E-mail targets (`notified`) map onto the recipients the router resolves:

    {"type": "email", "target": "a@x.io,b@y.io"}   emails: [a@x.io, b@y.io]
    {"type": "userid", "target": "user_1"}         user_ids: [user_1]
    {"type": "userid"}                             owner: true (the owner's account; every
                                                   member for an organisation)
    {"type": "organisation"}                       members: true
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from email_validator import EmailNotValidError, validate_email
from herald_core.catalog import CATALOG, Family
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel

from herald_api.model.hooks import EMAILHOOK, FACE, WEBHOOK, ScopeFacts
from herald_api.model.platforms import platform_of
from herald_api.model.type_data import Errors, InvalidNotifier, check_type_data
from herald_api.model.webhook_secrets import signing_members

FORMATS = ("raw", "slack", "flowdock", "gitter")
MAX_URLS = 10
MAX_SCOPE = 200
READ_ONLY = frozenset({"id", "ownerId", "createdAt", "state", "failures"})
ADDON_PREFIX = "addon_"
NOT_SCOPABLE_PREFIXES = ("orga_", "user_")  # Clever Cloud's owner and user ids


@cache
def event_ids() -> tuple[str, ...]:
    """Clever Cloud's event ids, as `GET /v2/notifications/info/events` lists them. Pure.

    Its own types, and the alias ids it names other families' happenings with
    (`DEPLOYMENT_SUCCESS`, …): upper-case ids that are aliases but no type of their own.
    """
    own = {t.id for t in CATALOG.types() if t.family is Family.CLEVERCLOUD}
    aliased = {a for a, f in CATALOG.alias_families().items() if f is Family.CLEVERCLOUD}
    return tuple(sorted(own | aliased))


@cache
def meta_events() -> dict[str, list[str]]:
    """The meta-events and what they stand for today (the catalog's Clever Cloud groups). Pure."""
    return {g.id: list(g.members) for g in CATALOG.groups() if g.family is Family.CLEVERCLOUD}


def new_hook_id() -> str:
    return str(uuid.uuid4())


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


def _unknown(body: Mapping[str, Any], writable: Iterable[str]) -> Errors:
    allowed = READ_ONLY | set(writable)
    return {name: ["unknown field"] for name in sorted(set(body) - allowed)}


def _name(body: Mapping[str, Any], errors: Errors) -> str:
    name = body.get("name")
    if name is None:
        return ""
    if not isinstance(name, str) or len(name) > 200:
        errors.setdefault("name", []).append("must be a string of at most 200 characters")
        return ""
    return name.strip()


def _selection(body: Mapping[str, Any], errors: Errors) -> Selection:
    """`events`: Clever Cloud ids, `META_*` ids or any catalog id; absent or empty = all."""
    raw = body.get("events")
    if raw is None or raw == []:
        return Selection(send_all_events=True)
    if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
        errors.setdefault("events", []).append("must be a list of event ids")
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
    if raw is None:
        return HookScope()
    if not isinstance(raw, list) or not all(isinstance(i, str) and i for i in raw):
        errors.setdefault("scope", []).append("must be a list of app and add-on ids")
        return HookScope()
    if len(raw) > MAX_SCOPE:
        errors.setdefault("scope", []).append(f"at most {MAX_SCOPE} ids")
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
    errors = _unknown(body, ("name", "urls", "url", "format", "events", "scope"))
    common = _common(body, owner_id, facts, errors)
    raw_urls = body.get("urls")
    if raw_urls is None and "url" in body:
        raw_urls = [{"url": body["url"], "format": body.get("format", "raw")}]
    urls = _urls(raw_urls, errors, allow_loopback)
    if errors:
        raise InvalidNotifier(errors)
    return WebhookRequest(common, urls)


def _urls(raw: Any, errors: Errors, allow_loopback: bool) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or not raw:
        errors.setdefault("urls", []).append("must be a non-empty list of {format, url}")
        return ()
    if len(raw) > MAX_URLS:
        errors.setdefault("urls", []).append(f"at most {MAX_URLS} URLs")
    webhook = platform_of(Channel.WEBHOOK)
    found: list[tuple[str, str]] = []
    for position, item in enumerate(raw):
        where = f"urls.{position}"
        if not isinstance(item, dict) or set(item) - {"url", "format"}:
            errors.setdefault(where, []).append("must be an object {format, url}")
            continue
        fmt = item.get("format", "raw")
        if fmt not in FORMATS:
            errors.setdefault(f"{where}.format", []).append(f"must be one of {list(FORMATS)}")
        url_problems = check_type_data(
            webhook, {"webhook_url": item.get("url")}, allow_loopback=allow_loopback
        )
        for messages in url_problems.values():
            errors.setdefault(f"{where}.url", []).extend(messages)
        if isinstance(fmt, str) and isinstance(item.get("url"), str):
            found.append((fmt, item["url"]))
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
    errors = _unknown(body, ("name", "notified", "events", "scope"))
    common = _common(body, owner_id, facts, errors)
    recipients = _notified(body.get("notified"), errors)
    if errors:
        raise InvalidNotifier(errors)
    return EmailhookRequest(common, recipients)


def _notified(raw: Any, errors: Errors) -> dict[str, Any]:
    recipients: dict[str, Any] = {"emails": [], "user_ids": [], "members": False, "owner": False}
    if not isinstance(raw, list) or not raw:
        errors.setdefault("notified", []).append("must be a non-empty list of targets")
        return recipients
    for position, target in enumerate(raw):
        where = f"notified.{position}"
        kind = target.get("type") if isinstance(target, dict) else None
        value = target.get("target") if isinstance(target, dict) else None
        if kind == "organisation":
            recipients["members"] = True
        elif kind == "userid" and value is None:
            recipients["owner"] = True
        elif kind == "userid" and isinstance(value, str) and 0 < len(value) <= 200:
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


def _notifier(
    hook_id: str,
    position: int,
    owner_id: str,
    common: HookCommon,
    channel: Channel,
    type_data: dict[str, Any],
    now: datetime,
    *,
    is_default: bool = False,
) -> Notifier:
    return Notifier(
        id=f"{hook_id}.{position}",
        name=common.name,
        is_default=is_default,
        scope=Scope.OWNER,
        owner_id=owner_id,
        app_ids=common.scope.app_ids,
        addon_ids=common.scope.addon_ids,
        platform=channel,
        selection=common.selection,
        type_data={**type_data, "face": FACE, "hook_id": hook_id, "hook_position": position},
        created_at=now,
        updated_at=now,
    )


def webhook_notifiers(
    hook_id: str, owner_id: str, request: WebhookRequest, now: datetime
) -> list[Notifier]:
    """The notifiers of a new webhook hook: one per URL. Pure."""
    return [
        _notifier(
            hook_id,
            position,
            owner_id,
            request.common,
            Channel.WEBHOOK,
            {"webhook_url": url, "format": fmt, "hook_kind": WEBHOOK},
            now,
        )
        for position, (fmt, url) in enumerate(request.urls)
    ]


def hook_signing(current: Sequence[Notifier]) -> dict[str, Any]:
    """The signing members a hook's notifiers share (`webhook_secrets.SIGNING_KEYS`): those of
    its first notifier that has a secret; empty for a new hook, or one stored before hooks
    were signed. Pure."""
    for notifier in current:
        members = signing_members(notifier.type_data)
        if members.get("secret"):
            return members
    return {}


def signed_hook(notifiers: Sequence[Notifier], signing: Mapping[str, Any]) -> list[Notifier]:
    """A webhook hook's notifiers, each with the hook's signing members. Pure."""
    return [n.model_copy(update={"type_data": {**n.type_data, **signing}}) for n in notifiers]


def emailhook_notifier(
    hook_id: str,
    owner_id: str,
    request: EmailhookRequest,
    now: datetime,
    *,
    is_default: bool = False,
) -> Notifier:
    """The e-mail notifier of a new e-mail hook. Pure."""
    return _notifier(
        hook_id,
        0,
        owner_id,
        request.common,
        Channel.EMAIL,
        {**request.recipients, "hook_kind": EMAILHOOK},
        now,
        is_default=is_default,
    )


def hook_replaced(
    current: Sequence[Notifier], wanted: Sequence[Notifier], now: datetime
) -> tuple[list[Notifier], list[Notifier], list[Notifier]]:
    """An edited hook (`PUT`): (notifiers to add, to update, to remove), by position. Pure.

    A position that stays is the same notifier, updated: it keeps its id, `created_at`,
    `is_default` and version history, and is active again (saving a hook switches a URL that
    endpoint health disabled back on). Positions beyond the new URLs are removed.
    """
    by_id = {n.id: n for n in current}
    added, updated = [], []
    for notifier in wanted:
        before = by_id.pop(notifier.id, None)
        if before is None:
            added.append(notifier)
            continue
        kept = {"created_at": before.created_at, "version": before.version}
        kept["is_default"] = before.is_default
        updated.append(notifier.model_copy(update=kept).touched(now))
    return added, updated, list(by_id.values())
