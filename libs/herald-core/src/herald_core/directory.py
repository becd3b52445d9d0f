"""Who is who: the directory entries published on `notify.config.apps` and `notify.config.owners`.

The router resolves e-mail recipients from these at routing time (DESIGN.md §4): an app's owner
and collaborators, an owner's members with their users' e-mails. The API writes them; nothing
else does.
"""

from __future__ import annotations

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
