"""The shape of each platform's `type_data`, as pydantic models: member types, lengths and
patterns, checked strictly by `model.shapes` (every problem listed, at `type_data.<member>`).

What a model cannot know stays in `type_data`: URL policy and chat hosts, e-mail addresses,
header names, and the rules between members (a Convox key needs the `convox` format). Members
a platform does not name are left alone (`extra="allow"`): faces keep their own markers there.
"""

from __future__ import annotations

from typing import Annotated, Any

from herald_core.notifiers import WebhookFormat
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from herald_api.model.webhook_secrets import MAX_PREVIOUS, SECRET_SHAPE

CONVOX_KEY_MAX = 500
CONVOX_MORE_KEYS = 3  # Convox: up to 4 keys during a rotation


def _secret(value: str) -> str:
    if not SECRET_SHAPE.match(value):
        raise ValueError("must look like whsec_<base64, 24+ chars>")
    return value


Secret = Annotated[str, AfterValidator(_secret)]
ConvoxKey = Annotated[str, Field(min_length=16, max_length=CONVOX_KEY_MAX)]
DeviceToken = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32,200}$")]


class TypeDataShape(BaseModel):
    """A platform's type_data: only the members it names are checked."""

    model_config = ConfigDict(extra="allow")


class WebhookShape(TypeDataShape):
    format: WebhookFormat | None = None
    secret: Secret | None = None
    secrets: list[Secret] | None = Field(default=None, max_length=MAX_PREVIOUS)
    headers: dict[str, str] | None = None
    convox_signing_key: ConvoxKey | None = None
    convox_signing_keys: list[ConvoxKey] | None = Field(default=None, max_length=CONVOX_MORE_KEYS)


class EmailShape(TypeDataShape):
    emails: list[str] = []
    user_ids: list[str] = []
    owner: bool | None = None
    collaborators: bool | None = None


class HipchatShape(TypeDataShape):
    token: str = Field(min_length=1)
    room: str = Field(min_length=1)


class IosPushShape(TypeDataShape):
    device_tokens: list[DeviceToken]


class BrowserPushShape(TypeDataShape):
    subscriptions: list[Any]


SHAPES: dict[str, type[TypeDataShape]] = {
    "webhook": WebhookShape,
    "email": EmailShape,
    "hipchat": HipchatShape,
    "ios_push": IosPushShape,
    "browser_push": BrowserPushShape,
}
"""By platform name; a platform not listed has only its URL checked (`type_data`)."""
