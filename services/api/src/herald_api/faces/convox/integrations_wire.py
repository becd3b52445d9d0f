"""Convox's organisation integrations on the wire, as `integrations_api` declares them."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

# Convox organisation integrations and the audit log (integrations_api, audit_api).


class Integration(BaseModel):
    id: str = Field(description="The owner-scoped notifier's id", examples=["no-6c1f…"])
    owner_id: str = Field(examples=["org-1"])
    provider: Literal["slack", "discord"]
    name: str = Field(examples=["Slack #deploys (organisation integration)"])
    channel: str | None = Field(description="Where the provider posts", examples=["#deploys"])
    workspace: str | None = Field(
        description="Slack's workspace name, Discord's guild id", examples=["Acme"]
    )
    active: bool
    families: list[str] = Field(
        description="The families of events it gets: Convox's (docs/routing.md, Families)",
        examples=[["convox"]],
    )
    created_at: AwareDatetime | None


class IntegrationAnswer(BaseModel):
    integration: Integration


class IntegrationList(BaseModel):
    integrations: list[Integration]
