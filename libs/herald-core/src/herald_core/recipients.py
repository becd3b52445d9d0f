"""Who receives an e-mail notifier's message, resolved from the directory at routing time.

An e-mail notifier's `type_data` names recipients by role, so that a collaborator added or an app
transferred takes effect for the next event without touching the notifier:

    owner: true          the app's owner: an account's user, or every member of an organisation
    collaborators: true  the app's accepted collaborators
    members: true        every member of the notifier's owner (Clever Cloud's "organisation")
    user_ids: [...]      these users
    emails: [...]        these addresses
    unsubscribed: [...]  addresses that used the one-click unsubscribe link: never mailed

A user-scoped notifier (Cloud 66) mails its user. Addresses are de-duplicated and compared with
`unsubscribed` case-insensitively.
Pure functions over plain data.
"""

from __future__ import annotations

from collections.abc import Iterable

from herald_core.deliveries import Recipient
from herald_core.directory import Directory, OwnerEntry, OwnerKind
from herald_core.envelope import Event
from herald_core.notifiers import NotifierLike, Scope
from herald_core.topics import Channel


def _members(owner: OwnerEntry | None) -> list[Recipient]:
    if owner is None:
        return []
    return [
        Recipient(address=m.email, name=m.name, user_id=m.user_id) for m in owner.members if m.email
    ]


def _owner_recipients(event: Event, directory: Directory) -> list[Recipient]:
    owner_id = directory.owner_of(event.app_id, event.owner_id)
    owner = directory.owner(owner_id)
    if owner is None or owner.kind is OwnerKind.ORGANISATION:
        return _members(owner)
    account = [m for m in owner.members if m.user_id == owner.id and m.email]
    chosen = account or [m for m in owner.members if m.email]
    return [Recipient(address=m.email, name=m.name, user_id=m.user_id) for m in chosen if m.email]


def _collaborators(event: Event, directory: Directory) -> list[Recipient]:
    app = directory.app(event.app_id)
    if app is None:
        return []
    return [
        Recipient(address=c.email, name=c.username, user_id=c.user_id)
        for c in app.collaborators
        if c.email and c.status == "accepted"
    ]


def _users(user_ids: Iterable[object], directory: Directory) -> list[Recipient]:
    found = []
    for user_id in user_ids:
        if isinstance(user_id, str) and (email := directory.email_of_user(user_id)):
            found.append(Recipient(address=email, user_id=user_id))
    return found


def _addresses(emails: Iterable[object]) -> list[Recipient]:
    return [Recipient(address=e) for e in emails if isinstance(e, str) and "@" in e]


def unique_recipients(candidates: Iterable[Recipient]) -> tuple[Recipient, ...]:
    """The first recipient of each address (case-insensitive), in a stable order. Pure."""
    seen: dict[str, Recipient] = {}
    for recipient in candidates:
        seen.setdefault(recipient.address.strip().lower(), recipient)
    return tuple(seen[key] for key in sorted(seen))


def resolve_recipients(
    notifier: NotifierLike, event: Event, directory: Directory
) -> tuple[Recipient, ...]:
    """The e-mail recipients of `notifier` for `event` (empty for channels without recipients)."""
    if notifier.platform is not Channel.EMAIL:
        return ()
    data = notifier.type_data
    candidates: list[Recipient] = []
    if notifier.scope is Scope.USER and notifier.user_id:
        candidates += _users([notifier.user_id], directory)
    if data.get("owner"):
        candidates += _owner_recipients(event, directory)
    if data.get("collaborators"):
        candidates += _collaborators(event, directory)
    if data.get("members"):
        candidates += _members(
            directory.owner(notifier.owner_id or directory.owner_of(event.app_id, event.owner_id))
        )
    candidates += _users(data.get("user_ids") or [], directory)
    candidates += _addresses(data.get("emails") or [])
    unsubscribed = data.get("unsubscribed")
    dropped = {
        a.strip().lower()
        for a in (unsubscribed if isinstance(unsubscribed, list) else [])
        if isinstance(a, str)
    }
    return unique_recipients(r for r in candidates if r.address.strip().lower() not in dropped)
