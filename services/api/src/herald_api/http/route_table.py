"""The routes of the API as data: method, path, summary, tag, auth, body, parameters and answers
by status, with the pydantic models of `wire_models`. `openapi.py` builds the OpenAPI document
from `ROUTES`; `tests/unit/test_openapi.py` fails when `ROUTES` and the aiohttp router disagree.

Answers every route shares come from `shared_answers`: 401 on authenticated routes, 404 on
routes with a path parameter, 400 and 422 on routes that read a JSON body, 422 on integer
query parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from herald_core.deliveries import AttemptOutcome
from herald_core.unsubscribe import MAX_TOKEN_LENGTH
from pydantic import BaseModel

from herald_api.faces.clevercloud.clevercloud_wire import (
    CcEmailhook,
    CcEmailhookIn,
    CcEmailhookList,
    CcEventInfo,
    CcWebhook,
    CcWebhookFormats,
    CcWebhookIn,
    CcWebhookList,
)
from herald_api.faces.cloud66.account_notifications_api import AccountNotificationsBody
from herald_api.http import wire_models as w
from herald_api.http.keyset import DEFAULT_LIMIT, MAX_LIMIT
from herald_api.http.web import MAX_PAGE
from herald_api.native.directory_api import ID_MAX_LENGTH, ID_PATTERN
from herald_api.native.notifier_health_api import NotifierDisableBody
from herald_api.native.notifier_test_api import NotifierTestRequest

JSON = "application/json"
PROBLEM = "application/problem+json"


class Auth(StrEnum):
    PUBLIC = "public"
    BEARER = "bearer"
    BASIC = "basic"  # the token exchange: Basic with the token as password (Bearer works too)


@dataclass(frozen=True)
class Answer:
    description: str
    model: type[BaseModel] | None = None
    media_type: str = JSON
    headers: tuple[str, ...] = ()  # names in RESPONSE_HEADERS


@dataclass(frozen=True)
class Param:
    name: str
    location: Literal["path", "query", "header"]
    description: str
    schema: Mapping[str, Any]
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    tag: str
    answers: Mapping[int, Answer]
    auth: Auth = Auth.BEARER
    body: type[BaseModel] | None = None
    body_read: bool = True  # False: a body is accepted and ignored (no 400/422)
    body_required: bool = True  # False: the body may be left out
    params: tuple[Param, ...] = ()
    description: str = ""


ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, "pattern": ID_PATTERN}
TOKEN_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TOKEN_LENGTH,
    "pattern": r"^[A-Za-z0-9_.\-]+$",
}
PATH_PARAMS = {
    "app": Param("app", "path", "The app's id", ID_SCHEMA, True, "app-1"),
    "id": Param(
        "id", "path", "The collaborator's, notifier's or delivery's id", ID_SCHEMA, True, "no-1"
    ),
    "owner": Param("owner", "path", "The owner's id", ID_SCHEMA, True, "org-1"),
    "provider": Param(
        "provider",
        "path",
        "The chat service of a Convox integration",
        {"type": "string", "enum": ["slack", "discord"]},
        True,
        "slack",
    ),
    "user": Param("user", "path", "The user's id", ID_SCHEMA, True, "us-1"),
    "token": Param(
        "token",
        "path",
        "The signed token of an e-mail's unsubscribe link",
        TOKEN_SCHEMA,
        True,
        "v1.bm8tMR9hbm4.c2ln",
    ),
}
PAGE = (
    Param(
        "page",
        "query",
        "Page number, from 1",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    ),
    Param(
        "per_page",
        "query",
        "Items per page (capped by the server's maximum); without `page` or `per_page`,"
        " notifier and platform lists hold every item",
        {"type": "integer", "minimum": 1},
    ),
)
IF_MATCH = Param(
    "If-Match",
    "header",
    "An ETag from a previous answer: 412 if the resource changed since",
    {"type": "string"},
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    "Replays the first answer for the same key and body; another body gets 422",
    {"type": "string", "minLength": 1, "maxLength": 200},
)
RESPONSE_HEADERS = {
    "ETag": "The resource's version, for `If-Match`",
    "Location": "The created notifier's URL",
    "Idempotent-Replayed": "`true` when the answer is replayed for an `Idempotency-Key`",
}


def _problem(description: str, model: type[BaseModel] = w.Problem) -> Answer:
    return Answer(description, model, PROBLEM)


def _ok(model: type[BaseModel], description: str = "OK", *headers: str) -> Answer:
    return Answer(description, model, JSON, headers)


NO_CONTENT = Answer("Done; no body")


def _upserted(model: type[BaseModel], *headers: str) -> dict[int, Answer]:
    return {200: _ok(model, "Updated", *headers), 201: _ok(model, "Created", *headers)}


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v1/tokens/exchange",
        "Exchange an API token for a JWT",
        "tokens",
        {200: _ok(w.TokenAnswer), 401: _problem("Unknown or revoked token")},
        auth=Auth.BASIC,
        body=w.AnyObject,
        body_read=False,
        description='Scalingo\'s flow: `Authorization: Basic base64(":" + token)`, body `{}`.',
    ),
    Route(
        "GET",
        "/v1/notification_platforms",
        "List notification platforms",
        "catalog",
        {200: _ok(w.NotificationPlatformList)},
        auth=Auth.PUBLIC,
        params=PAGE,
    ),
    Route(
        "GET",
        "/v1/notification_platforms/search",
        "Find platforms by exact name",
        "catalog",
        {200: _ok(w.NotificationPlatformSearch, "The matching platforms (maybe none)")},
        auth=Auth.PUBLIC,
        params=(Param("name", "query", "The platform name", {"type": "string"}, False, "slack"),),
    ),
    Route(
        "GET",
        "/v1/event_types",
        "List event types",
        "catalog",
        {200: _ok(w.EventTypeList)},
        auth=Auth.PUBLIC,
        description="No `meta`: Scalingo's Go client decodes every member as a list.",
    ),
    Route(
        "GET",
        "/v1/event_categories",
        "List event categories",
        "catalog",
        {200: _ok(w.EventCategoryList)},
        auth=Auth.PUBLIC,
        description="No `meta`, like `/v1/event_types`.",
    ),
    Route(
        "PUT",
        "/v1/apps/{app}",
        "Register or update an app",
        "apps",
        _upserted(w.AppAnswer, "ETag"),
        body=w.AppBody,
        description="A new app also gets its default notifier (critical alerts by e-mail).",
    ),
    Route("GET", "/v1/apps/{app}", "Show an app", "apps", {200: _ok(w.AppAnswer, "OK", "ETag")}),
    Route(
        "DELETE",
        "/v1/apps/{app}",
        "Delete an app, its collaborators and notifiers",
        "apps",
        {204: NO_CONTENT},
    ),
    Route(
        "GET",
        "/v1/apps/{app}/collaborators",
        "List an app's collaborators",
        "apps",
        {200: _ok(w.CollaboratorList)},
    ),
    Route(
        "PUT",
        "/v1/apps/{app}/collaborators/{id}",
        "Invite or update a collaborator",
        "apps",
        _upserted(w.CollaboratorAnswer),
        body=w.CollaboratorBody,
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/collaborators/{id}",
        "Remove a collaborator (by id or user id)",
        "apps",
        {204: NO_CONTENT},
    ),
    Route(
        "PUT",
        "/v1/owners/{owner}",
        "Register or update an owner",
        "owners",
        _upserted(w.OwnerAnswer, "ETag"),
        body=w.OwnerBody,
    ),
    Route("GET", "/v1/owners/{owner}", "Show an owner", "owners", {200: _ok(w.OwnerAnswer)}),
    Route(
        "PUT",
        "/v1/users/{user}",
        "Register or update a user (admin)",
        "users",
        _upserted(w.UserAnswer, "ETag"),
        body=w.UserBody,
    ),
    Route("GET", "/v1/users/{user}", "Show a user (admin)", "users", {200: _ok(w.UserAnswer)}),
    Route(
        "GET",
        "/v1/apps/{app}/notifiers",
        "List an app's notifiers",
        "notifiers",
        {200: _ok(w.NotifierList)},
        params=PAGE,
    ),
    Route(
        "POST",
        "/v1/apps/{app}/notifiers",
        "Create a notifier",
        "notifiers",
        {
            201: _ok(w.NotifierAnswer, "Created", "ETag", "Location", "Idempotent-Replayed"),
            409: _problem("A request with this Idempotency-Key is still in progress"),
        },
        body=w.NotifierCreateBody,
        params=(IDEMPOTENCY_KEY,),
        description="A webhook created without `type_data.secret` gets a generated one, shown"
        " in clear in this answer's `type_data.secret` only (then masked; read it again at"
        " `…/notifiers/{id}/secret`).",
    ),
    Route(
        "GET",
        "/v1/apps/{app}/notifiers/{id}",
        "Show a notifier",
        "notifiers",
        {200: _ok(w.NotifierAnswer, "OK", "ETag")},
    ),
    Route(
        "PATCH",
        "/v1/apps/{app}/notifiers/{id}",
        "Update a notifier",
        "notifiers",
        {
            200: _ok(w.NotifierAnswer, "Updated", "ETag"),
            412: _problem("The notifier changed since the `If-Match` ETag"),
        },
        body=w.NotifierPatchBody,
        params=(IF_MATCH,),
        description="Absent members are unchanged; `type_data` is merged key by key.",
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/notifiers/{id}",
        "Delete a notifier",
        "notifiers",
        {204: NO_CONTENT, 412: _problem("The notifier changed since the `If-Match` ETag")},
        params=(IF_MATCH,),
    ),
    Route(
        "GET",
        "/v1/apps/{app}/alerts",
        "List an app's alerts",
        "alerts",
        {200: _ok(w.AlertList)},
        params=PAGE,
        description="Without `page` or `per_page`, every alert of the app (at most 100).",
    ),
    Route(
        "POST",
        "/v1/apps/{app}/alerts",
        "Create an alert",
        "alerts",
        {
            201: _ok(w.AlertAnswer, "Created", "ETag", "Location", "Idempotent-Replayed"),
            409: _problem("A request with this Idempotency-Key is still in progress"),
        },
        body=w.AlertCreateBody,
        params=(IDEMPOTENCY_KEY,),
        description="Scalingo's encodings: `duration_before_trigger` in nanoseconds,"
        " `remind_every` as a Go duration string (nanoseconds accepted). `notifiers` must be"
        " notifiers of the app. Emits `alert_added`.",
    ),
    Route(
        "GET",
        "/v1/apps/{app}/alerts/{id}",
        "Show an alert",
        "alerts",
        {200: _ok(w.AlertAnswer, "OK", "ETag")},
    ),
    *(
        Route(
            method,
            "/v1/apps/{app}/alerts/{id}",
            "Update an alert",
            "alerts",
            {
                200: _ok(w.AlertAnswer, "Updated", "ETag"),
                412: _problem("The alert changed since the `If-Match` ETag"),
            },
            body=w.AlertPatchBody,
            params=(IF_MATCH,),
            description="Absent members are unchanged (PUT is the same, as at Scalingo).",
        )
        for method in ("PATCH", "PUT")
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/alerts/{id}",
        "Delete an alert",
        "alerts",
        {204: NO_CONTENT, 412: _problem("The alert changed since the `If-Match` ETag")},
        params=(IF_MATCH,),
        description="Emits `alert_deleted`; the app's last alert leaves a tombstone on"
        " `notify.config.alerts`.",
    ),
    Route(
        "GET",
        "/livez",
        "Liveness",
        "health",
        {200: _ok(w.Liveness), 500: _ok(w.Liveness, "A supervised task failed")},
        auth=Auth.PUBLIC,
    ),
    Route(
        "GET",
        "/readyz",
        "Readiness",
        "health",
        {200: _ok(w.Readiness), 503: _ok(w.Readiness, "Database or broker unreachable")},
        auth=Auth.PUBLIC,
    ),
    Route(
        "GET",
        "/metrics",
        "Prometheus metrics",
        "health",
        {200: Answer("Prometheus text exposition format", None, "text/plain")},
        auth=Auth.PUBLIC,
    ),
    Route(
        "GET",
        "/openapi.json",
        "This OpenAPI document",
        "reference",
        {200: Answer("The OpenAPI 3.1 document", w.AnyObject)},
        auth=Auth.PUBLIC,
    ),
    Route(
        "GET",
        "/docs",
        "This reference, as a web page",
        "reference",
        {200: Answer("An HTML page", None, "text/html")},
        auth=Auth.PUBLIC,
    ),
)

ROUTES = (
    *ROUTES,
    Route(
        "POST",
        "/v1/events/simulate",
        "Who would receive an event, and why the others would not",
        "routing",
        {200: _ok(w.SimulateAnswer)},
        body=w.AnyObject,
        description="Runs the router's own rules against the current config. The body is an event "
        "as producers send it; an invalid one is a 422 naming the problem.",
    ),
)

TIME = {"type": "string", "format": "date-time"}
HISTORY_FILTERS = (
    Param("notifier_id", "query", "Only this notifier's deliveries", {"type": "string"}),
    Param(
        "status",
        "query",
        "Only deliveries whose latest attempt had this outcome",
        {"type": "string", "enum": [o.value for o in AttemptOutcome]},
        example="dead_lettered",
    ),
    Param("event_type", "query", "Only deliveries of this event type", {"type": "string"}),
    Param("since", "query", "First attempt at or after this RFC 3339 time", TIME),
    Param("until", "query", "First attempt before this RFC 3339 time", TIME),
    Param(
        "limit",
        "query",
        f"Items per page, {DEFAULT_LIMIT} by default; more than {MAX_LIMIT} is capped",
        {"type": "integer", "minimum": 1},
    ),
    Param("cursor", "query", "The `next_cursor` of the previous page", {"type": "string"}),
)

ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/apps/{app}/deliveries",
        "List an app's deliveries, newest first",
        "deliveries",
        {200: _ok(w.DeliveryList)},
        params=HISTORY_FILTERS,
        description="Ordered by first attempt time, then id. Pages with `limit` and the opaque "
        "`next_cursor`; a page never skips or repeats a delivery while new ones arrive.",
    ),
    Route(
        "GET",
        "/v1/apps/{app}/deliveries/{id}",
        "Show a delivery and every attempt",
        "deliveries",
        {200: _ok(w.DeliveryAnswer)},
        description="Each attempt's outcome, status code, duration, failure reason and detail, "
        "and the start of the endpoint's answer when the channel read it.",
    ),
)

UNSUBSCRIBE_NOTE = (
    "The link of an e-mail's `List-Unsubscribe` header (RFC 8058); the token is the credential."
    " A bad token or a notifier that is gone is a 404."
)
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/unsubscribe/{token}",
        "A page confirming an unsubscribe, with a button that POSTs",
        "notifiers",
        {200: Answer("An HTML page", None, "text/html")},
        auth=Auth.PUBLIC,
        description=UNSUBSCRIBE_NOTE,
    ),
    Route(
        "POST",
        "/v1/unsubscribe/{token}",
        "One-click unsubscribe: stop a notifier's e-mail to one address",
        "notifiers",
        {
            200: _ok(w.UnsubscribeAnswer),
            400: _problem("The body is not `List-Unsubscribe=One-Click`"),
            413: _problem("The body is too large"),
        },
        auth=Auth.PUBLIC,
        description=UNSUBSCRIBE_NOTE + " The body is form-encoded `List-Unsubscribe=One-Click`;"
        " the address joins the notifier's `type_data.unsubscribed` (a new version, and a"
        " `notifier_edited` event). Idempotent. With `Accept: text/html` the answer is a page.",
    ),
)

ROUTES = (
    *ROUTES,
    Route(
        "POST",
        "/v1/notifiers/{id}/disable",
        "Disable a failing notifier (admin: the recorder's endpoint health)",
        "notifiers",
        {200: _ok(w.NotifierDisabledAnswer, "Disabled, now or before", "ETag")},
        body=NotifierDisableBody,
        description="Sets the notifier inactive (a new version) and emits `notifier_disabled` to"
        " its owner. Idempotent: an inactive notifier is answered as it is, without an event."
        " Tokens other than admin tokens get 404.",
    ),
)

ROUTES = (
    *ROUTES,
    Route(
        "POST",
        "/v1/apps/{app}/notifiers/{id}/test",
        "Test a notifier: send it a sample event now, and answer how it went",
        "notifiers",
        {
            200: _ok(w.NotifierTestAnswer, "The attempt's result, whatever its outcome"),
            503: _problem("Too many tests are waiting, or the broker did not take the delivery"),
            504: _problem("No result in time: is the channel's sender running?"),
        },
        body=NotifierTestRequest,
        body_required=False,
        description="Scalingo's \"Test a notifier\". The body is optional (Scalingo's clients send"
        " none): `event_type` picks the sample event's type, `app_deployed` by default. The"
        " sample goes to the notifier even when it is inactive or does not select the type; the"
        " sender makes one attempt (no retry, no dead letter) and the answer is its result: a 4xx"
        " from the endpoint is a 200 here, with `outcome` `dead_lettered` and its `status_code`.",
    ),
    Route(
        "POST",
        "/v1/apps/{app}/deliveries/{id}/redeliver",
        "Send a delivery again, to its notifier as configured now",
        "deliveries",
        {
            202: _ok(w.RedeliveryAnswer, "Queued for the channel's sender"),
            409: _problem(
                "No stored payload, the notifier is gone or inactive, or a retry is scheduled"
            ),
            503: _problem("The broker did not take the delivery"),
        },
        description="The recorded delivery, with the notifier's current settings (a fixed URL is"
        " used) and the same id (`webhook-id`), goes back to the channel's sender as the next"
        " attempt: the history shows it as one more attempt of the delivery.",
    ),
)

WEBHOOK_ONLY_NOTE = (
    "Webhook notifiers only (any other is a 404 with `resource` `secret`, and so is a webhook"
    " stored before secrets were generated, until a rotation gives it one)."
)
ROTATE_NOTE = (
    " The new secret (the body's, else a generated one) signs from now on; the one it replaces"
    " still signs beside it for `overlap_seconds` (24 h by default, at most 7 days; 0 stops it"
    " at once), so `webhook-signature` carries both during the overlap. A new version (ETag),"
    " seen by the router, with a `notifier_edited` event, as a PATCH."
)
SCOPE_FREE_NOTE = (
    " Finds a notifier of any scope by id: an app's (the token may see the app), an owner's"
    " (Clever Cloud hooks: `<hook id>.<n>`) or a user's (Cloud 66 channels); admin tokens see"
    " all."
)
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/apps/{app}/notifiers/{id}/secret",
        "Read a webhook notifier's signing secret",
        "notifiers",
        {200: _ok(w.NotifierSecretAnswer)},
        description=WEBHOOK_ONLY_NOTE,
    ),
    Route(
        "POST",
        "/v1/apps/{app}/notifiers/{id}/secret/rotate",
        "Rotate a webhook notifier's signing secret, with an overlap",
        "notifiers",
        {
            200: _ok(w.SecretRotateAnswer, "Rotated: the new secret, shown once here", "ETag"),
            412: _problem("The notifier changed since the `If-Match` ETag"),
        },
        body=w.SecretRotateBody,
        body_required=False,
        params=(IF_MATCH,),
        description=WEBHOOK_ONLY_NOTE + ROTATE_NOTE,
    ),
    Route(
        "GET",
        "/v1/notifiers/{id}/secret",
        "Read any webhook notifier's signing secret",
        "notifiers",
        {200: _ok(w.NotifierSecretAnswer)},
        description=WEBHOOK_ONLY_NOTE + SCOPE_FREE_NOTE,
    ),
    Route(
        "POST",
        "/v1/notifiers/{id}/secret/rotate",
        "Rotate any webhook notifier's signing secret, with an overlap",
        "notifiers",
        {
            200: _ok(w.SecretRotateAnswer, "Rotated: the new secret, shown once here", "ETag"),
            412: _problem("The notifier changed since the `If-Match` ETag"),
        },
        body=w.SecretRotateBody,
        body_required=False,
        params=(IF_MATCH,),
        description=WEBHOOK_ONLY_NOTE
        + ROTATE_NOTE
        + SCOPE_FREE_NOTE
        + " Rotating one notifier of a Clever Cloud webhook hook rotates the whole hook.",
    ),
)

AUDIT_FILTERS = (
    Param("app", "query", "Only this app's entries (its id or name)", {"type": "string"}),
    Param("type", "query", "Only this event type", {"type": "string"}, example="app:budget:set"),
    Param("since", "query", "Events at or after this RFC 3339 time", TIME),
    Param("until", "query", "Events before this RFC 3339 time", TIME),
    Param(
        "limit",
        "query",
        f"Items per page, {DEFAULT_LIMIT} by default; more than {MAX_LIMIT} is capped",
        {"type": "integer", "minimum": 1},
    ),
    Param("cursor", "query", "The `next_cursor` of the previous page", {"type": "string"}),
)
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/owners/{owner}/integrations/{provider}/authorize",
        "Connect Slack or Discord to an organisation: redirect to the provider (OAuth 2)",
        "integrations",
        {
            302: Answer("To the provider's consent page, with client_id, scope and state"),
            404: _problem(
                "Unknown owner, or no OAuth client is configured for this provider",
                w.NotFoundProblem,
            ),
        },
        description="Convox's organisation integrations. The `state` is random, single-use,"
        " bound to the owner and expires (`oauth_state_ttl_s`). Once connected, the"
        " integration forwards every event of every rack of the owner, audit-only ones"
        " excepted.",
    ),
    Route(
        "GET",
        "/v1/integrations/{provider}/callback",
        "The OAuth 2 callback: exchange the code, create the integration",
        "integrations",
        {
            201: _ok(w.IntegrationAnswer, "Connected"),
            302: Answer("Connected; to `integrations_done_url` when it is set"),
            400: _problem("Unknown, expired or used state; or the provider refused the code"),
            502: _problem("The provider could not be reached, or answered no usable webhook"),
        },
        auth=Auth.PUBLIC,
        params=(
            Param("code", "query", "The provider's authorization code", {"type": "string"}),
            Param("state", "query", "The state of the authorize redirect", {"type": "string"}),
            Param("error", "query", "The provider's error (the user declined)", {"type": "string"}),
        ),
        description="Public: the browser arrives from the provider; the state is the credential.",
    ),
    Route(
        "GET",
        "/v1/owners/{owner}/integrations",
        "List an organisation's Slack and Discord integrations",
        "integrations",
        {200: _ok(w.IntegrationList)},
        description="Webhook URLs are not shown (Discord's carries its token).",
    ),
    Route(
        "DELETE",
        "/v1/owners/{owner}/integrations/{id}",
        "Remove an integration: its notifications stop",
        "integrations",
        {204: NO_CONTENT},
    ),
    Route(
        "GET",
        "/v1/owners/{owner}/audit-log",
        "List an owner's audit-only events (recorded, never forwarded), newest first",
        "integrations",
        {200: _ok(w.AuditLog)},
        params=AUDIT_FILTERS,
        description="Convox's budget-configuration and override events. Keyset pages with"
        " `limit` and the opaque `next_cursor`.",
    ),
)

STREAM_NOTE = (
    "One route, two transports: a WebSocket upgrade gets a WebSocket (text frames"
    ' `{"cursor": …, "event": <envelope>}` and `{"cursor": …, "heartbeat": …}`), `Accept:'
    " text/event-stream` gets Server-Sent Events (`id:` the cursor, `data:` the envelope,"
    " `: heartbeat` comments). The envelope is `notify.events`' bytes, as a `raw` webhook gets"
    " them. Resume with the last cursor (`Last-Event-ID` or `cursor`): nothing within retention"
    " is lost. A client that falls behind is dropped (`event: dropped`; WS close 1008)."
    ' An app token streams only its app. See docs/faces.md, "Live event stream".'
)
STREAM_PARAMS = (
    Param("app_id", "query", "Only this app's events (repeatable)", {"type": "string"}),
    Param("addon_id", "query", "Only this add-on's events (repeatable)", {"type": "string"}),
    Param(
        "type",
        "query",
        "Only events answering to this type, alias or group id (repeatable)",
        {"type": "string"},
        example="deployments",
    ),
    Param(
        "cursor", "query", "Resume after the message that carried this cursor", {"type": "string"}
    ),
    Param(
        "Last-Event-ID",
        "header",
        "SSE: resume after this cursor (wins over `cursor`)",
        {"type": "string"},
    ),
)
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/owners/{owner}/events/stream",
        "Follow an owner's events live (WebSocket or Server-Sent Events)",
        "events",
        {
            101: Answer("Switching to the WebSocket protocol"),
            200: Answer("The Server-Sent Events stream", None, "text/event-stream"),
            400: _problem("The cursor is malformed"),
            406: _problem("Neither a WebSocket upgrade nor `Accept: text/event-stream`"),
            410: _problem("The cursor names events that retention deleted: reconnect without"),
            422: _problem("An unknown event type, or bad filter values", w.ValidationProblem),
            503: _problem("Too many streams are open, or the event log is unreachable"),
        },
        params=STREAM_PARAMS,
        description=STREAM_NOTE,
    ),
)

FACES_NOTE = "A thin face over the one notifier model (docs/faces.md)."
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v1/apps/{app}/notifications",
        "List an app's notifications (Scalingo's legacy API)",
        "notifications",
        {200: _ok(w.LegacyNotificationList)},
        description=FACES_NOTE + " Each notification is an app notifier, also listed by"
        " `GET /v1/apps/{app}/notifiers`.",
    ),
    Route(
        "POST",
        "/v1/apps/{app}/notifications",
        "Add a notification: deployment events to a webhook or a Slack channel",
        "notifications",
        {201: _ok(w.LegacyNotificationAnswer, "Created")},
        body=w.LegacyNotificationCreateBody,
        description="The type is read from `webhook_url` (a Slack incoming webhook makes `slack`,"
        " any other URL `webhook`). Enabled by default; a second enabled notification of one type"
        " is a 422. Only deployment events are sent: Scalingo's JSON to a webhook, a message to"
        " Slack. A `webhook` one is signed: its generated secret is the answer's `secret`,"
        " shown this once.",
    ),
    Route(
        "PATCH",
        "/v1/apps/{app}/notifications/{id}",
        "Change a notification's URL or enable/disable it",
        "notifications",
        {200: _ok(w.LegacyNotificationAnswer, "Updated")},
        body=w.LegacyNotificationPatchBody,
        description="A URL of another type is refused (a `slack` notification takes Slack URLs"
        " only), and so is enabling a second notification of one type (422).",
    ),
    Route(
        "DELETE",
        "/v1/apps/{app}/notifications/{id}",
        "Remove a notification",
        "notifications",
        {204: NO_CONTENT},
    ),
    Route(
        "GET",
        "/v1/users/{user}/account_notifications",
        "A user's account notifications: event types by channels (Cloud 66)",
        "account_notifications",
        {200: _ok(w.AccountNotificationsAnswer)},
        description=FACES_NOTE + " One user notifier per channel set up; e-mail is on by default"
        " for every type but `account_suspended`. Admin tokens, or the owner token of the user's"
        " own account.",
    ),
    Route(
        "PATCH",
        "/v1/users/{user}/account_notifications",
        "Change channel settings and per-type toggles",
        "account_notifications",
        {200: _ok(w.AccountNotificationsAnswer, "Updated")},
        body=AccountNotificationsBody,
        description="`channels` merges each channel's settings (`null` removes a channel);"
        " `event_types` switches types on or off per channel. A type can be switched on only on"
        " a channel that is set up.",
    ),
    Route(
        "POST",
        "/v1/users/{user}/account_notifications/webhook/test",
        "Send a sample account event to the user's webhook, and answer how it went",
        "account_notifications",
        {
            200: _ok(w.NotifierTestAnswer, "The attempt's result, whatever its outcome"),
            409: _problem("The webhook channel is not set up"),
            503: _problem("Too many tests are waiting, or the broker did not take the delivery"),
            504: _problem("No result in time: is the webhook sender running?"),
        },
        body=NotifierTestRequest,
        body_required=False,
        description="The body is optional: `event_type` picks an account type (`server.stopped`"
        " by default). The payload is Cloud 66's: the event plus `timestamp` and `event_type`.",
    ),
)

CC_OWNER_NOTE = (
    "Clever Cloud's API, on its paths and shapes (docs/faces.md, section Clever Cloud). `owner` is"
    " a registered owner (`PUT /v1/owners/{owner}`) the token may see: its owner token or an"
    " admin token, as `Authorization: Bearer` (what Clever Cloud's clients send)."
)
ROUTES = (
    *ROUTES,
    Route(
        "GET",
        "/v2/notifications/webhooks/{owner}",
        "List an owner's webhook hooks",
        "clevercloud",
        {200: _ok(CcWebhookList)},
        description=CC_OWNER_NOTE + " Each hook shows its `state` and recent `failures`.",
    ),
    Route(
        "POST",
        "/v2/notifications/webhooks/{owner}",
        "Create a webhook hook: one or more URLs, each in its format",
        "clevercloud",
        {200: _ok(CcWebhook, "Created")},
        body=CcWebhookIn,
        description=CC_OWNER_NOTE + " One owner-scoped webhook notifier per URL, all signed"
        " with one generated secret: the answer's `secret`, shown this once.",
    ),
    Route(
        "PUT",
        "/v2/notifications/webhooks/{owner}/{id}",
        "Edit a webhook hook: the body replaces it whole, as a POST body would",
        "clevercloud",
        {200: _ok(CcWebhook, "Updated")},
        body=CcWebhookIn,
        description=CC_OWNER_NOTE + " Same id, `createdAt` and signing secret; a disabled URL"
        " is on again.",
    ),
    Route(
        "DELETE",
        "/v2/notifications/webhooks/{owner}/{id}",
        "Delete a webhook hook",
        "clevercloud",
        {204: NO_CONTENT},
        description=CC_OWNER_NOTE,
    ),
    Route(
        "GET",
        "/v2/notifications/emailhooks/{owner}",
        "List an owner's e-mail hooks",
        "clevercloud",
        {200: _ok(CcEmailhookList)},
        description=CC_OWNER_NOTE + ' Every owner starts with "Default deployment result e-mails".',
    ),
    Route(
        "POST",
        "/v2/notifications/emailhooks/{owner}",
        "Create an e-mail hook",
        "clevercloud",
        {200: _ok(CcEmailhook, "Created")},
        body=CcEmailhookIn,
        description=CC_OWNER_NOTE + " One owner-scoped e-mail notifier.",
    ),
    Route(
        "PUT",
        "/v2/notifications/emailhooks/{owner}/{id}",
        "Edit an e-mail hook: the body replaces it whole, as a POST body would",
        "clevercloud",
        {200: _ok(CcEmailhook, "Updated")},
        body=CcEmailhookIn,
        description=CC_OWNER_NOTE + " Same id and `createdAt`; a disabled URL is on again.",
    ),
    Route(
        "DELETE",
        "/v2/notifications/emailhooks/{owner}/{id}",
        "Delete an e-mail hook (the default one too: its mails stop)",
        "clevercloud",
        {204: NO_CONTENT},
        description=CC_OWNER_NOTE,
    ),
    Route(
        "GET",
        "/v2/notifications/info/events",
        "Clever Cloud's event ids and meta-events",
        "clevercloud",
        {200: _ok(CcEventInfo)},
        auth=Auth.PUBLIC,
    ),
    Route(
        "GET",
        "/v2/notifications/info/webhookformats",
        "The webhook formats",
        "clevercloud",
        {200: _ok(CcWebhookFormats)},
        auth=Auth.PUBLIC,
    ),
)

TAGS = {
    "integrations": "Convox's organisation integrations (Slack, Discord over OAuth) and audit log",
    "tokens": "Scalingo's token exchange: an API token for a short-lived JWT",
    "catalog": "Platforms, event types and categories (public, like Scalingo's)",
    "apps": "Apps and their collaborators, as the PaaS registers them",
    "owners": "Organisations and accounts, and their members",
    "users": "Users, for their contact details",
    "notifiers": "Scalingo's notifiers API, plus Herald's presets",
    "alerts": "Scalingo's metric alerts: thresholds that notify the notifiers they list",
    "clevercloud": "Clever Cloud's organisation notifications: webhook and e-mail hooks",
    "routing": "Explain the router's decisions",
    "notifications": "Scalingo's legacy notifications API (deployment events only)",
    "account_notifications": "Cloud 66's account notifications: per-type, per-channel toggles",
    "deliveries": "Delivery history: every attempt, as the senders reported it",
    "health": "Probes and metrics",
    "events": "The live event stream of an owner",
    "reference": "This document",
}


def shared_answers(route: Route) -> dict[int, Answer]:
    """The answers a route gives besides its own: by auth, path and body. Pure."""
    answers: dict[int, Answer] = {}
    if route.body is not None and route.body_read:
        answers[400] = _problem("The body is not JSON, or missing")
        answers[422] = _problem("The body is invalid", w.ValidationProblem)
    if any(p.location == "query" and p.schema.get("type") == "integer" for p in route.params):
        answers[422] = _problem("A query parameter is invalid", w.ValidationProblem)
    if route.auth is Auth.BEARER:
        answers[401] = _problem("No valid token")
    if path_params(route.path):
        answers[404] = _problem("Unknown, or outside the token's scope", w.NotFoundProblem)
    return answers


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)
