"""Cloud 66's account notifications ⇄ the one notifier model. Pure.

A user's matrix of account event types by channels is one user-scoped notifier per channel the
user set up, marked `type_data.face = "cloud66_account"`, with a deterministic id
(`notifier_id_for`; what the model knows of these notifiers is
`herald_api.model.account_notifiers`):

    channel   platform       its settings (= the notifier's type_data)
    email     email          none: the user's own address (`user_ids: [user]`)
    slack     slack          webhook_url (a Slack incoming webhook)
    webhook   webhook        webhook_url; the body is the `cloud66` format (payload + timestamp
                             + event_type)
    hipchat   hipchat        token, room (webhook_url: a Hipchat Server, api.hipchat.com if unset)
    ios_push  ios_push       device_tokens (stored now; the APNs sender comes later)
    browser   browser_push   subscriptions (stored now; the Web Push sender comes later)

A type is enabled on a channel when the channel's notifier selects it. User scope is what the
router gives Cloud 66's per-user settings: the notifier receives the events of every owner the
user belongs to, their own account (the owner whose id is the user's) included; account events
carry `owner_id`, so they reach every member who asked for them, each on their own channels.

E-mail is on by default for every account type except those the catalog marks
`default_email=False` (`account_suspended`): the e-mail notifier is created with the user, and
a user without one (created before this face) is shown, and changed from, those defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from herald_core.notifiers import Notifier, Scope, Selection, WebhookFormat
from herald_core.topics import Channel

from herald_api.model.account_notifiers import (
    FACE,
    account_notifier,
    account_types,
    default_email_notifier,
)
from herald_api.model.chat_hosts import ChatHosts
from herald_api.model.platforms import platform_of
from herald_api.model.type_data import (
    Errors,
    InvalidNotifier,
    check_type_data,
    mask_type_data,
    merge_type_data,
)

CHANNELS: Mapping[str, Channel] = {
    "email": Channel.EMAIL,
    "slack": Channel.SLACK,
    "webhook": Channel.WEBHOOK,
    "hipchat": Channel.HIPCHAT,
    "ios_push": Channel.APNS,
    "browser": Channel.WEBPUSH,
}
SETTINGS: Mapping[str, tuple[str, ...]] = {
    "email": (),
    "slack": ("webhook_url",),
    "webhook": ("webhook_url",),
    "hipchat": ("token", "room", "webhook_url"),
    "ios_push": ("device_tokens",),
    "browser": ("subscriptions",),
}
SHOWN_EMPTY: Mapping[str, Any] = {"device_tokens": [], "subscriptions": []}
FIXED: Mapping[str, Mapping[str, Any]] = {
    "webhook": {"format": WebhookFormat.CLOUD66.value},
    "hipchat": {"webhook_url": "https://api.hipchat.com"},
}


def channel_of(notifier: Notifier) -> str | None:
    """The face's channel name of one of its notifiers, else None. Pure."""
    if notifier.type_data.get("face") != FACE or notifier.scope is not Scope.USER:
        return None
    return next((name for name, c in CHANNELS.items() if c is notifier.platform), None)


def _new(user_id: str, channel: str, type_data: dict[str, Any], now: datetime) -> Notifier:
    return account_notifier(
        user_id, channel, CHANNELS[channel], {**FIXED.get(channel, {}), **type_data}, now
    )


def by_channel(user_id: str, notifiers: Iterable[Notifier], now: datetime) -> dict[str, Notifier]:
    """The user's notifiers by channel name; the default e-mail one when none is stored. Pure."""
    found = {name: n for n in notifiers if (name := channel_of(n)) is not None}
    found.setdefault("email", default_email_notifier(user_id, now))
    return found


def matrix(user_id: str, email: str | None, channels: Mapping[str, Notifier]) -> dict[str, Any]:
    """The `account_notifications` answer: each channel's settings, each type's toggles. Pure."""
    shown: dict[str, Any] = {}
    for name in CHANNELS:
        notifier = channels.get(name)
        data = mask_type_data(notifier.type_data) if notifier else {}
        shown[name] = {
            "configured": notifier is not None,
            "notifier_id": notifier.id if notifier else None,
            "active": notifier.active if notifier else False,
            **{key: data.get(key, SHOWN_EMPTY.get(key)) for key in SETTINGS[name]},
            **({"email": email} if name == "email" else {}),
        }
    selected = {name: frozenset(n.selection.selected_event_ids) for name, n in channels.items()}
    return {
        "user_id": user_id,
        "channels": shown,
        "event_types": [
            {
                "id": t.id,
                "name": t.display_name,
                "description": t.description,
                "channels": {name: t.id in selected.get(name, ()) for name in CHANNELS},
            }
            for t in account_types()
        ],
    }


