"""Scalingo's legacy notifications on the wire: the requests `legacy_notifications` parses
with them and the answers `legacy_notifications_api` declares."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from herald_api.http.wire_models import GENERATED_NOTE, IGNORED, SECRET_EXAMPLE, Closed

# --- other platforms' faces: Scalingo's legacy notifications, Cloud 66 account notifications --


class LegacyNotification(BaseModel):
    """A legacy notification: a notifier underneath (`GET /v1/apps/{app}/notifiers` too)."""

    id: str = Field(examples=["no-824fd8bb-0efe-4b7b-9605-1b98110abeef"])
    app_id: str = Field(examples=["app-1"])
    type: Literal["webhook", "slack"] = Field(description="Read from `webhook_url`")
    webhook_url: str = Field(examples=["https://hooks.slack.com/services/TXXXX/BXXXX/XXXXXXXX"])
    active: bool


class LegacyNotificationIn(Closed):
    webhook_url: str = Field(
        min_length=1,
        description="A Slack incoming webhook makes a `slack` notification, any other URL a"
        " `webhook` one (deployment events as Scalingo's JSON)",
        examples=["https://example.com/hooks/scalingo"],
    )
    active: bool | Literal["true", "false"] = Field(
        default=True, description="Enabled by default; one enabled notification per type"
    )
    id: str | SkipJsonSchema[None] = Field(default=None, description=IGNORED)
    app_id: str | SkipJsonSchema[None] = Field(default=None, description=IGNORED)
    type: Literal["webhook", "slack"] | SkipJsonSchema[None] = Field(
        default=None, description="Read-only: must match the type the URL makes"
    )


class LegacyNotificationPatch(LegacyNotificationIn):
    webhook_url: str | SkipJsonSchema[None] = Field(  # type: ignore[assignment]
        default=None,
        min_length=1,
        description="A URL of the notification's own type (a Slack URL for `slack`)",
        examples=["https://example.com/hooks/scalingo"],
    )
    active: bool | Literal["true", "false"] | SkipJsonSchema[None] = None  # type: ignore[assignment]


class LegacyNotificationCreateBody(Closed):
    notification: LegacyNotificationIn


class LegacyNotificationPatchBody(Closed):
    notification: LegacyNotificationPatch


class LegacyNotificationAnswer(BaseModel):
    notification: LegacyNotification
    secret: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Creation of a `webhook` notification only: " + GENERATED_NOTE,
        examples=[SECRET_EXAMPLE],
    )


class LegacyNotificationList(BaseModel):
    notifications: list[LegacyNotification]
