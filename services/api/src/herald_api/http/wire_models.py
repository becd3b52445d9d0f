"""The bodies the API shares across its areas, as pydantic models: problems, tokens, the
catalog, Scalingo's notifiers, the directory. Each face keeps its own wire models beside it
(`faces/*/*_wire.py`), Herald's own endpoints theirs in `native/native_wire.py`.

Requests are parsed by these models (`http.parsing`, `model.shapes`); answers are built by the
handlers and described here, and the fuzz test (`tests/integration/test_api_fuzz.py`) holds the
two together.
All of them are the OpenAPI document's components (`openapi.py`).

Scalingo's wire rules (docs/scalingo-compat.md) show up as constraints: `event_types` and
`event_categories` forbid any other member (no `meta`), a 422 carries a non-empty `errors`
object of string lists, a 404 carries `error` and `resource`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from herald_core.catalog import Family, Severity
from herald_core.directory import AppEntry, CollaboratorEntry, OwnerEntry
from herald_core.notifiers import NAME_MAX_LENGTH, Preset, WebhookFormat
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetJsonSchemaHandler, JsonValue
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import core_schema

from herald_api.model.directory_input import AppIn, CollaboratorIn, OwnerIn, UserIn
from herald_api.model.platforms import PLATFORMS
from herald_api.model.type_data_shapes import TYPE_DATA, WebhookTypeData

PLATFORM_IDS: list[JsonValue] = [p.id for p in PLATFORMS]
IGNORED = "Read-only: accepted (Scalingo's clients always send it) and ignored."
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the documented example
GENERATED_NOTE = (
    "The signing secret Herald generated for the new webhook, in clear this once (every read"
    " masks it); read it again at `/v1/notifiers/{id}/secret`"
)


class Closed(BaseModel):
    """A request object that refuses unknown members (422 `unknown field`)."""

    model_config = ConfigDict(extra="forbid")


# --- errors -------------------------------------------------------------------------------


class ProblemBase(BaseModel):
    type: str = Field(examples=["https://herald.dev/problems/unauthorized"])
    title: str = Field(examples=["Unauthorized"])
    status: int = Field(examples=[401])
    detail: str = Field(examples=["a valid bearer token is required"])
    error: str = Field(
        description="Scalingo's message member: the `detail` again",
        examples=["a valid bearer token is required"],
    )
    instance: str | SkipJsonSchema[None] = Field(default=None, examples=["/v1/apps/app-1"])


class Problem(ProblemBase):
    """RFC 9457 problem details, with Scalingo's `error` (every 4xx)."""

    errors: dict[str, list[str]] | SkipJsonSchema[None] = None
    resource: str | SkipJsonSchema[None] = None


class NotFoundProblem(ProblemBase):
    """404: `resource` names what is missing (`app`, `notifier`, …)."""

    resource: str = Field(examples=["app"])


class ValidationProblem(ProblemBase):
    """422: `errors` maps each field to its messages (Scalingo parses it, never empty)."""

    errors: dict[str, list[str]] = Field(
        min_length=1, examples=[{"platform_id": ["unknown platform"]}]
    )


# --- tokens and health --------------------------------------------------------------------


class AnyObject(BaseModel):
    """Any JSON object; ignored."""

    model_config = ConfigDict(extra="allow")


class TokenAnswer(BaseModel):
    token: str = Field(
        description="An HS256 JWT valid one hour (`exp`), for `Authorization: Bearer`",
        examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJoZXJhbGQifQ.c2ln"],
    )


class StreamTokenAnswer(BaseModel):
    token: str = Field(
        description="Opens this owner's stream as the caller for `expires_in` seconds: pass it"
        " as `?token=` (EventSource, WebSocket). Reconnecting after it expired needs a new one",
        examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJoZXJhbGQtc3RyZWFtIn0.c2ln"],
    )
    expires_at: AwareDatetime = Field(description="When the token stops opening the stream")
    expires_in: int = Field(description="Seconds from now until then", examples=[300])
    url: str = Field(
        description="The stream's URL with the token, for `new EventSource(url)`; a WebSocket"
        " client uses it with ws:// or wss://",
        examples=["https://herald.example.org/v1/owners/org-1/events/stream?token=eyJ…"],
    )


