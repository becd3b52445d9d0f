"""What the directory endpoints accept (`directory_api`): ids, apps, collaborators, owners, users.

The request models parse the bodies (`http.context.parse`, whose 422 lists every problem) and
describe them in the OpenAPI document (`wire_models`), so each constraint is written once.
"""

from __future__ import annotations

import re
from collections import Counter

from herald_core.directory import OwnerKind
from herald_core.notifiers import NAME_MAX_LENGTH
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"  # URL-safe: clients paste ids into paths raw
ID_MAX_LENGTH = NAME_MAX_LENGTH
ID_SHAPE = re.compile(ID_PATTERN)


class AppIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH, examples=["my-app"])
    owner_id: str = Field(
        min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, examples=["org-1"]
    )
    region: str | None = Field(default=None, max_length=100, examples=["osc-fr1"])
    url: str | None = Field(default=None, max_length=2000, examples=["https://my-app.example.com"])
    default_notifier_collaborators: bool = Field(
        default=False, description="Whether the default notifier also mails the collaborators"
    )


class CollaboratorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    user_id: str | None = Field(default=None, max_length=NAME_MAX_LENGTH, examples=["us-1"])
    username: str | None = Field(default=None, max_length=NAME_MAX_LENGTH, examples=["ada"])
    role: str = Field(
        default="collaborator", pattern=r"^(owner|admin|collaborator|limited_collaborator)$"
    )
    status: str = Field(default="invited", pattern=r"^(invited|accepted)$")


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(
        min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, examples=["us-1"]
    )
    role: str = Field(default="member", max_length=50)


class OwnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: OwnerKind = OwnerKind.ORGANISATION
    name: str = Field(default="", max_length=NAME_MAX_LENGTH)
    members: list[MemberIn] | None = Field(
        default=None, description="Replaces the members when given; one entry per user"
    )

    @field_validator("members")
    @classmethod
    def _one_entry_per_user(cls, members: list[MemberIn] | None) -> list[MemberIn] | None:
        counts = Counter(m.user_id for m in members or ())
        twice = sorted(user_id for user_id, n in counts.items() if n > 1)
        if twice:
            raise ValueError(f"lists {', '.join(twice)} more than once")
        return members


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    name: str | None = Field(default=None, max_length=NAME_MAX_LENGTH, examples=["Ada Lovelace"])
    username: str | None = Field(default=None, max_length=NAME_MAX_LENGTH, examples=["ada"])
