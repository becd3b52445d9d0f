"""Every request and response body of the API, as pydantic models: the OpenAPI document's
components (`openapi.py`). Handlers build their answers by hand; these models describe them
and the fuzz test (`tests/integration/test_api_fuzz.py`) holds the two together.

Scalingo's wire rules (docs/scalingo-compat.md) show up as constraints: `event_types` and
`event_categories` forbid any other member (no `meta`), a 422 carries a non-empty `errors`
object of string lists, a 404 carries `error` and `resource`.
"""

from __future__ import annotations

from typing import Any, Literal

from herald_core.alerts import Metric
from herald_core.catalog import Family, Severity
from herald_core.deliveries import AttemptOutcome
from herald_core.directory import AppEntry, CollaboratorEntry, OwnerEntry
from herald_core.notifiers import NAME_MAX_LENGTH, Preset, WebhookFormat
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from herald_api.model.directory_input import AppIn, CollaboratorIn, OwnerIn, UserIn
from herald_api.model.platforms import PLATFORMS

PLATFORM_IDS: list[JsonValue] = [p.id for p in PLATFORMS]
IGNORED = "Read-only: accepted (Scalingo's clients always send it) and ignored."


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
        description="Per platform: `webhook_url`; e-mail `emails`, `user_ids`, `owner`,"
        " `collaborators`; webhook `format`, `headers`, `secret` (and `previous_secrets`"
        " after a rotation). Secrets are shown masked, but in the answer that creates a webhook"
        " without one: its generated `secret` is shown there, in clear, once.",
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
    """Where to send. In a PATCH each member is merged: absent keeps, `null` removes."""

    model_config = ConfigDict(extra="allow")

    webhook_url: str | None = Field(
        default=None,
        description="Webhook-like platforms (webhook, slack, rocket_chat, …): required",
        examples=["https://hooks.example.com/herald"],
    )
    emails: list[str] | None = Field(default=None, description="e-mail: addresses")
    user_ids: list[str] | None = Field(default=None, description="e-mail: users")
    owner: bool | None = Field(default=None, description="e-mail: also the app's owner")
    collaborators: bool | None = Field(default=None, description="e-mail: also collaborators")
    format: WebhookFormat | None = Field(default=None, description="webhook: body format")
    secret: str | None = Field(
        default=None,
        description="webhook: signing secret `whsec_…`, write-only; generated when absent at"
        " creation, and never removed (rotate it with `…/secret/rotate`)",
    )
    headers: dict[str, str] | None = Field(default=None, description="webhook: extra headers")


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
    type_data: TypeDataIn = Field(default_factory=TypeDataIn)


class NotifierCreate(NotifierIn):
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH, examples=["deploys"])
    platform_id: str = Field(json_schema_extra={"enum": PLATFORM_IDS}, examples=["webhook"])


class NotifierPatch(NotifierIn):
    name: str | None = Field(
        default=None, min_length=1, max_length=NAME_MAX_LENGTH, examples=["renamed"]
    )
    platform_id: str | None = Field(
        default=None,
        description='The notifier\'s own platform, or "" (unchanged): a platform cannot change',
        examples=[""],
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


# --- simulate ------------------------------------------------------------------------------


class SimulatedRecipient(BaseModel):
    address: str = Field(examples=["ann@example.com"])
    name: str | None = None
    user_id: str | None = None


class SimulatedDelivery(BaseModel):
    notifier_id: str
    name: str
    platform: str = Field(examples=["slack"])
    delivery_id: str = Field(description="uuid5(event id, notifier id): what the router would send")
    recipients: list[SimulatedRecipient] = Field(description="E-mail recipients, resolved now")


class SimulatedExclusion(BaseModel):
    notifier_id: str
    name: str
    platform: str
    rule: Literal[
        "audit_only",
        "inactive",
        "scope",
        "family",
        "selection",
        "no_recipients",
        "default_duplicate",
    ]
    detail: str


class SimulateAnswer(BaseModel):
    event: dict[str, Any] = Field(description="The event as the catalog normalises it")
    answers_to: list[str] = Field(
        description="Every id the event answers to: type, aliases, groups"
    )
    deliveries: list[SimulatedDelivery]
    excluded: list[SimulatedExclusion]


# --- delivery history ----------------------------------------------------------------------


class DeliverySummary(BaseModel):
    """One delivery (an event for a notifier) and the state of its latest attempt."""

    id: str = Field(
        description="uuid5(event id, notifier id): the `webhook-id` the endpoint saw",
        examples=["0b7c4a53-8a0e-5d5f-9b0c-3b3f0e0d7a11"],
    )
    app_id: str | None = Field(examples=["app-1"])
    owner_id: str | None = Field(examples=["org-1"])
    event_id: str = Field(examples=["evt-1"])
    event_type: str = Field(examples=["app_deployed"])
    notifier_id: str = Field(examples=["no-824fd8bb-0efe-4b7b-9605-1b98110abeef"])
    channel: str = Field(examples=["webhook"])
    status: AttemptOutcome = Field(description="The outcome of the highest attempt number")
    status_code: int | None = Field(
        description="The latest attempt's HTTP or SMTP status", examples=[200]
    )
    reason: str | None = Field(
        description="Why the latest attempt failed (a failure reason); null when it succeeded",
        examples=[None],
    )
    attempt_count: int = Field(description="Attempts recorded", examples=[1])
    latest_attempt: int = Field(description="The highest attempt number", examples=[1])
    first_attempt_at: AwareDatetime
    last_attempt_at: AwareDatetime


class DeliveryList(BaseModel):
    deliveries: list[DeliverySummary] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page",
        examples=["WyIyMDI2LTAzLTEyVDE2OjA1OjIxKzAwOjAwIiwiZDEiXQ"],
    )


