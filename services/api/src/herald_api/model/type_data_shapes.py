"""The shape of each platform's `type_data`, as pydantic models: member types, lengths and
patterns, checked strictly by `model.shapes` (every problem listed, at `type_data.<member>`).

What a model cannot know stays in `type_data`: URL policy and chat hosts, e-mail addresses,
header names, and the rules between members (a Convox key needs the `convox` format). Members
a platform does not name are left alone (`extra="allow"`): faces keep their own markers there.

`TYPE_DATA` is what the OpenAPI document shows for each platform (`http.wire_models`): one model
per platform, its shape above (`SHAPES`) plus the members `type_data` checks by hand (the
`webhook_url` of webhook-like platforms, Slack's bot token and channel), which are described
here and checked there, never twice. A documented model is never used to validate.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from herald_core.notifiers import WebhookFormat
from herald_core.urlpolicy import MAX_URL_LENGTH
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from herald_api.model.chat_hosts import allowed_patterns
from herald_api.model.platforms import PLATFORMS
from herald_api.model.webhook_secrets import MAX_PREVIOUS, SECRET_PATTERN, SECRET_SHAPE

CONVOX_KEY_MAX = 500
CONVOX_MORE_KEYS = 3  # Convox: up to 4 keys during a rotation
WRITE_ONLY = "write-only (answers show it masked)"


def _secret(value: str) -> str:
    if not SECRET_SHAPE.match(value):
        raise ValueError("must look like whsec_<base64, 24+ chars>")
    return value


Secret = Annotated[
    str,
    AfterValidator(_secret),
    WithJsonSchema({"type": "string", "pattern": SECRET_PATTERN}),
]
ConvoxKey = Annotated[str, Field(min_length=16, max_length=CONVOX_KEY_MAX)]
DeviceToken = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{32,200}$")]


class TypeDataShape(BaseModel):
    """A platform's type_data: only the members it names are checked."""

    model_config = ConfigDict(extra="allow")


class WebhookShape(TypeDataShape):
    format: WebhookFormat | None = Field(
        default=None, description="The body's format; raw if absent"
    )
    secret: Secret | None = Field(
        default=None,
        description="The signing secret, " + WRITE_ONLY + ": generated when absent at creation,"
        " never removed (rotate it with `…/secret/rotate`)",
    )
    secrets: list[Secret] | None = Field(
        default=None,
        max_length=MAX_PREVIOUS,
        description="Older secrets kept by hand (no expiry), each also signing; " + WRITE_ONLY,
    )
    headers: dict[str, str] | None = Field(
        default=None,
        description="Extra request headers; those HTTP or the signature own (`Host`,"
        " `Content-Type`, hop-by-hop, `webhook-*`) cannot be set. `Authorization` is masked",
    )
    convox_signing_key: ConvoxKey | None = Field(
        default=None,
        description="Signs the `convox` format (`Convox-Signature`), printable ASCII; "
        + WRITE_ONLY,
    )
    convox_signing_keys: list[ConvoxKey] | None = Field(
        default=None,
        max_length=CONVOX_MORE_KEYS,
        description="Older Convox keys still signing during a rotation, beside"
        " `convox_signing_key`",
    )


class EmailShape(TypeDataShape):
    emails: list[str] = Field(default=[], description="Addresses to write to")
    user_ids: list[str] = Field(default=[], description="Users (`/v1/users`) to write to")
    owner: bool | None = Field(default=None, description="Also the app's owner")
    collaborators: bool | None = Field(default=None, description="Also the app's collaborators")


class HipchatShape(TypeDataShape):
    token: str = Field(min_length=1, description="The room's API v1 token, " + WRITE_ONLY)
    room: str = Field(min_length=1, description="The room's id or name")


class IosPushShape(TypeDataShape):
    device_tokens: list[DeviceToken] = Field(description="APNs device tokens (hexadecimal)")


class BrowserPushShape(TypeDataShape):
    subscriptions: list[Any] = Field(description="Web Push subscriptions, as browsers give them")


SHAPES: dict[str, type[TypeDataShape]] = {
    "webhook": WebhookShape,
    "email": EmailShape,
    "hipchat": HipchatShape,
    "ios_push": IosPushShape,
    "browser_push": BrowserPushShape,
}
"""By platform name; a platform not listed has only its URL checked (`type_data`)."""


# --- what the OpenAPI document shows, per platform -----------------------------------------


def _document(schema: JsonDict, model: type[Any]) -> None:
    """The schema of a documented model: its platform's host rule, its example, and for Slack
    the members it needs one way or the other."""
    patterns = allowed_patterns(model.platform_id, {})
    if patterns:
        hosts = ", ".join(patterns)
        schema["description"] = (
            f"{schema['description']} `webhook_url` on {hosts} (or a host the server's"
            " settings add)."
        )
    if model.needs_one_of:
        schema["anyOf"] = [{"required": list(members)} for members in model.needs_one_of]
    schema["examples"] = [model.example]


