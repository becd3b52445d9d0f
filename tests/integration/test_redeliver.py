"""POST /v1/apps/{app}/deliveries/{id}/redeliver through the real path: an event is routed, the
endpoint refuses it (404: dead-lettered at once), the recorder keeps the delivery, the notifier's
URL is fixed, and the redelivery reaches the fixed URL with the same `webhook-id` as attempt 2.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_core.deliveries import Delivery, delivery_id
from herald_core.settings import KafkaSettings
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver

from support.helpers import (
    api_notifier,
    deployed,
    post_event,
    register_app,
    router_sees,
    running_recorder,
)
from support.pipeline import Herald

pytestmark = pytest.mark.integration


async def app_with_webhook(admin: ApiClient, app_id: str, url: str) -> str:
    await register_app(admin, app_id, f"org-{app_id}")
    return await api_notifier(admin, app_id, url)


async def test_a_dead_lettered_delivery_is_redelivered_to_the_fixed_url(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    kafka_settings: KafkaSettings,
    unique: str,
) -> None:
    app_id = f"app-{unique}"
    broken, fixed = f"/{unique}/broken", f"/{unique}/fixed"
    receiver.statuses[broken] = 404
    notifier_id = await app_with_webhook(admin, app_id, receiver.url(broken))
    await router_sees(herald, [notifier_id])
    event = deployed(app_id, f"org-{app_id}")
    event_id = event["id"]
    expected_id = delivery_id(event_id, notifier_id)
    history = f"/v1/apps/{app_id}/deliveries/{expected_id}"

    async def shown() -> Any:
        status, body = await admin.call("GET", history)
        return body["delivery"] if status == 200 else None

    database_url = api.settings.database_url.get_secret_value()
    async with running_recorder(kafka_settings, database_url, unique):
        await post_event(admin.http, herald, event)
        [first] = await receiver.wait_for(broken)
        assert first.headers["webhook-id"] == expected_id

        dead = await eventually(
            lambda: _with(shown(), status="dead_lettered"), what="the delivery dead-lettered"
        )
        assert (dead["latest_attempt"], dead["status_code"] in (None, 404)) == (1, True)
        async with api.pool.acquire() as connection:
            stored = await connection.fetchval(
                "SELECT delivery FROM deliveries WHERE id = $1", expected_id
            )
        kept = Delivery.model_validate_json(stored)
        assert (kept.id, kept.event.id, kept.notifier.type_data["webhook_url"]) == (
            expected_id,
            event_id,
            receiver.url(broken),
        )

        status, patched = await admin.call(
            "PATCH",
            f"/v1/apps/{app_id}/notifiers/{notifier_id}",
            {"notifier": {"type_data": {"webhook_url": receiver.url(fixed)}}},
        )
        assert status == 200, patched

        status, answer = await admin.call("POST", history + "/redeliver")
        assert status == 202, answer
        assert answer == {
            "redelivery": {
                "delivery_id": expected_id,
                "notifier_id": notifier_id,
                "channel": "webhook",
                "attempt": 2,
                "status": "queued",
            }
        }
        [again] = await receiver.wait_for(fixed)
        assert again.headers["webhook-id"] == expected_id
        assert len(receiver.on(broken)) == 1

        delivered = await eventually(
            lambda: _with(shown(), status="delivered"), what="the redelivery recorded"
        )
    assert (delivered["latest_attempt"], delivered["attempt_count"]) == (2, 2)
    assert [(a["attempt"], a["outcome"]) for a in delivered["attempts"]] == [
        (1, "dead_lettered"),
        (2, "delivered"),
    ]
    assert delivered["attempts"][1]["status_code"] == 200


async def _with(delivery: Any, **wanted: Any) -> Any:
    found = await delivery
    return found if found and all(found[k] == v for k, v in wanted.items()) else None


async def insert_delivery(
    api: Any, app_id: str, notifier_id: str, *, status: str, payload: str | None
) -> str:
    made = f"d-{uuid.uuid4().hex}"
    async with api.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO deliveries (id, event_id, event_type, app_id, owner_id, notifier_id,"
            " channel, status, latest_attempt, attempt_count, first_attempt_at, last_attempt_at,"
            " delivery) VALUES ($1, 'evt-1', 'app_deployed', $2, 'org-1', $3, 'webhook', $4, 3,"
            " 3, now(), now(), $5::jsonb)",
            made,
            app_id,
            notifier_id,
            status,
            payload,
        )
    return made


def payload_for(app_id: str, made_for: str) -> str:
    return json.dumps(
        {
            "id": made_for,
            "channel": "webhook",
            "event": {
                "id": "evt-1",
                "type": "app_deployed",
                "created_at": "2026-01-05T09:00:00Z",
                "app_id": app_id,
                "type_data": {"status": "success"},
            },
            "notifier": {"id": "n", "name": "n", "platform": "webhook", "version": 1},
            "routed_at": "2026-01-05T09:00:00Z",
        }
    )


async def test_what_cannot_be_redelivered(
    api: Any, admin: ApiClient, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    notifier_id = await app_with_webhook(admin, app_id, receiver.url(f"/{unique}"))
    payload = payload_for(app_id, "x")
    cases = {
        "no stored payload": await insert_delivery(
            api, app_id, notifier_id, status="dead_lettered", payload=None
        ),
        "no longer exists": await insert_delivery(
            api, app_id, f"{notifier_id}-gone", status="dead_lettered", payload=payload
        ),
        "retry scheduled": await insert_delivery(
            api, app_id, notifier_id, status="retry_scheduled", payload=payload
        ),
    }
    for words, made in cases.items():
        status, body = await admin.call("POST", f"/v1/apps/{app_id}/deliveries/{made}/redeliver")
        assert (status, words in body["error"]) == (409, True), body

    inactive = await insert_delivery(
        api, app_id, notifier_id, status="dead_lettered", payload=payload
    )
    status, body = await admin.call(
        "PATCH", f"/v1/apps/{app_id}/notifiers/{notifier_id}", {"notifier": {"active": False}}
    )
    assert status == 200, body
    status, body = await admin.call("POST", f"/v1/apps/{app_id}/deliveries/{inactive}/redeliver")
    assert (status, "inactive" in body["error"]) == (409, True), body

    status, body = await admin.call("POST", f"/v1/apps/{app_id}/deliveries/d-none/redeliver")
    assert (status, body["resource"]) == (404, "delivery")
    async with api.pool.acquire() as connection:
        _, stranger = await create_token(connection, "stranger", TokenScope.APP, f"{app_id}-x")
    status, body = await ApiClient(admin.http, api.port, stranger).call(
        "POST", f"/v1/apps/{app_id}/deliveries/{inactive}/redeliver"
    )
    assert (status, body["resource"]) == (404, "app")
    assert receiver.requests == []


async def test_the_recorder_keeps_the_payload_of_the_highest_attempt(
    kafka_settings: KafkaSettings, fresh_database: str, producer: Any, unique: str
) -> None:
    import asyncpg
    from herald_api.store.migrate import migrate
    from herald_core.deliveries import AttemptOutcome, DeliveryResult
    from herald_core.topics import DELIVERY_RESULTS
    from herald_kafka.producer import OutgoingRecord, send_all

    made = f"d-{unique}"

    def result(attempt: int, url: str | None) -> OutgoingRecord:
        payload = json.loads(payload_for("app-1", made))
        payload["notifier"]["type_data"] = {"webhook_url": url}
        carried = Delivery.model_validate(payload) if url else None
        value = DeliveryResult(
            delivery_id=made,
            event_id="evt-1",
            event_type="app_deployed",
            app_id="app-1",
            notifier_id="n",
            channel="webhook",
            attempt=attempt,
            outcome=AttemptOutcome.DEAD_LETTERED,
            duration_ms=1.0,
            at=datetime.now(UTC),
            delivery=carried,
        ).to_json()
        return OutgoingRecord(DELIVERY_RESULTS, value, made.encode())

    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)

        async def kept(count: int) -> Any:
            row = await connection.fetchrow(
                "SELECT attempt_count, delivery FROM deliveries WHERE id = $1", made
            )
            if row is None or row["attempt_count"] != count:
                return None
            if row["delivery"] is None:
                return "none"
            return Delivery.model_validate_json(row["delivery"]).notifier.type_data["webhook_url"]

        async with running_recorder(kafka_settings, fresh_database, unique):
            await send_all(producer, [result(2, "https://two")])
            assert await eventually(lambda: kept(1), what="attempt 2") == "https://two"
            await send_all(producer, [result(1, "https://one")])  # late: an older payload
            assert await eventually(lambda: kept(2), what="attempt 1") == "https://two"
            await send_all(producer, [result(3, None)])  # no payload: keeps the stored one
            assert await eventually(lambda: kept(3), what="attempt 3") == "https://two"
            await send_all(producer, [result(4, "https://four"), result(5, None)])
            assert await eventually(lambda: kept(5), what="attempts 4 and 5") == "https://four"
    finally:
        await connection.close()
