"""The canonical event envelope (docs/architecture.md).

`Event` is what travels on `notify.events`: the Scalingo event shape, generalised. Its
`type_data` is checked against the catalog by `herald_core.intake`, not here, so that this model
stays a plain container that every service can parse cheaply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Identifier = str


class EventUser(BaseModel):
    """Who caused the event, when a person did."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str | None = None
    username: str | None = None
    email: str | None = None


class EventLike(Protocol):
    """What routing reads of an event: an `Event`, or the router's `WireEvent`
    (herald_core.wire_event), which holds the same fields under the same names."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def app_id(self) -> str | None: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def addon_id(self) -> str | None: ...
    @property
    def rack(self) -> str | None: ...
    @property
    def type_data(self) -> dict[str, Any]: ...


class Event(BaseModel):
    """One happening on the platform, as Herald routes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=120)
    created_at: AwareDatetime
    source: str = Field(default="unknown", min_length=1, max_length=120)
    app_id: str | None = Field(default=None, max_length=200)
    app_name: str | None = Field(default=None, max_length=200)
    owner_id: str | None = Field(default=None, max_length=200)
    addon_id: str | None = Field(default=None, max_length=200)
    rack: str | None = Field(default=None, max_length=200)
    user: EventUser | None = None
    type_data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_subject(self) -> Self:
        if not self.app_id and not self.owner_id:
            raise ValueError("an event needs an app_id or an owner_id")
        return self

    @property
    def key(self) -> str:
        """The Kafka key: the app id, else the owner id (per-app ordering)."""
        return self.app_id or self.owner_id or ""

    def to_json(self) -> bytes:
        """The wire form, identical on `notify.events`, in `raw` webhooks and on the live stream."""
        return self.model_dump_json(exclude_none=False).encode()