class DeliveryAttempt(BaseModel):
    attempt: int = Field(examples=[1])
    outcome: AttemptOutcome
    status_code: int | None = Field(examples=[200])
    duration_ms: float = Field(description="Time the attempt took", examples=[41.7])
    reason: str | None = Field(description="A failure reason, e.g. server_error", examples=[None])
    detail: str | None = Field(description="What went wrong, for people", examples=[None])
    response_excerpt: str | None = Field(
        description="The start of the endpoint's answer, when the channel read it",
        examples=[None],
    )
    at: AwareDatetime


class DeliveryDetail(DeliverySummary):
    attempts: list[DeliveryAttempt] = Field(description="Every attempt, in attempt order")


class DeliveryAnswer(BaseModel):
    delivery: DeliveryDetail


class Unsubscribed(BaseModel):
    notifier_id: str = Field(description="The notifier that stops mailing", examples=["no-1"])
    address: str = Field(description="The address, lower-case", examples=["ann@example.com"])


class UnsubscribeAnswer(BaseModel):
    unsubscribed: Unsubscribed


# --- webhook signing secrets --------------------------------------------------------------

SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - the documented example
SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/=]{24,200}$"  # noqa: S105 - a pattern
GENERATED_NOTE = (
    "The signing secret Herald generated for the new webhook, in clear this once (every read"
    " masks it); read it again at `/v1/notifiers/{id}/secret`"
)


class NotifierSecretAnswer(BaseModel):
    secret: str = Field(description="The current signing secret", examples=[SECRET_EXAMPLE])


class SecretRotateBody(Closed):
    """Both members optional; no body at all is the same as `{}`."""

    secret: str | SkipJsonSchema[None] = Field(
        default=None,
        pattern=SECRET_PATTERN,
        description="The new secret; absent: a generated one (`whsec_` + 32 random bytes)",
        examples=["whsec_cm90YXRpb24tbmV3LWtleS0zMi1ieXRlcy1sb25nISE="],
    )
    overlap_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        le=7 * 24 * 3600,
        description="How long the replaced secret still signs, beside the new one (0: not at"
        " all; at most 7 days)",
        examples=[3600],
    )


class PreviousSecret(BaseModel):
    expires_at: AwareDatetime = Field(description="When this older secret stops signing")


class SecretRotateAnswer(BaseModel):
    secret: str = Field(description="The new signing secret", examples=[SECRET_EXAMPLE])
    previous_secrets: list[PreviousSecret] = Field(
        description="The older secrets that still sign, newest first (without the secrets)"
    )


# --- endpoint health ----------------------------------------------------------------------


class NotifierDisabledAnswer(BaseModel):
    notifier: Notifier
    changed: bool = Field(
        description="False when the notifier was inactive already (nothing changed, no event)"
    )


# --- notifier test and redelivery ------------------------------------------------------------


