"""The one notifier model (docs/architecture.md) that every platform's face translates onto.

A notifier says *who* is concerned (scope, narrowed by `families`), *which* events (selection),
and *where* to send (platform + type_data). It travels on `notify.config.notifiers` as JSON
keyed by its id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from herald_core.catalog.model import Family
from herald_core.topics import Channel


class Scope(StrEnum):
    APP = "app"
    OWNER = "owner"
    USER = "user"


class Preset(StrEnum):
    """Selections resolved against the catalog at routing time, never stored as id lists."""

    DEPLOYMENTS = "deployments"
    CRITICAL_ALERTS = "critical_alerts"


class WebhookFormat(StrEnum):
    RAW = "raw"
    SCALINGO = "scalingo"
    CLOUD66 = "cloud66"
    CLOUDEVENTS = "cloudevents"
    SLACK = "slack"
    FLOWDOCK = "flowdock"
    GITTER = "gitter"
    CONVOX = "convox"


class Selection(BaseModel):
    """Which events a notifier wants; any matching rule selects the event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    send_all_events: bool = False
    send_all_alerts: bool = False
    selected_event_ids: tuple[str, ...] = ()
    preset: Preset | None = None


NAME_MAX_LENGTH = 200
"""The longest id or name anything of Herald carries (notifiers, apps, owners, users)."""


class SelectionLike(Protocol):
    """What routing reads of a selection: `Selection`, or the router's compact one."""

    @property
    def send_all_events(self) -> bool: ...
    @property
    def send_all_alerts(self) -> bool: ...
    @property
    def selected_event_ids(self) -> tuple[str, ...]: ...
    @property
    def preset(self) -> Preset | None: ...


class NotifierLike(Protocol):
    """What routing reads of a notifier: a `Notifier`, or the router's `CompactNotifier`
    (herald_core.compact_notifiers), which holds the same fields under the same names."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def is_default(self) -> bool: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def app_id(self) -> str | None: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def app_ids(self) -> tuple[str, ...]: ...
    @property
    def addon_ids(self) -> tuple[str, ...]: ...
    @property
    def racks(self) -> tuple[str, ...]: ...
    @property
    def families(self) -> tuple[Family, ...]: ...
    @property
    def platform(self) -> Channel: ...
    @property
    def selection(self) -> SelectionLike: ...
    @property
    def type_data(self) -> dict[str, Any]: ...
    @property
    def version(self) -> int: ...
    @property
    def channel(self) -> Channel: ...


class Notifier(BaseModel):
    """One configured destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    name: str = Field(default="", max_length=NAME_MAX_LENGTH)
    active: bool = True
    is_default: bool = False
    scope: Scope = Scope.APP
    app_id: str | None = None
    owner_id: str | None = None
    user_id: str | None = None
    app_ids: tuple[str, ...] = ()
    addon_ids: tuple[str, ...] = ()
    racks: tuple[str, ...] = ()
    families: tuple[Family, ...] = Field(
        default=(),
        description="Only events that answer to an id of one of these families (none: any)",
    )
    platform: Channel
    selection: Selection = Selection()
    type_data: dict[str, Any] = Field(default_factory=dict)
    version: int = 1
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _scope_has_its_id(self) -> Self:
        needed = {Scope.APP: self.app_id, Scope.OWNER: self.owner_id, Scope.USER: self.user_id}
        if not needed[self.scope]:
            raise ValueError(f"a notifier of scope {self.scope} needs {self.scope}_id")
        return self

    @property
    def channel(self) -> Channel:
        """The delivery channel; today one per platform."""
        return self.platform

    def touched(self, now: datetime) -> Notifier:
        """A copy with `updated_at` and `version` moved on (optimistic concurrency)."""
        return self.model_copy(update={"updated_at": now, "version": self.version + 1})
