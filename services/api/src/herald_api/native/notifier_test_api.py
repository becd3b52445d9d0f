"""Scalingo's "Test a notifier": send a sample event to one notifier now, and say how it went.

POST /v1/apps/{app}/notifiers/{id}/test   body optional: {"event_type": "<catalog type>"}
    200 {"test": {"delivery_id", "event_id", "event_type", "notifier_id", "channel", "outcome",
                  "status_code", "latency_ms", "reason", "detail", "response_excerpt", "at"}}
    422 an unknown event type · 503 too many tests waiting, or the broker refused the delivery
    504 no result within `notifier_test_timeout_s`

The event is a sample of the requested type (`app_deployed` by default; legacy names such as
`deployment` work too) for the notifier's app, with a fresh id, so the delivery id is fresh too.
The delivery skips the router (a test goes to the notifier even when it is inactive or does not
select the type) and goes to the channel's deliveries topic with `herald-test: 1`: the sender
makes one attempt and writes its result, never a retry or a dead letter. The answer is that
result, whatever its outcome: a 404 from the endpoint is a 200 here, with `outcome`
`dead_lettered` and `status_code` 404.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from herald_core.catalog import CATALOG
from herald_core.deliveries import Delivery, DeliveryResult
from herald_core.directory import AppEntry
from herald_core.notifiers import Notifier
from herald_core.recipients import resolve_recipients
from pydantic import BaseModel, ConfigDict, Field

from herald_api.http.context import context
from herald_api.http.declare import PathScope, Route, ok_answer, problem_answer
from herald_api.http.parsing import parse
from herald_api.http.scope import scoped_app
from herald_api.http.web import ApiProblem, invalid, json_response, not_found, read_json, storable
from herald_api.model.sample_events import resolve_type, sample_event
from herald_api.native.native_wire import NotifierTestAnswer
from herald_api.native.simulate_api import load_world
from herald_api.pipes.delivery_queue import DELIVERY_PRODUCER, queue_delivery
from herald_api.pipes.delivery_results import RESULT_WAITERS, TooManyWaiters
from herald_api.store import notifier_store

log = structlog.get_logger(__name__)


class NotifierTestRequest(BaseModel):
    """The optional body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str | None = Field(default=None, min_length=1, max_length=120)


async def notifier_of(connection: asyncpg.Connection, app: AppEntry, notifier_id: str) -> Notifier:
    """The app's notifier `notifier_id`. Raises ApiProblem 404 when the app has none such."""
    notifier = await notifier_store.load(connection, notifier_id) if storable(notifier_id) else None
    if notifier is None or notifier.app_id != app.id:
        raise not_found(f"notifier {notifier_id}")
    return notifier


async def read_test_request(request: web.Request) -> NotifierTestRequest:
    """The optional body. Raises ApiProblem 400/422 on a bad one."""
    if not (await request.read()).strip():
        return NotifierTestRequest()  # Scalingo's clients send no body
    return parse(NotifierTestRequest, await read_json(request))


_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


def status_of(result: DeliveryResult) -> int | None:
    """The endpoint's status: the result's, else the one a failure's detail names. Pure.

    Failed attempts' results carry the status since `DeliveryError.status_code`; older ones
    only spell it in `detail` (`HTTP 404 Not Found`).
    """
    if result.status_code is not None:
        return result.status_code
    found = _HTTP_STATUS.search(result.detail or "")
    return int(found.group(1)) if found else None


def result_json(result: DeliveryResult) -> dict[str, Any]:
    """The `test` member of the answer. Pure."""
    return {
        "delivery_id": result.delivery_id,
        "event_id": result.event_id,
        "event_type": result.event_type,
        "notifier_id": result.notifier_id,
        "channel": result.channel.value,
        "outcome": result.outcome.value,
        "status_code": status_of(result),
        "latency_ms": result.duration_ms,
        "reason": result.reason,
        "detail": result.detail,
        "response_excerpt": result.response_excerpt,
        "at": result.at.isoformat(),
    }


async def _test_delivery(request: web.Request, wanted: NotifierTestRequest) -> Delivery:
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection:
        notifier = await notifier_of(connection, app, request.match_info["id"])
        event_type = resolve_type(wanted.event_type)
        if event_type is None:
            raise invalid({"event_type": [f"unknown event type {wanted.event_type!r}"]})
        if event_type.id in CATALOG.audit_only_ids():
            raise invalid(
                {"event_type": [f"{event_type.id!r} is audit-only: it is never sent to notifiers"]}
            )
        now = ctx.clock()
        event = sample_event(
            event_type,
            event_id=f"test-{uuid.uuid4()}",
            now=now,
            app_id=app.id,
            app_name=app.name,
            owner_id=app.owner_id,
        )
        directory, _ = await load_world(connection, event)
    recipients = resolve_recipients(notifier, event, directory)
    return Delivery.for_(event, notifier, now, recipients=recipients)


async def await_test_result(request: web.Request, delivery: Delivery) -> DeliveryResult:
    """Queue a test delivery (one attempt, never retried) and wait for its result.

    Other faces' test actions call this too (Cloud 66's account webhook test).

    Raises:
        ApiProblem: 503 when too many tests wait, 504 without a result within
            `notifier_test_timeout_s`.
        KafkaError: the broker refused it or did not acknowledge it in time, which the
            unavailable middleware answers with 503 and `Retry-After`.
    """
    timeout_s = context(request).settings.notifier_test_timeout_s
    try:
        async with request.app[RESULT_WAITERS].wait_for(delivery.id) as result:
            await queue_delivery(
                request.app[DELIVERY_PRODUCER],
                delivery,
                attempts_so_far=0,
                timeout_s=context(request).settings.broker_ack_timeout_s,
                test=True,
            )
            log.info(
                "notifier_test_queued", delivery_id=delivery.id, notifier_id=delivery.notifier.id
            )
            return await asyncio.wait_for(result, timeout_s)
    except TooManyWaiters:
        raise ApiProblem(
            503, "too many notifier tests are waiting; try again shortly", kind="busy"
        ) from None
    except TimeoutError:
        raise ApiProblem(
            504,
            f"no result within {timeout_s:g}s: is the {delivery.channel.value} sender running?",
            kind="test-timeout",
        ) from None


async def run_notifier_test(request: web.Request) -> web.Response:
    wanted = await read_test_request(request)
    delivery = await _test_delivery(request, wanted)
    return json_response({"test": result_json(await await_test_result(request, delivery))})


ROUTES = (
    Route(
        "POST",
        "/v1/apps/{app}/notifiers/{id}/test",
        "Test a notifier: send it a sample event now, and answer how it went",
        "notifiers",
        {
            200: ok_answer(NotifierTestAnswer, "The attempt's result, whatever its outcome"),
            503: problem_answer(
                "Too many tests are waiting, or the broker did not take the delivery"
            ),
            504: problem_answer("No result in time: is the channel's sender running?"),
        },
        body=NotifierTestRequest,
        body_required=False,
        description="Scalingo's \"Test a notifier\". The body is optional (Scalingo's clients send"
        " none): `event_type` picks the sample event's type, `app_deployed` by default. The"
        " sample goes to the notifier even when it is inactive or does not select the type; the"
        " sender makes one attempt (no retry, no dead letter) and the answer is its result: a 4xx"
        " from the endpoint is a 200 here, with `outcome` `dead_lettered` and its `status_code`.",
        scope=PathScope.APP,
        handler=run_notifier_test,
    ),
)
