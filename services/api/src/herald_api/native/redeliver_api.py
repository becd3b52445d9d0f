"""Send a recorded delivery again, to its notifier as configured now.

POST /v1/apps/{app}/deliveries/{id}/redeliver
    202 {"redelivery": {"delivery_id", "notifier_id", "channel", "attempt", "status": "queued"}}
    404 unknown delivery (or app)
    409 no stored payload · the notifier is gone or inactive · a retry is still scheduled

The recorder keeps each delivery as its latest result carried it (event, notifier snapshot,
recipients). Redelivery rebuilds it with the notifier snapshot (and e-mail recipients) of the
*current* config, so a fixed URL is used, keeps its id (the endpoint's idempotency key, the
`webhook-id`), and produces it to the channel's deliveries topic with `x-attempt` set to the
highest attempt recorded: the sender's attempt gets the next number, and its result shows in the
history as one more attempt. A redelivery of a delivery whose retry is still scheduled would
race that retry for the same attempt number, hence the 409.
"""

from __future__ import annotations

import asyncpg
import structlog
from aiohttp import web
from herald_core.deliveries import AttemptOutcome, Delivery
from herald_core.recipients import resolve_recipients
from pydantic import ValidationError

from herald_api.http.context import context
from herald_api.http.declare import PathScope, Route, ok_answer, problem_answer
from herald_api.http.scope import scoped_app
from herald_api.http.web import ApiProblem, json_response, not_found, storable
from herald_api.native.native_wire import RedeliveryAnswer
from herald_api.native.simulate_api import load_world
from herald_api.pipes.delivery_queue import DELIVERY_PRODUCER, queue_delivery
from herald_api.store import notifier_store

log = structlog.get_logger(__name__)

_STORED = (
    "SELECT id, notifier_id, status, latest_attempt, delivery FROM deliveries"
    " WHERE id = $1 AND app_id = $2"
)


def conflict(detail: str) -> ApiProblem:
    return ApiProblem(409, detail, kind="not-redeliverable")


async def _stored(connection: asyncpg.Connection, app_id: str, delivery_id: str) -> asyncpg.Record:
    row = await connection.fetchrow(_STORED, delivery_id, app_id) if storable(delivery_id) else None
    if row is None:
        raise not_found(f"delivery {delivery_id}")
    return row


def stored_delivery(row: asyncpg.Record) -> Delivery:
    """The delivery the row keeps. Raises ApiProblem 409 when it keeps none (or none readable)."""
    if row["delivery"] is None:
        raise conflict(
            f"delivery {row['id']} has no stored payload (recorded before payloads were kept)"
        )
    try:
        return Delivery.model_validate_json(row["delivery"])
    except ValidationError:
        raise conflict(f"the stored payload of delivery {row['id']} is unreadable") from None


async def _rebuilt(request: web.Request) -> tuple[Delivery, int]:
    """The delivery to send again, and the number of attempts made so far."""
    ctx, app = context(request), scoped_app(request)
    async with ctx.pool.acquire() as connection:
        row = await _stored(connection, app.id, request.match_info["id"])
        stored = stored_delivery(row)
        if row["status"] == AttemptOutcome.RETRY_SCHEDULED:
            raise conflict(f"delivery {row['id']} has a retry scheduled already")
        notifier = await notifier_store.load(connection, row["notifier_id"])
        if notifier is None:
            raise conflict(f"notifier {row['notifier_id']} no longer exists")
        if not notifier.active:
            raise conflict(f"notifier {notifier.id} is inactive")
        directory, _ = await load_world(connection, stored.event)
    delivery = Delivery.for_(
        stored.event,
        notifier,
        ctx.clock(),
        recipients=resolve_recipients(notifier, stored.event, directory),
        traceparent=stored.traceparent,
    ).model_copy(update={"id": row["id"]})
    return delivery, int(row["latest_attempt"])


async def redeliver(request: web.Request) -> web.Response:
    delivery, attempts = await _rebuilt(request)
    # A broker that refuses or does not acknowledge in time: 503 with Retry-After (the
    # unavailable middleware); the client asks again, for the same delivery id.
    await queue_delivery(
        request.app[DELIVERY_PRODUCER],
        delivery,
        attempts_so_far=attempts,
        timeout_s=context(request).settings.broker_ack_timeout_s,
    )
    log.info("redelivery_queued", delivery_id=delivery.id, attempt=attempts + 1)
    answer = {
        "delivery_id": delivery.id,
        "notifier_id": delivery.notifier.id,
        "channel": delivery.channel.value,
        "attempt": attempts + 1,
        "status": "queued",
    }
    return json_response({"redelivery": answer}, status=202)


ROUTES = (
    Route(
        "POST",
        "/v1/apps/{app}/deliveries/{id}/redeliver",
        "Send a delivery again, to its notifier as configured now",
        "deliveries",
        {
            202: ok_answer(RedeliveryAnswer, "Queued for the channel's sender"),
            409: problem_answer(
                "No stored payload, the notifier is gone or inactive, or a retry is scheduled"
            ),
            503: problem_answer("The broker did not take the delivery"),
        },
        description="The recorded delivery, with the notifier's current settings (a fixed URL is"
        " used) and the same id (`webhook-id`), goes back to the channel's sender as the next"
        " attempt: the history shows it as one more attempt of the delivery.",
        scope=PathScope.APP,
        handler=redeliver,
    ),
)