class NotifierTestResult(BaseModel):
    """The one attempt of a notifier test, as the sender reported it."""

    delivery_id: str = Field(
        description="A fresh delivery id: the `webhook-id` the endpoint saw",
        examples=["2d1c7f9e-6a55-5b1e-8f0a-64b0a9c1d2e3"],
    )
    event_id: str = Field(examples=["test-0b7c4a53-8a0e-4d5f-9b0c-3b3f0e0d7a11"])
    event_type: str = Field(examples=["app_deployed"])
    notifier_id: str = Field(examples=["no-824fd8bb-0efe-4b7b-9605-1b98110abeef"])
    channel: str = Field(examples=["webhook"])
    outcome: AttemptOutcome = Field(
        description="`delivered`, or `dead_lettered` when the attempt failed: a test is never"
        " retried"
    )
    status_code: int | None = Field(
        description="The endpoint's HTTP (or SMTP) status; null when none answered",
        examples=[200],
    )
    latency_ms: float = Field(description="How long the attempt took", examples=[41.7])
    reason: str | None = Field(description="A failure reason, e.g. client_error", examples=[None])
    detail: str | None = Field(description="What went wrong, for people", examples=[None])
    response_excerpt: str | None = Field(
        description="The start of the endpoint's answer, when the channel read it", examples=["ok"]
    )
    at: AwareDatetime


class NotifierTestAnswer(BaseModel):
    test: NotifierTestResult


class Redelivery(BaseModel):
    delivery_id: str = Field(
        description="The delivery's id, unchanged: the endpoint sees the same `webhook-id`",
        examples=["0b7c4a53-8a0e-5d5f-9b0c-3b3f0e0d7a11"],
    )
    notifier_id: str = Field(examples=["no-824fd8bb-0efe-4b7b-9605-1b98110abeef"])
    channel: str = Field(examples=["webhook"])
    attempt: int = Field(description="The attempt number the sender will make", examples=[4])
    status: Literal["queued"]


class RedeliveryAnswer(BaseModel):
    redelivery: Redelivery


# --- alerts (Scalingo's alerts API, docs/alerts.md) ---------------------------------------

GO_DURATION = "a Go duration string (`30m0s`, `1h30m`, `90s`) or an integer of nanoseconds"


class Alert(BaseModel):
    """An alert as answered: go-scalingo's `Alert`."""

    id: str = Field(examples=["al-297f1134-8576-45ac-ab58-2100b6807683"])
    app_id: str = Field(examples=["app-1"])
    container_type: str = Field(examples=["web"])
    metric: Metric
    limit: float = Field(examples=[0.8])
    send_when_below: bool
    duration_before_trigger: int = Field(
        ge=0, description="Nanoseconds (a Go `time.Duration`)", examples=[300_000_000_000]
    )
    remind_every: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A Go duration string; absent when the alert never reminds",
        examples=["30m0s"],
    )
    disabled: bool
    notifiers: list[str] = Field(description="Ids of the app's notifiers the alert goes to")
    metadata: dict[str, JsonValue]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class AlertAnswer(BaseModel):
    alert: Alert


class AlertList(BaseModel):
    alerts: list[Alert]
    meta: Meta


class AlertIn(Closed):
    """Members a client may send; unknown members are refused."""

    id: Any = Field(default=None, description=IGNORED)
    app_id: Any = Field(default=None, description=IGNORED)
    created_at: Any = Field(default=None, description=IGNORED)
    updated_at: Any = Field(default=None, description=IGNORED)
    deleted_at: Any = Field(default=None, description=IGNORED)
    metadata: Any = Field(default=None, description=IGNORED)
    container_type: str | None = Field(
        default=None, description="A process type of the app; web when absent or empty"
    )
    send_when_below: bool = False
    disabled: bool = False
    duration_before_trigger: int | str | None = Field(
        default=None, description=f"How long the limit must be crossed first: {GO_DURATION}"
    )
    remind_every: str | int | None = Field(
        default=None, description=f"Remind while firing: {GO_DURATION}; empty or 0 for never"
    )
    notifiers: list[str] | None = Field(
        default=None, description="Ids of the app's own notifiers", examples=[["no-1"]]
    )


class AlertCreate(AlertIn):
    metric: Metric
    limit: float = Field(ge=0, examples=[0.8])


class AlertPatch(AlertIn):
    metric: Metric | None = None
    limit: float | None = Field(default=None, ge=0, examples=[0.9])


class AlertCreateBody(Closed):
    alert: AlertCreate


class AlertPatchBody(Closed):
    alert: AlertPatch


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


class AuditEntry(BaseModel):
    id: str = Field(description="The event's id")
    type: str = Field(examples=["app:budget:set"])
    created_at: AwareDatetime
    owner_id: str | None
    app_id: str | None
    app_name: str | None
    rack: str | None
    actor: str | None = Field(examples=["alice@example.com"])
    event: dict[str, JsonValue] = Field(description="The event as it was on notify.events")


class AuditLog(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None = Field(description="The next page's `cursor`; null on the last page")


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
