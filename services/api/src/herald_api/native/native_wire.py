"""The bodies of Herald's own endpoints (simulate, history, unsubscribe, signing secrets,
endpoint health, notifier test, redelivery, audit log), as pydantic models for their route
declarations and the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from herald_core.deliveries import AttemptOutcome
from pydantic import AwareDatetime, BaseModel, Field, JsonValue
from pydantic.json_schema import SkipJsonSchema

from herald_api.http.wire_models import SECRET_EXAMPLE, Closed, Notifier
from herald_api.model.webhook_secrets import SECRET_PATTERN

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