class Liveness(BaseModel):
    status: Literal["ok", "failed"]
    detail: str | SkipJsonSchema[None] = None


class Readiness(BaseModel):
    status: Literal["ready", "starting"]
    detail: str


# --- catalog ------------------------------------------------------------------------------


class Pagination(BaseModel):
    prev_page: int | None = Field(description="null on the first page", examples=[None])
    current_page: int = Field(examples=[1])
    per_page: int = Field(examples=[20])
    next_page: int | None = Field(description="null on the last page", examples=[2])
    total_pages: int = Field(examples=[3])
    total_count: int = Field(examples=[47])


class Meta(BaseModel):
    pagination: Pagination


class NotificationPlatform(BaseModel):
    id: str = Field(examples=["webhook"])
    name: str = Field(description="The notifier `type` it gives", examples=["webhook"])
    display_name: str = Field(examples=["Webhook"])
    logo_url: str
    description: str
    available_event_ids: list[str] = Field(description="Ids of /v1/event_types")


class NotificationPlatformList(BaseModel):
    notification_platforms: list[NotificationPlatform]
    meta: Meta


class NotificationPlatformSearch(BaseModel):
    notification_platforms: list[NotificationPlatform]


class EventType(BaseModel):
    id: str = Field(examples=["app_deployed"])
    category_id: str = Field(examples=["app_operations"])
    name: str = Field(examples=["app_deployed"])
    display_name: str = Field(examples=["App deployed"])
    description: str
    template: str
    family: Family
    severity: Severity
    critical: bool


class EventTypeList(BaseModel):
    """Only `event_types`: Scalingo's Go client decodes every member as a list (no `meta`)."""

    model_config = ConfigDict(extra="forbid")

    event_types: list[EventType]


class EventCategory(BaseModel):
    id: str = Field(examples=["app_operations"])
    name: str = Field(examples=["app_operations"])
    display_name: str = Field(examples=["App operations"])
    position: int


class EventCategoryList(BaseModel):
    """Only `event_categories` (no `meta`), like `event_types`."""

    model_config = ConfigDict(extra="forbid")

    event_categories: list[EventCategory]


# --- notifiers ----------------------------------------------------------------------------


class Notifier(BaseModel):
    """A notifier as answered: Scalingo's members plus Herald's `preset` and `is_default`."""

    id: str = Field(examples=["no-824fd8bb-0efe-4b7b-9605-1b98110abeef"])
    app_id: str = Field(examples=["app-1"])
    name: str = Field(examples=["deploys"])
    active: bool
    type: str = Field(description="The platform's name", examples=["webhook"])
    platform_id: str = Field(examples=["webhook"])
    send_all_events: bool
    send_all_alerts: bool
    selected_event_ids: list[str] = Field(examples=[["app_deployed"]])
    preset: Preset | None = Field(description="A catalog selection resolved at routing time")
    is_default: bool = Field(description="The notifier every app gets at registration")
    type_data: dict[str, Any] = Field(
        description="As sent (one schema per platform: `NotifierCreate`'s `type_data`), with a"
        " face's own markers, and a webhook's `previous_secrets` after a rotation. Secrets are"
        " shown masked, but in the answer that creates a webhook without one: its generated"
        " `secret` is shown there, in clear, once.",
        examples=[{"webhook_url": "https://hooks.example.com/herald"}],
    )
    created_at: AwareDatetime
    updated_at: AwareDatetime


class NotifierAnswer(BaseModel):
    notifier: Notifier


class NotifierList(BaseModel):
    notifiers: list[Notifier]
    meta: Meta


class TypeDataIn(BaseModel):
    """How a notifier request's `type_data` is parsed before its platform is known (a sibling
    member, or unchanged in a PATCH): the members several platforms share keep their types,
    `null` allowed (a PATCH's `null` removes one). The document shows the platform's model
    instead (`TYPE_DATA`, one per platform), with which `model.type_data` checks the whole."""

    model_config = ConfigDict(extra="allow")

    webhook_url: str | None = None
    emails: list[str] | None = None
    user_ids: list[str] | None = None
    owner: bool | None = None
    collaborators: bool | None = None
    format: WebhookFormat | None = None
    secret: str | None = None
    headers: dict[str, str] | None = None


