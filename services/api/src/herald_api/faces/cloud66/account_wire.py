"""Cloud 66's account notifications on the wire, as `account_notifications_api` declares them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from herald_api.http.wire_models import GENERATED_NOTE, SECRET_EXAMPLE


class AccountChannel(BaseModel):
    """One channel of a user's account notifications and its settings (secrets masked)."""

    model_config = ConfigDict(extra="allow")

    configured: bool = Field(description="Whether the channel is set up (it has a notifier)")
    notifier_id: str | None = Field(description="The notifier underneath, if any")
    active: bool = Field(description="False when endpoint health disabled the channel")


class AccountEventType(BaseModel):
    id: str = Field(examples=["server.stopped"])
    name: str = Field(examples=["Server stopped"])
    description: str
    channels: dict[str, bool] = Field(
        description="Channel name → enabled", examples=[{"email": True, "webhook": False}]
    )


class AccountNotifications(BaseModel):
    user_id: str = Field(examples=["us-1"])
    channels: dict[str, AccountChannel] = Field(
        description="email (the user's address), slack, webhook, hipchat, ios_push, browser"
    )
    event_types: list[AccountEventType]


class AccountNotificationsAnswer(BaseModel):
    account_notifications: AccountNotifications
    secret: str | SkipJsonSchema[None] = Field(
        default=None,
        description="When this change set up the webhook channel: " + GENERATED_NOTE,
        examples=[SECRET_EXAMPLE],
    )
