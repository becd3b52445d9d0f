"""The recorder on the real broker and Postgres, and the history API that reads what it wrote.

Each recorder joins its own consumer group, so it reads `notify.delivery-results` from the start,
other tests' results included: assertions look only at this test's unique ids.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from herald_api.http.auth import TokenScope, create_token
from herald_api.store.migrate import migrate
from herald_core.deliveries import AttemptOutcome, DeliveryResult, delivery_id
from herald_core.settings import KafkaSettings
from herald_core.topics import DELIVERY_RESULTS, Channel
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder.app import RecorderService
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

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def result(delivery: str, attempt: int, outcome: AttemptOutcome, **changes: Any) -> DeliveryResult:
    fields: dict[str, Any] = {
        "delivery_id": delivery,
        "event_id": f"evt-{delivery}",
        "event_type": "app_deployed",
        "app_id": "app-x",
        "owner_id": "org-x",
        "notifier_id": "n-x",
        "channel": Channel.WEBHOOK,
        "attempt": attempt,
        "outcome": outcome,
        "status_code": 200 if outcome is AttemptOutcome.DELIVERED else 503,
        "duration_ms": 10.0 * attempt,
        "at": T0 + timedelta(minutes=attempt),
        **changes,
    }
    return DeliveryResult(**fields)


def records(*results: DeliveryResult) -> list[OutgoingRecord]:
    return [OutgoingRecord(DELIVERY_RESULTS, r.to_json(), r.delivery_id.encode()) for r in results]


def results_counted(recorder: RecorderService, outcome: str) -> float:
    sample = recorder.registry.get_sample_value(
        "herald_recorder_results_total", {"outcome": outcome}
    )
    return sample or 0.0


async def test_recorder_is_idempotent_keeps_the_highest_attempt_and_skips_garbage(
    kafka_settings: KafkaSettings, fresh_database: str, producer: Any, unique: str
) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        retried, other = f"d-{unique}-retried", f"d-{unique}-other"
        first = result(retried, 1, AttemptOutcome.RETRY_SCHEDULED, reason="server_error")
        third = result(retried, 3, AttemptOutcome.DEAD_LETTERED, reason="client_error")
        second = result(retried, 2, AttemptOutcome.RETRY_SCHEDULED, reason="timeout")
        async with running_recorder(kafka_settings, fresh_database, unique) as recorder:
            # Batch one: attempts 1 and 3, attempt 1 twice (its replay has another detail).
            await send_all(
                producer, records(first, third, first.model_copy(update={"detail": "replayed"}))
            )
            await eventually(
                lambda: connection.fetchval(
                    "SELECT count(*) = 2 FROM delivery_attempts WHERE delivery_id = $1", retried
                ),
                what="attempts 1 and 3 recorded",
            )
            # Later: attempt 2 arrives after 3, attempt 1 once more, and garbage on the partition
            # of the last result, which must not wait behind it.
            await send_all(
                producer,
                [
                    *records(second, first),
                    OutgoingRecord(DELIVERY_RESULTS, b"\x00not json", other.encode()),
                    OutgoingRecord(DELIVERY_RESULTS, b'{"delivery_id": 7}', other.encode()),
                    *records(result(other, 1, AttemptOutcome.DELIVERED, app_id=None)),
                ],
            )
            await eventually(
                lambda: connection.fetchval("SELECT count(*) FROM deliveries WHERE id = $1", other),
                what="the result after the garbage recorded",
            )
            await eventually(
                lambda: connection.fetchval(
                    "SELECT attempt_count = 3 FROM deliveries WHERE id = $1", retried
                ),
                what="attempt 2 recorded",
            )
            assert results_counted(recorder, "invalid") >= 2
            assert results_counted(recorder, "duplicate") >= 2
            assert recorder.registry.get_sample_value("herald_recorder_lag_seconds_count")
        delivery = await connection.fetchrow("SELECT * FROM deliveries WHERE id = $1", retried)
        attempts = await connection.fetch(
            "SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt", retried
        )
        alone = await connection.fetchrow("SELECT * FROM deliveries WHERE id = $1", other)
    finally:
        await connection.close()

    assert dict(delivery) | {"recorded_at": None, "updated_at": None} == {
        "id": retried,
        "event_id": f"evt-{retried}",
        "event_type": "app_deployed",
        "app_id": "app-x",
        "owner_id": "org-x",
        "notifier_id": "n-x",
        "channel": "webhook",
        "status": "dead_lettered",  # attempt 3's, though attempt 2 came later
        "latest_attempt": 3,
        "attempt_count": 3,  # the replays of attempt 1 counted nothing
        "status_code": 503,
        "reason": "client_error",
        "first_attempt_at": first.at,
        "last_attempt_at": third.at,
        "recorded_at": None,
        "updated_at": None,
        "delivery": None,  # these results carried no delivery (written before they did)
    }
    assert [(a["attempt"], a["outcome"], a["reason"], a["detail"]) for a in attempts] == [
        (1, "retry_scheduled", "server_error", None),  # the first write won
        (2, "retry_scheduled", "timeout", None),
        (3, "dead_lettered", "client_error", None),
    ]
    assert [a["duration_ms"] for a in attempts] == [10.0, 20.0, 30.0]
    assert (alone["status"], alone["app_id"], alone["attempt_count"]) == ("delivered", None, 1)


async def test_a_repeat_that_settles_a_scheduled_retry_replaces_it(
    kafka_settings: KafkaSettings, fresh_database: str, producer: Any, unique: str
) -> None:
    """A sender killed after an attempt's result but before its retry record tries the same
    attempt again: answered 200, that repeat is the delivery's last word, across batches (the
    database) and within one (the batch's rows)."""
    connection = await asyncpg.connect(fresh_database)
    try:
        await migrate(connection)
        across, within = f"d-{unique}-across", f"d-{unique}-within"
        scheduled = AttemptOutcome.RETRY_SCHEDULED
        async with running_recorder(kafka_settings, fresh_database, unique):
            await send_all(
                producer,
                records(result(across, 1, scheduled), result(across, 2, scheduled)),
            )
            await eventually(
                lambda: connection.fetchval(
                    "SELECT latest_attempt = 2 FROM deliveries WHERE id = $1", across
                ),
                what="attempts 1 and 2 recorded",
            )
            repeat = result(across, 2, AttemptOutcome.DELIVERED, detail="the repeat")
            late = result(across, 2, scheduled, detail="late")  # never reopens it
            await send_all(
                producer,
                records(
                    repeat,
                    late,
                    result(within, 1, scheduled),
                    result(within, 1, AttemptOutcome.DELIVERED, detail="the repeat"),
                ),
            )
            await eventually(
                lambda: connection.fetchval(
                    "SELECT count(*) = 2 FROM deliveries WHERE id = ANY($1) AND status = $2",
                    [across, within],
                    "delivered",
                ),
                what="both deliveries settled by their repeats",
            )
        rows = await connection.fetch(
            "SELECT id, status, status_code, latest_attempt, attempt_count FROM deliveries"
            " WHERE id = ANY($1) ORDER BY id",
            [across, within],
        )
        attempts = await connection.fetch(
            "SELECT delivery_id, attempt, outcome, detail FROM delivery_attempts"
            " WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
            [across, within],
        )
    finally:
        await connection.close()
    assert [tuple(r) for r in rows] == [
        (across, "delivered", 200, 2, 2),  # the repeat counted no new attempt
        (within, "delivered", 200, 1, 1),
    ]
    assert [tuple(a) for a in attempts] == [
        (across, 1, "retry_scheduled", None),
        (across, 2, "delivered", "the repeat"),
        (within, 1, "delivered", "the repeat"),
    ]


async def test_a_delivered_webhook_shows_in_the_history_api(
    api: Any,
    admin: ApiClient,
    herald: Herald,
    receiver: HttpReceiver,
    kafka_settings: KafkaSettings,
    unique: str,
) -> None:
    app_id, owner_id = f"app-{unique}", f"org-{unique}"
    await register_app(admin, app_id, owner_id)
    notifier_id = await api_notifier(admin, app_id, receiver.url(f"/{app_id}"))
    await router_sees(herald, [notifier_id])
    event = deployed(app_id, owner_id)

    async with running_recorder(
        kafka_settings, api.settings.database_url.get_secret_value(), unique
    ):
        await post_event(admin.http, herald, event)
        [request] = await receiver.wait_for(f"/{app_id}")
        expected_id = delivery_id(event["id"], notifier_id)
        assert request.headers["webhook-id"] == expected_id

        async def listed() -> Any:
            status, body = await admin.call("GET", f"/v1/apps/{app_id}/deliveries")
            assert status == 200, body
            return body["deliveries"]

        [delivery] = await eventually(listed, what="the delivery in the history")

    assert {k: delivery[k] for k in ("id", "event_id", "event_type", "notifier_id")} == {
        "id": expected_id,
        "event_id": event["id"],
        "event_type": "app_deployed",
        "notifier_id": notifier_id,
    }
    assert (delivery["app_id"], delivery["owner_id"], delivery["channel"]) == (
        app_id,
        owner_id,
        "webhook",
    )
    assert (delivery["status"], delivery["status_code"], delivery["attempt_count"]) == (
        "delivered",
        200,
        1,
    )
    status, shown = await admin.call("GET", f"/v1/apps/{app_id}/deliveries/{expected_id}")
    assert status == 200, shown
    [attempt] = shown["delivery"]["attempts"]
    assert (attempt["attempt"], attempt["outcome"], attempt["status_code"]) == (1, "delivered", 200)
    assert attempt["duration_ms"] >= 0
    assert datetime.fromisoformat(attempt["at"]) >= datetime.fromisoformat(event["created_at"])

    # Visible only to tokens that may see the app: another app's token gets a 404.
    async with api.pool.acquire() as connection:
        _, stranger_token = await create_token(
            connection, "stranger", TokenScope.APP, f"app-{unique}-other"
        )
        _, owner_token = await create_token(connection, "owner", TokenScope.OWNER, owner_id)
    stranger = ApiClient(admin.http, api.port, stranger_token)
    for path in (f"/v1/apps/{app_id}/deliveries", f"/v1/apps/{app_id}/deliveries/{expected_id}"):
        status, body = await stranger.call("GET", path)
        assert (status, body["resource"]) == (404, "app")
    status, body = await ApiClient(admin.http, api.port, owner_token).call(
        "GET", f"/v1/apps/{app_id}/deliveries"
    )
    assert (status, [d["id"] for d in body["deliveries"]]) == (200, [expected_id])


def synthetic(app_id: str, unique: str) -> list[DeliveryResult]:
    """30 deliveries: two notifiers, three outcomes, two event types; pairs share a time."""
    outcomes = list(AttemptOutcome)
    made = []
    for i in range(30):
        notifier = f"n-{unique}-{'a' if i % 3 else 'b'}"
        event_id = f"evt-{unique}-{i:02d}"
        made.append(
            DeliveryResult(
                delivery_id=delivery_id(event_id, notifier),
                event_id=event_id,
                event_type="app_deployed" if i % 2 else "app_crashed",
                app_id=app_id,
                owner_id=f"org-{unique}",
                notifier_id=notifier,
                channel=Channel.WEBHOOK,
                attempt=1,
                outcome=outcomes[i % 3],
                status_code=200,
                duration_ms=5.0,
                at=T0 + timedelta(minutes=i // 2),
            )
        )
    return made


def newest_first(results: list[DeliveryResult]) -> list[str]:
    ordered = sorted(results, key=lambda r: (r.at, r.delivery_id), reverse=True)
    return [r.delivery_id for r in ordered]


async def all_pages(admin: ApiClient, app_id: str, **params: str) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        status, body = await admin.call("GET", f"/v1/apps/{app_id}/deliveries", **query)
        assert status == 200, body
        ids += [d["id"] for d in body["deliveries"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


async def test_history_filters_and_cursor_pagination(
    api: Any, admin: ApiClient, producer: Any, kafka_settings: KafkaSettings, unique: str
) -> None:
    app_id = f"app-{unique}"
    await register_app(admin, app_id, f"org-{unique}")
    made = synthetic(app_id, unique)
    async with running_recorder(
        kafka_settings, api.settings.database_url.get_secret_value(), unique
    ):
        await send_all(producer, records(*made))

        async def all_listed() -> bool:
            status, body = await admin.call("GET", f"/v1/apps/{app_id}/deliveries", limit="200")
            return status == 200 and len(body["deliveries"]) == len(made)

        await eventually(all_listed, what="30 deliveries in the history")

    ids, pages = await all_pages(admin, app_id, limit="7")
    assert (ids, pages) == (newest_first(made), 5)
    status, body = await admin.call("GET", f"/v1/apps/{app_id}/deliveries")
    assert (status, len(body["deliveries"]), body["next_cursor"]) == (200, 30, None)

    cases: list[tuple[dict[str, str], list[DeliveryResult]]] = [
        ({"status": "dead_lettered"}, [r for r in made if r.outcome == "dead_lettered"]),
        ({"notifier_id": f"n-{unique}-b"}, [r for r in made if r.notifier_id.endswith("-b")]),
        ({"event_type": "app_crashed"}, [r for r in made if r.event_type == "app_crashed"]),
        (
            {"since": "2026-01-05T09:03:00Z", "until": "2026-01-05T10:08:00+01:00"},
            [r for r in made if T0 + timedelta(minutes=3) <= r.at < T0 + timedelta(minutes=8)],
        ),
        (
            {"status": "delivered", "event_type": "app_deployed"},
            [r for r in made if r.outcome == "delivered" and r.event_type == "app_deployed"],
        ),
        ({"notifier_id": "n-nobody"}, []),
    ]
    for params, expected in cases:
        assert expected or params == {"notifier_id": "n-nobody"}
        ids, _ = await all_pages(admin, app_id, limit="3", **params)
        assert ids == newest_first(expected), params

    for params, field in (
        ({"cursor": "garbage"}, "cursor"),
        ({"status": "lost"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"since": "yesterday"}, "since"),
    ):
        status, body = await admin.call("GET", f"/v1/apps/{app_id}/deliveries", **params)
        assert (status, list(body["errors"])) == (422, [field])

    other_app = f"app-{unique}-other"
    await register_app(admin, other_app, f"org-{unique}")
    status, body = await admin.call("GET", f"/v1/apps/{other_app}/deliveries/{made[0].delivery_id}")
    assert (status, body["resource"]) == (404, "delivery")
    status, body = await admin.call("GET", f"/v1/apps/{other_app}/deliveries")
    assert (status, body["deliveries"]) == (200, [])