class DocumentedAs:
    """In an `Annotated`: the document shows any of `models` (an `anyOf` of their schemas)
    where the annotated type would be; the annotated type still validates, and words the
    errors."""

    def __init__(self, *models: type[BaseModel]) -> None:
        self.models = models

    def __get_pydantic_json_schema__(
        self, _schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(core_schema.union_schema([m.__pydantic_core_schema__ for m in self.models]))


PLATFORM_TYPE_DATA = "; ".join(f"`{name}` {m.__name__}" for name, m in TYPE_DATA.items())
TypeDataByPlatform = Annotated[TypeDataIn, DocumentedAs(*TYPE_DATA.values())]


class NotifierIn(Closed):
    """Members a client may send; unknown members are refused."""

    id: Any = Field(default=None, description=IGNORED)
    app_id: Any = Field(default=None, description=IGNORED)
    type: Any = Field(default=None, description=IGNORED)
    created_at: Any = Field(default=None, description=IGNORED)
    updated_at: Any = Field(default=None, description=IGNORED)
    app: Any = Field(default=None, description=IGNORED)
    is_default: Any = Field(default=None, description=IGNORED)
    active: bool = True
    send_all_events: bool = False
    send_all_alerts: bool = False
    selected_event_ids: list[str] | None = Field(
        default=None,
        description="Ids of /v1/event_types the platform carries; null means none",
        examples=[["app_deployed"]],
    )
    selected_events: list[str] | None = Field(
        default=None, deprecated=True, description="Event names, instead of ids (deprecated)"
    )
    preset: Preset | None = None
    # Declared here for its place among the members (the order of `errors`); each body
    # describes it.
    type_data: TypeDataByPlatform = Field(default_factory=TypeDataIn)


class NotifierCreate(NotifierIn):
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH, examples=["deploys"])
    platform_id: str = Field(json_schema_extra={"enum": PLATFORM_IDS}, examples=["webhook"])
    type_data: TypeDataByPlatform = Field(
        default_factory=TypeDataIn,
        description="Where to send: the schema of the notifier's platform, by `platform_id`: "
        + PLATFORM_TYPE_DATA,
        examples=[WebhookTypeData.example],
    )


class NotifierPatch(NotifierIn):
    name: str | None = Field(
        default=None, min_length=1, max_length=NAME_MAX_LENGTH, examples=["renamed"]
    )
    platform_id: str | None = Field(
        default=None,
        description='The notifier\'s own platform, or "" (unchanged): a platform cannot change',
        examples=[""],
    )
    type_data: TypeDataByPlatform = Field(
        default_factory=TypeDataIn,
        description="Merged into the notifier's: an absent member is kept, `null` removes one;"
        " the result is checked as its platform's, by `platform_id`: " + PLATFORM_TYPE_DATA,
        examples=[{"webhook_url": "https://hooks.example.com/herald-2"}],
    )


class NotifierCreateBody(Closed):
    notifier: NotifierCreate


class NotifierPatchBody(Closed):
    notifier: NotifierPatch


# --- directory ----------------------------------------------------------------------------


class AppBody(Closed):
    app: AppIn


class AppAnswer(BaseModel):
    app: AppEntry


class CollaboratorBody(Closed):
    collaborator: CollaboratorIn


class CollaboratorAnswer(BaseModel):
    collaborator: CollaboratorEntry


class CollaboratorList(BaseModel):
    collaborators: list[CollaboratorEntry]


class OwnerBody(Closed):
    owner: OwnerIn


class OwnerAnswer(BaseModel):
    owner: OwnerEntry


class UserBody(Closed):
    user: UserIn


class User(BaseModel):
    id: str = Field(examples=["us-1"])
    email: str | None = Field(examples=["ada@example.com"])
    name: str | None
    username: str | None


class UserAnswer(BaseModel):
    user: User
