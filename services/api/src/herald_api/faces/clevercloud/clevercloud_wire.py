"""The pydantic models of Clever Cloud's hooks on the wire. The request models parse the
bodies (`clevercloud_requests`, through `model.shapes`); with the answers, they are the
OpenAPI document's (`clevercloud_api.ROUTES`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from herald_core.notifiers import NAME_MAX_LENGTH
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

HookFormat = Literal["raw", "slack", "flowdock", "gitter"]
FORMATS: tuple[str, ...] = get_args(HookFormat)
MAX_URLS = 10
MAX_SCOPE = 200
READ_ONLY_NOTE = "Read-only: accepted (an edited hook is often sent back whole) and ignored."
EVENTS_NOTE = (
    "Clever Cloud event ids or `META_*` meta-events (expanded at routing time, so new types"
    " join them); absent: every event"
)
SCOPE_NOTE = "Apps of the owner and add-on ids (`addon_…`); absent: everything of the owner"


class CcHookUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: HookFormat = "raw"
    url: str = Field(examples=["https://hooks.slack.com/services/T000/B000/XXXX"])


class CcHookIn(BaseModel):
    """What both kinds of hook take; unknown members are refused."""

    model_config = ConfigDict(extra="forbid")

    id: Any = Field(default=None, description=READ_ONLY_NOTE)
    ownerId: Any = Field(default=None, description=READ_ONLY_NOTE)  # noqa: N815
    createdAt: Any = Field(default=None, description=READ_ONLY_NOTE)  # noqa: N815
    state: Any = Field(default=None, description=READ_ONLY_NOTE)
    failures: Any = Field(default=None, description=READ_ONLY_NOTE)
    name: str | None = Field(
        default=None, max_length=NAME_MAX_LENGTH, examples=["deploys to Slack"]
    )
    events: list[str] | None = Field(
        default=None, description=EVENTS_NOTE, examples=[["META_DEPLOYMENT_RESULT"]]
    )
    scope: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None, max_length=MAX_SCOPE, description=SCOPE_NOTE, examples=[["app_1"]]
    )


class CcWebhookIn(CcHookIn):
    urls: list[CcHookUrl] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_URLS,
        description="Required, unless the older single-URL shape (`url`, `format`) is sent",
    )
    url: str | None = Field(default=None, deprecated=True, description="One URL, instead of `urls`")
    format: HookFormat | None = Field(
        default=None, deprecated=True, description="The format of `url` (raw when absent)"
    )


class CcFailure(BaseModel):
    url: str
    status: int | None = Field(default=None, description="The endpoint's HTTP status")
    networkFailure: str | None = Field(  # noqa: N815 - Clever Cloud's member name
        default=None, description="Why no status came (timeout, connection refused, …)"
    )
    partialBody: str | None = Field(default=None, description="The start of the answer")  # noqa: N815
    createdAt: AwareDatetime  # noqa: N815


class CcWebhook(BaseModel):
    id: str = Field(examples=["5c1e1c43-4c4a-4b3e-9d67-0b0f8d3b9a11"])
    ownerId: str = Field(examples=["orga_1"])  # noqa: N815
    name: str | None = None
    urls: list[CcHookUrl]
    events: list[str] | None = Field(default=None, description=EVENTS_NOTE)
    scope: list[str] | None = Field(default=None, description=SCOPE_NOTE)
    createdAt: AwareDatetime  # noqa: N815
    state: Literal["ENABLED", "DISABLED"] = Field(
        description="DISABLED once a URL's notifier was disabled for failing"
    )
    failures: list[CcFailure] = Field(description="Recent failed attempts, newest first")
    secret: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Herald's: the hook's signing secret (one for all its URLs), in clear in"
        " the answer that generated it only (the creation). Read it again, or rotate it, at"
        " `/v1/notifiers/{id}.0/secret`",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class CcWebhookList(RootModel[list[CcWebhook]]):
    pass


class CcNotified(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email", "userid", "organisation"]
    target: str | None = Field(
        default=None,
        description="email: comma-separated addresses; userid: a user id (absent: the owner's"
        " account); organisation: none (every member)",
        examples=["ops@example.com,cto@example.com"],
    )


class CcEmailhookIn(CcHookIn):
    notified: list[CcNotified] = Field(min_length=1)


class CcEmailhook(BaseModel):
    id: str
    ownerId: str  # noqa: N815
    name: str | None = Field(default=None, examples=["Default deployment result e-mails"])
    notified: list[CcNotified]
    events: list[str] | None = Field(default=None, description=EVENTS_NOTE)
    scope: list[str] | None = Field(default=None, description=SCOPE_NOTE)
    createdAt: AwareDatetime  # noqa: N815


class CcEmailhookList(RootModel[list[CcEmailhook]]):
    pass


class CcEventInfo(BaseModel):
    events: list[str] = Field(examples=[["DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"]])
    meta_events: dict[str, list[str]] = Field(
        examples=[{"META_DEPLOYMENT_RESULT": ["DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"]}]
    )


class CcWebhookFormats(RootModel[list[HookFormat]]):
    pass
