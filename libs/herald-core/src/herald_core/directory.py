"""Who is who: the directory entries published on `notify.config.apps` and `notify.config.owners`.

The router resolves e-mail recipients from these at routing time (docs/routing.md): an app's owner
and collaborators, an owner's members with their users' e-mails. The API writes them; nothing
else does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class OwnerKind(StrEnum):
    ORGANISATION = "organisation"
    ACCOUNT = "account"


class CollaboratorEntry(BaseModel):
    """A collaborator of an app, with the e-mail to reach them (theirs, or their user's)."""

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str | None = None
    email: str | None = None
    username: str | None = None
    role: str = "collaborator"
    status: str = "accepted"


class AppEntry(BaseModel):
    """`notify.config.apps`, keyed by app id."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    owner_id: str
    region: str | None = None
    url: str | None = None
    collaborators: tuple[CollaboratorEntry, ...] = ()
    version: int = 1
    updated_at: AwareDatetime | None = None


class MemberEntry(BaseModel):
    """A member of an owner, with the user's contact details."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: str = "member"
    email: str | None = None
    name: str | None = None
    username: str | None = None


class OwnerEntry(BaseModel):
    """`notify.config.owners`, keyed by owner id: an organisation or an account, and its members."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: OwnerKind = OwnerKind.ORGANISATION
    name: str = ""
    members: tuple[MemberEntry, ...] = Field(default=())
    version: int = 1
    updated_at: AwareDatetime | None = None


class Directory:
    """Who is who, indexed for routing: apps, owners, the owners each user belongs to, e-mails.

    A plain in-memory structure (no I/O): the router keeps one current from the compacted topics
    with `put_*`/`remove_*` as records arrive; the API fills one from Postgres for
    `POST /v1/events/simulate`. Look-ups are dictionary reads, whatever the directory's size.
    """

    def __init__(self, apps: Iterable[AppEntry] = (), owners: Iterable[OwnerEntry] = ()) -> None:
        self.apps: dict[str, AppEntry] = {}
        self.owners: dict[str, OwnerEntry] = {}
        self._user_owners: dict[str, set[str]] = defaultdict(set)
        self._user_emails: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
        for app in apps:
            self.put_app(app)
        for owner in owners:
            self.put_owner(owner)

    # --- updates -------------------------------------------------------------------------------
    def put_app(self, app: AppEntry) -> None:
        self.remove_app(app.id)
        self.apps[app.id] = app
        for collaborator in app.collaborators:
            if collaborator.user_id and collaborator.email:
                self._user_emails[collaborator.user_id][("app", app.id)] = collaborator.email

    def remove_app(self, app_id: str) -> None:
        old = self.apps.pop(app_id, None)
        if old is not None:
            for collaborator in old.collaborators:
                if collaborator.user_id:
                    self._forget_email(collaborator.user_id, ("app", app_id))

    def put_owner(self, owner: OwnerEntry) -> None:
        self.remove_owner(owner.id)
        self.owners[owner.id] = owner
        for member in owner.members:
            self._user_owners[member.user_id].add(owner.id)
            if member.email:
                self._user_emails[member.user_id][("owner", owner.id)] = member.email

    def remove_owner(self, owner_id: str) -> None:
        old = self.owners.pop(owner_id, None)
        if old is not None:
            for member in old.members:
                self._user_owners[member.user_id].discard(owner_id)
                self._forget_email(member.user_id, ("owner", owner_id))

    def _forget_email(self, user_id: str, source: tuple[str, str]) -> None:
        emails = self._user_emails.get(user_id)
        if emails is not None:
            emails.pop(source, None)
            if not emails:
                del self._user_emails[user_id]

    # --- look-ups ------------------------------------------------------------------------------
    def app(self, app_id: str | None) -> AppEntry | None:
        return self.apps.get(app_id) if app_id else None

    def owner(self, owner_id: str | None) -> OwnerEntry | None:
        return self.owners.get(owner_id) if owner_id else None

    def owner_of(self, app_id: str | None, stated: str | None = None) -> str | None:
        """The app's owner as the directory knows it now (transfers apply), else `stated`."""
        app = self.app(app_id)
        return app.owner_id if app is not None else stated

    def owners_of_user(self, user_id: str) -> frozenset[str]:
        """The owners a user is a member of, and their own account (the owner with their id)."""
        return frozenset(self._user_owners.get(user_id, set()) | {user_id})

    def email_of_user(self, user_id: str) -> str | None:
        """The user's e-mail: from an owner's member list first, else from a collaboration."""
        emails = self._user_emails.get(user_id)
        if not emails:
            return None
        return emails[min(emails, key=lambda source: (source[0] != "owner", source))]
