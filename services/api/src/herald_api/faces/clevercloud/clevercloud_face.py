"""Clever Cloud's organisation notifications face (docs/faces.md, "Clever Cloud"): hooks ⇄ the
one notifier model. Pure functions; `clevercloud_api` is the HTTP shell around them, and
`clevercloud_requests` checks the requests whose notifiers this module makes.

A hook is one or more owner-scoped notifiers that share `type_data.hook_id` (all marked
`type_data.face = "clevercloud"`, like every face's notifiers; `herald_api.model.hooks`):

    webhook    one webhook notifier per URL, id `<hook id>.<position>`, type_data
               {webhook_url, format, hook_id, hook_kind: "webhook", hook_position, secret}:
               one signing secret per hook, generated at creation and kept by every edit
               (`hook_signing`, `signed_hook`); rotating it rotates every URL's notifier
    emailhook  one e-mail notifier, id `<hook id>.0`, type_data {hook_id,
               hook_kind: "emailhook", emails, user_ids, members, owner}

The hook's `events` are the notifiers' `selected_event_ids` as given (Clever Cloud ids and
`META_*` groups, resolved by the catalog at routing time); no `events` is `send_all_events`.
Its `scope` splits into the notifiers' `app_ids` (apps of the hook's owner) and `addon_ids`;
its e-mail targets (`notified`) into the recipients the router resolves (`clevercloud_requests`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from herald_core.catalog import CATALOG, Family
from herald_core.notifiers import Notifier, Scope
from herald_core.topics import Channel

from herald_api.faces.clevercloud.clevercloud_requests import (
    EmailhookRequest,
    HookCommon,
    WebhookRequest,
)
from herald_api.model.hooks import EMAILHOOK, FACE, WEBHOOK
from herald_api.model.webhook_secrets import signing_members


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