class Documented(TypeDataShape):
    """The type_data of one platform, as the document shows it (`TYPE_DATA`)."""

    platform_id: ClassVar[str]
    example: ClassVar[dict[str, Any]]
    needs_one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()
    model_config = ConfigDict(json_schema_extra=_document)


class WebhookUrl(Documented):
    """The member every webhook-like platform needs; `type_data` checks it (can't be blank,
    the URL policy, then the platform's hosts)."""

    webhook_url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"format": "uri"},
        description="Where to post: an http(s) URL the URL policy allows (no credentials, no"
        " private, loopback or internal host)",
    )


class EmailTypeData(EmailShape, Documented):
    """`email`: e-mails to addresses, users, the app's owner and its collaborators (each
    optional)."""

    platform_id = "email"
    example = {"emails": ["ada@example.com"], "owner": True, "collaborators": False}


class WebhookTypeData(WebhookShape, WebhookUrl):
    """`webhook`: signed HTTP requests (Standard Webhooks; Convox's signature too with a
    Convox key), in one of the webhook formats. `previous_secrets` is kept by
    `…/secret/rotate`: a request cannot set it."""

    platform_id = "webhook"
    example = {"webhook_url": "https://hooks.example.com/herald"}


class SlackTypeData(Documented):
    """`slack`: an incoming webhook, or a bot token and a channel (deploys in threads)."""

    platform_id = "slack"
    example = {"webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX"}
    needs_one_of = (("webhook_url",), ("bot_token", "channel"))
    webhook_url: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        max_length=MAX_URL_LENGTH,
        json_schema_extra={"format": "uri"},
        description="The incoming webhook; an http(s) URL the URL policy allows",
    )
    bot_token: str | SkipJsonSchema[None] = Field(
        default=None, description="Instead of `webhook_url`: a bot token `xoxb-…`, " + WRITE_ONLY
    )
    channel: str | SkipJsonSchema[None] = Field(
        default=None, description="With `bot_token`: a channel id (`C…`, `G…`) or `#name`"
    )


class RocketChatTypeData(WebhookUrl):
    """`rocket_chat`: a Rocket.Chat incoming webhook, on the users' own server."""

    platform_id = "rocket_chat"
    example = {"webhook_url": "https://chat.example.com/hooks/abc/def"}


class MattermostTypeData(WebhookUrl):
    """`mattermost`: a Mattermost incoming webhook, on the users' own server."""

    platform_id = "mattermost"
    example = {"webhook_url": "https://mattermost.example.com/hooks/xxx"}


class DiscordTypeData(WebhookUrl):
    """`discord`: a Discord channel's webhook."""

    platform_id = "discord"
    example = {"webhook_url": "https://discord.com/api/webhooks/1/xxx"}


class MicrosoftTeamsTypeData(WebhookUrl):
    """`microsoft_teams`: a Teams channel's Workflows webhook."""

    platform_id = "microsoft_teams"
    example = {"webhook_url": "https://prod-01.westeurope.logic.azure.com/workflows/xxx"}


class GoogleChatTypeData(WebhookUrl):
    """`google_chat`: a Google Chat space's webhook."""

    platform_id = "google_chat"
    example = {"webhook_url": "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k"}


class HipchatTypeData(HipchatShape, WebhookUrl):
    """`hipchat`: room messages through Hipchat's API v1; `webhook_url` is the server."""

    platform_id = "hipchat"
    example = {"webhook_url": "https://hipchat.example.com", "token": "t0k3n", "room": "ops"}


class FlowdockTypeData(WebhookUrl):
    """`flowdock`: a flow's push URL (a `flow_token` may be added, for threads)."""

    platform_id = "flowdock"
    example = {"webhook_url": "https://api.flowdock.com/messages/xxx"}


class GitterTypeData(WebhookUrl):
    """`gitter`: a Gitter room's webhook."""

    platform_id = "gitter"
    example = {"webhook_url": "https://webhooks.gitter.im/e/xxx"}


class IosPushTypeData(IosPushShape, Documented):
    """`ios_push`: iOS devices, by their APNs tokens."""

    platform_id = "ios_push"
    example = {"device_tokens": ["0123456789abcdef0123456789abcdef"]}


class BrowserPushTypeData(BrowserPushShape, Documented):
    """`browser_push`: the browsers that subscribed (Web Push)."""

    platform_id = "browser_push"
    example = {"subscriptions": []}


_DOCUMENTED: tuple[type[Documented], ...] = (
    EmailTypeData,
    WebhookTypeData,
    SlackTypeData,
    RocketChatTypeData,
    MattermostTypeData,
    DiscordTypeData,
    MicrosoftTeamsTypeData,
    GoogleChatTypeData,
    HipchatTypeData,
    FlowdockTypeData,
    GitterTypeData,
    IosPushTypeData,
    BrowserPushTypeData,
)
TYPE_DATA: dict[str, type[Documented]] = {
    p.name: {m.platform_id: m for m in _DOCUMENTED}[p.name] for p in PLATFORMS
}
"""The documented type_data of every platform, by name, in the catalog's order (a platform
without one fails at import)."""
