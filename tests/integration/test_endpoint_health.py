"""Endpoint health end to end: the recorder's tracker disables failing notifiers through the API.

Real broker, Postgres, config API (with its outbox relay) and recorder, in-process. The window
is scaled down to one second. Each recorder joins fresh consumer groups, so it reads every
result other tests left on `notify.delivery-results`: assertions look only at this test's ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_core.deliveries import AttemptOutcome, DeliveryResult
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, LogSettings
from herald_core.topics import CONFIG_NOTIFIERS, DELIVERY_RESULTS, EVENTS, Channel
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder.app import RecorderService
from herald_recorder.settings import RecorderSettings
from herald_testing.api_client import ApiClient
from herald_testing.herald import Herald
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import find_record

pytestmark = pytest.mark.integration

WINDOW_S = 1.0


@asynccontextmanager
async def tracking_recorder(
    api: Any, unique: str, **changes: Any
) -> AsyncIterator[RecorderService]:
    groups = f"{unique}-{uuid.uuid4().hex[:6]}"
    fields: dict[str, Any] = {
        "kafka": api.settings.kafka,
        "http": HttpSettings(port=0),
        "log": LogSettings(json=False, level="warning"),
        "database_url": api.settings.database_url,  # migrated by the api, 0004 included
        "group_id": f"herald-recorder-{groups}",
        "health_group_id": f"herald-recorder-health-{groups}",
        "health_window_s": WINDOW_S,
        "health_min_failures": 3,
        "api_url": f"http://127.0.0.1:{api.port}",
        "api_token": api.settings.admin_token,
        "disable_backoff_s": 0.05,
        "schema_poll_s": 0.1,
        **changes,
    }
    async with RecorderService(RecorderSettings(**fields)) as recorder:
        yield recorder


async def webhook_notifier(
    admin: ApiClient, app_id: str, url: str, events: tuple[str, ...] = ("app_deployed",)
) -> str:
    status, created = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": f"hooks-{uuid.uuid4().hex[:4]}",
                "platform_id": "webhook",
                "selected_event_ids": list(events),
                "type_data": {"webhook_url": url},
            }
        },
    )
    assert status == 201, created
    return str(created["notifier"]["id"])


async def register_app(admin: ApiClient, unique: str) -> tuple[str, str]:
    app_id, owner_id = f"app-{unique}", f"org-{unique}"
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "my-app", "owner_id": owner_id}}
    )
    assert status == 201, body
    return app_id, owner_id


def results(
    notifier_id: str,
    app_id: str,
    start: datetime,
    *steps: tuple[float, AttemptOutcome],
    reason: str = "server_error",
) -> list[OutgoingRecord]:
    """One result per (seconds after `start`, outcome), each its own delivery."""
    out = []
    for offset, outcome in steps:
        delivery = f"d-{uuid.uuid4().hex}"
        result = DeliveryResult(
            delivery_id=delivery,
            event_id=f"e-{delivery}",
            event_type="app_deployed",
            app_id=app_id,
            notifier_id=notifier_id,
            channel=Channel.WEBHOOK,
            outcome=outcome,
            reason=None if outcome is AttemptOutcome.DELIVERED else reason,
            status_code=200 if outcome is AttemptOutcome.DELIVERED else 503,
            duration_ms=3.0,
            at=start + timedelta(seconds=offset),
        )
        out.append(OutgoingRecord(DELIVERY_RESULTS, result.to_json(), delivery.encode()))
    return out


async def notifier_of(admin: ApiClient, app_id: str, notifier_id: str) -> dict[str, Any]:
    status, body = await admin.call("GET", f"/v1/apps/{app_id}/notifiers/{notifier_id}")
    assert status == 200, body
    return dict(body["notifier"])


def disabled_event_of(notifier_id: str) -> Any:
    def match(record: Any) -> bool:
        event = json.loads(record.value)
        return bool(
            event["type"] == "notifier_disabled"
            and event["type_data"].get("notifier_id") == notifier_id
        )

    return match


async def test_a_notifier_failing_for_the_window_is_disabled_and_a_success_resets(
    api: Any, admin: ApiClient, producer: Any, unique: str
) -> None:
    app_id, owner_id = await register_app(admin, unique)
    failing = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/failing")
    recovering = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/recovering")
    backlog = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/backlog")
    start = datetime.now(UTC)
    fail, ok = AttemptOutcome.RETRY_SCHEDULED, AttemptOutcome.DELIVERED
    async with tracking_recorder(api, unique) as recorder:
        # Three failures in a row over 1.5 s; two over 0.5 s, a success, then two more over
        # 0.9 s: four failures spanning 2 s in all, but never three in a row over the window.
        # (Each result is its own delivery, so on any partition: the success is sent, and
        # handled, before the failures after it, as happens when they are seconds apart.)
        await send_all(
            producer,
            [
                *results(failing, app_id, start, (0, fail), (0.7, fail)),
                *results(recovering, app_id, start, (0, fail), (0.5, fail), (0.6, ok)),
            ],
        )
        await eventually(
            lambda: api.pool.fetchval(
                "SELECT reset_at IS NOT NULL AND consecutive_failures = 0 FROM endpoint_health"
                " WHERE notifier_id = $1",
                recovering,
            ),
            what="the success handled",
        )
        await send_all(producer, results(recovering, app_id, start, (1.1, fail), (2.0, fail)))
        # Not yet: the failing streak spans 0.7 s of the 1 s window.
        await eventually(
            lambda: api.pool.fetchval(
                "SELECT consecutive_failures = 2 FROM endpoint_health WHERE notifier_id = $1",
                failing,
            ),
            what="two failures counted",
        )
        assert (await notifier_of(admin, app_id, failing))["active"] is True
        await send_all(
            producer, results(failing, app_id, start, (1.5, AttemptOutcome.DEAD_LETTERED))
        )

        async def inactive() -> bool:
            return (await notifier_of(admin, app_id, failing))["active"] is False

        await eventually(inactive, what="the failing notifier disabled through the API")
        assert recorder.tracker is not None
        await eventually(
            lambda: api.pool.fetchval(
                "SELECT consecutive_failures = 2 FROM endpoint_health WHERE notifier_id = $1",
                recovering,
            ),
            what="the failures after the success handled",
        )
        health = await api.pool.fetchrow(
            "SELECT * FROM endpoint_health WHERE notifier_id = $1", recovering
        )
        assert health["reset_at"] == start + timedelta(seconds=0.6), "the success reset it"
        # Failures two hours old (a backlog read after an outage) are counted but not acted on.
        long_ago = start - timedelta(hours=2)
        await send_all(
            producer, results(backlog, app_id, long_ago, (0, fail), (1, fail), (2, fail))
        )
        await eventually(
            lambda: api.pool.fetchval(
                "SELECT consecutive_failures = 3 FROM endpoint_health WHERE notifier_id = $1",
                backlog,
            ),
            what="the old failures counted",
        )

    disabled = await notifier_of(admin, app_id, failing)
    assert disabled["active"] is False
    assert (await notifier_of(admin, app_id, recovering))["active"] is True
    assert (await notifier_of(admin, app_id, backlog))["active"] is True
    stored = await api.pool.fetchrow(
        "SELECT version, disabled_at FROM notifiers n LEFT JOIN endpoint_health h"
        " ON h.notifier_id = n.id WHERE n.id = $1",
        failing,
    )
    assert stored["version"] == 2, "a new version, as for any change"
    assert stored["disabled_at"] is not None

    bootstrap = api.settings.kafka.bootstrap_servers
    record = await find_record(bootstrap, EVENTS, disabled_event_of(failing))
    event = json.loads(record.value)
    assert (event["app_id"], event["owner_id"], event["source"]) == (app_id, owner_id, "herald-api")
    assert event["type_data"]["reason"] == "server_error"
    assert event["type_data"]["consecutive_failures"] == 3
    assert datetime.fromisoformat(event["type_data"]["failing_since"]) == start
    published = await find_record(
        bootstrap,
        CONFIG_NOTIFIERS,
        lambda r: r.key == failing.encode() and Notifier.model_validate_json(r.value).version == 2,
    )
    assert Notifier.model_validate_json(published.value).active is False

    # Idempotent: once more answers 200, changes nothing and emits no second event.
    status, again = await admin.call(
        "POST", f"/v1/notifiers/{failing}/disable", {"reason": "server_error"}
    )
    assert (status, again["changed"], again["notifier"]["active"]) == (200, False, False)
    assert (await notifier_of(admin, app_id, failing)) == disabled
    count = await api.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE topic = $1 AND value IS NOT NULL"
        " AND convert_from(value, 'UTF8')::jsonb -> 'type_data' ->> 'notifier_id' = $2"
        " AND convert_from(value, 'UTF8')::jsonb ->> 'type' = 'notifier_disabled'",
        EVENTS,
        failing,
    )
    assert count == 1, "one notifier_disabled event, however often it is disabled"


async def test_disable_endpoint_answers_404_to_unknown_ids_and_to_tokens_not_admin(
    api: Any, admin: ApiClient, unique: str
) -> None:
    from herald_api.auth import TokenScope, create_token

    app_id, _ = await register_app(admin, unique)
    notifier_id = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/x")
    status, _ = await admin.call("POST", "/v1/notifiers/no-such/disable", {"reason": "gone"})
    assert status == 404
    async with api.pool.acquire() as connection:
        _, token = await create_token(connection, "app", TokenScope.APP, app_id)
    status, _ = await ApiClient(admin.http, api.port, token).call(
        "POST", f"/v1/notifiers/{notifier_id}/disable", {"reason": "gone"}
    )
    assert status == 404, "an app's own token may not use the tracker's call"
    status, body = await admin.call("POST", f"/v1/notifiers/{notifier_id}/disable", {})
    assert status == 422, body
    assert (await notifier_of(admin, app_id, notifier_id))["active"] is True


async def test_a_410_from_the_endpoint_disables_at_once_and_the_owner_hears_of_it(
    api: Any, admin: ApiClient, herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id, owner_id = await register_app(admin, unique)
    receiver.statuses[f"/{unique}/gone"] = 410
    gone = await webhook_notifier(admin, app_id, receiver.url(f"/{unique}/gone"))
    # The owner's other notifier, which is to hear about the disabled one.
    await webhook_notifier(
        admin, app_id, receiver.url(f"/{unique}/owner"), events=("notifier_disabled",)
    )
    await eventually(
        lambda: gone in herald.router.view.table(CONFIG_NOTIFIERS),
        what="the router sees the notifier the API created",
    )
    event = {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": "app_deployed",
        "created_at": datetime.now(UTC).isoformat(),
        "source": "deployer",
        "app_id": app_id,
        "app_name": "my-app",
        "owner_id": owner_id,
        "type_data": {"deployment_id": "d-1", "git_ref": "0a1b2c", "status": "success"},
    }
    async with tracking_recorder(api, unique, health_window_s=3600.0):
        async with admin.http.post(herald.events_url, json=event) as response:
            assert response.status == 202, await response.text()
        await receiver.wait_for(f"/{unique}/gone")

        async def inactive() -> bool:
            return (await notifier_of(admin, app_id, gone))["active"] is False

        await eventually(inactive, what="the gone notifier disabled", timeout_s=30)
        [told] = await receiver.wait_for(f"/{unique}/owner", timeout_s=30)

    bootstrap = api.settings.kafka.bootstrap_servers
    result = await find_record(
        bootstrap,
        DELIVERY_RESULTS,
        lambda r: json.loads(r.value)["notifier_id"] == gone,
    )
    assert (json.loads(result.value)["outcome"], json.loads(result.value)["reason"]) == (
        "dead_lettered",
        "gone",
    )
    disabled = json.loads((await find_record(bootstrap, EVENTS, disabled_event_of(gone))).value)
    assert disabled["type_data"]["reason"] == "gone"
    assert disabled["type_data"]["consecutive_failures"] == 1
    assert "notifier_disabled" in told.body.decode()
    assert gone in told.body.decode()
    assert len(receiver.on(f"/{unique}/gone")) == 1, "no retry of a 410"


async def test_an_api_that_is_down_keeps_the_streak_and_holds_nothing_up(
    api: Any, admin: ApiClient, producer: Any, receiver: HttpReceiver, unique: str
) -> None:
    app_id, _ = await register_app(admin, unique)
    first = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/first")
    second = await webhook_notifier(admin, app_id, "http://127.0.0.1:9/second")
    receiver.status = 503  # the "API" the recorder calls answers 503 to everything
    start = datetime.now(UTC)
    dead = AttemptOutcome.DEAD_LETTERED
    async with tracking_recorder(
        api, unique, api_url=receiver.base_url, disable_cooldown_s=0.0
    ) as recorder:
        await send_all(producer, results(first, app_id, start, (0, dead), reason="gone"))
        await receiver.wait_for(f"/v1/notifiers/{first}/disable", count=3)
        await send_all(producer, results(second, app_id, start, (0, dead)))
        await eventually(
            lambda: api.pool.fetchval(
                "SELECT consecutive_failures = 1 FROM endpoint_health WHERE notifier_id = $1",
                second,
            ),
            what="later results still handled",
        )
        failed = recorder.registry.get_sample_value(
            "herald_recorder_notifier_disables_total", {"outcome": "failed"}
        )
        assert failed is not None
        assert failed >= 1
        assert recorder.tasks.failure is None, "the tracker is still running"
    kept = await api.pool.fetchrow(
        "SELECT consecutive_failures, disabled_at FROM endpoint_health WHERE notifier_id = $1",
        first,
    )
    assert (kept["consecutive_failures"], kept["disabled_at"]) == (1, None), "the streak is kept"
    assert len(receiver.on(f"/v1/notifiers/{first}/disable")) == 3, "three tries, then no more"
    assert (await notifier_of(admin, app_id, first))["active"] is True