def _settings_changes(
    user_id: str,
    current: Mapping[str, Notifier],
    given: Mapping[str, Any],
    now: datetime,
    errors: Errors,
    *,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None,
) -> tuple[dict[str, Notifier], set[str]]:
    """Channels set up or changed (by name), and channels removed (`null`)."""
    changed: dict[str, Notifier] = {}
    removed: set[str] = set()
    for name, settings in given.items():
        field = f"channels.{name}"
        if name not in CHANNELS:
            errors.setdefault(field, []).append(f"unknown channel (one of {', '.join(CHANNELS)})")
        elif settings is None:
            if name == "email":
                errors.setdefault(field, []).append(
                    "e-mail goes to the user's address: switch its types off instead"
                )
            removed.add(name)
        else:
            unknown = sorted(set(settings) - set(SETTINGS[name]))
            for key in unknown:
                errors.setdefault(f"{field}.{key}", []).append("unknown setting")
            base = current.get(name) or _new(user_id, name, {}, now)
            data = merge_type_data(base.type_data, settings)
            for key, value in {"face": FACE, **FIXED.get(name, {})}.items():
                data.setdefault(key, value)
            problems = check_type_data(
                platform_of(CHANNELS[name]),
                data,
                allow_loopback=allow_loopback,
                chat_hosts=chat_hosts,
            )
            for key, messages in problems.items():
                errors.setdefault(f"{field}.{key.removeprefix('type_data.')}", []).extend(messages)
            # Saving a channel's settings switches it back on (after endpoint health disabled it).
            changed[name] = base.model_copy(update={"type_data": data, "active": True})
    return changed, removed


def _toggle(
    channels: dict[str, Notifier],
    given: Mapping[str, Mapping[str, bool]],
    errors: Errors,
) -> set[str]:
    """Apply per-type per-channel toggles to `channels` in place; the channels touched."""
    known = {t.id for t in account_types()}
    wanted: dict[str, dict[str, bool]] = {}
    for type_id, toggles in given.items():
        if type_id not in known:
            errors.setdefault(f"event_types.{type_id}", []).append(
                "not an account notification type"
            )
            continue
        for name, enabled in toggles.items():
            field = f"event_types.{type_id}.{name}"
            if name not in CHANNELS:
                errors.setdefault(field, []).append("unknown channel")
            elif enabled and name not in channels:
                errors.setdefault(field, []).append(f"set up channels.{name} first")
            elif name in channels:
                wanted.setdefault(name, {})[type_id] = enabled
    for name, changes in wanted.items():
        notifier = channels[name]
        on = set(notifier.selection.selected_event_ids)
        on |= {t for t, enabled in changes.items() if enabled}
        on -= {t for t, enabled in changes.items() if not enabled}
        ordered = tuple(t.id for t in account_types() if t.id in on)
        channels[name] = notifier.model_copy(
            update={"selection": Selection(selected_event_ids=ordered)}
        )
    return set(wanted)


def changed_channels(
    user_id: str,
    stored: Iterable[Notifier],
    change: Mapping[str, Any],
    now: datetime,
    *,
    allow_loopback: bool,
    chat_hosts: ChatHosts | None = None,
) -> tuple[list[Notifier], list[Notifier]]:
    """The notifiers to write and those to delete for a change. Pure.

    `change` has optional `channels` (name → settings, or null to remove the channel) and
    `event_types` (type id → channel name → enabled). The e-mail notifier is written whenever
    it is not stored yet, so the defaults a user sees become theirs on their first change.

    Raises:
        InvalidNotifier: listing every problem, by dotted field path.
    """
    stored_by_channel = {name: n for n in stored if (name := channel_of(n)) is not None}
    current = by_channel(user_id, stored_by_channel.values(), now)
    errors: Errors = {}
    changed, removed = _settings_changes(
        user_id,
        current,
        change.get("channels") or {},
        now,
        errors,
        allow_loopback=allow_loopback,
        chat_hosts=chat_hosts,
    )
    channels = {**{k: v for k, v in current.items() if k not in removed}, **changed}
    touched = set(changed) | _toggle(channels, change.get("event_types") or {}, errors)
    if errors:
        raise InvalidNotifier(errors)
    if "email" not in stored_by_channel:
        touched.add("email")
    writes = [
        channels[name] if name not in stored_by_channel else channels[name].touched(now)
        for name in CHANNELS
        if name in touched and name in channels
    ]
    deletes = [stored_by_channel[n] for n in CHANNELS if n in removed and n in stored_by_channel]
    return writes, deletes
