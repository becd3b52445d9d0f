"""Endpoint health end to end: failing results → the recorder's tracker → a `DisableNotifier` on
`notify.commands.notifiers` → the API's command consumer → the notifier disabled.

Real broker, Postgres, config API (with its outbox relay and command consumer) and recorder,
in-process; the recorder never calls the API. The window is scaled down to one second. Each
recorder joins fresh consumer groups, so it reads every result other tests left on
`notify.delivery-results`: assertions look only at this test's ids (and counters only grow).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from herald_core.deliveries import AttemptOutcome, DeliveryResult
from herald_core.notifier_commands import DisableNotifier
from herald_core.notifiers import Notifier
from herald_core.settings import HttpSettings, LogSettings
from herald_core.topics import (
    CONFIG_NOTIFIERS,
    DELIVERY_RESULTS,
    EVENTS,
    NOTIFIER_COMMANDS,
    Channel,
)
from herald_kafka.connection import client_options
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder.app import RecorderService
from herald_recorder.settings import RecorderSettings
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import find_record

from support.helpers import api_notifier, deployed, post_event, register_app, router_sees
from support.pipeline import Herald

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
        "schema_poll_s": 0.1,
        **changes,
    }
    async with RecorderService(RecorderSettings(**fields)) as recorder:
        yield recorder


async def an_app(admin: ApiClient, unique: str) -> tuple[str, str]:
    app_id, owner_id = f"app-{unique}", f"org-{unique}"
    await register_app(admin, app_id, owner_id)
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


def command_for(notifier_id: str) -> Any:
    return lambda record: record.key == notifier_id.encode()


def commands_handled(api: Any, outcome: str) -> float:
    value = api.registry.get_sample_value(
        "herald_api_notifier_commands_total", {"outcome": outcome}
    )
    return float(value or 0)


async def disabled_events(api: Any, notifier_id: str) -> int:
    """How many `notifier_disabled` events of `notifier_id` the API ever queued."""
    return int(
        await api.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE topic = $1 AND value IS NOT NULL"
            " AND convert_from(value, 'UTF8')::jsonb -> 'type_data' ->> 'notifier_id' = $2"
            " AND convert_from(value, 'UTF8')::jsonb ->> 'type' = 'notifier_disabled'",
            EVENTS,
            notifier_id,
        )
    )


async def send_and_await_handling(api: Any, producer: Any, records: list[OutgoingRecord]) -> None:
    """Produce `records`, then wait until the API's command consumer committed past each."""
    placed = [
        await (await producer.send(r.topic, r.value, key=r.key, headers=r.headers)) for r in records
    ]
    admin = AIOKafkaAdminClient(**client_options(api.settings.kafka))
    await admin.start()
    try:

        async def committed_past_each() -> bool:
            offsets = await admin.list_consumer_group_offsets(
                api.settings.notifier_commands_group_id
            )
            return all(
                (done := offsets.get(TopicPartition(NOTIFIER_COMMANDS, m.partition))) is not None
                and done.offset > m.offset
                for m in placed
            )

        await eventually(committed_past_each, what="the API's command consumer committed them")
    finally:
        await admin.close()


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
    app_id, owner_id = await an_app(admin, unique)
    failing = await api_notifier(admin, app_id, "http://127.0.0.1:9/failing")
    recovering = await api_notifier(admin, app_id, "http://127.0.0.1:9/recovering")
    backlog = await api_notifier(admin, app_id, "http://127.0.0.1:9/backlog")
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

        await eventually(inactive, what="the failing notifier disabled by the API's consumer")
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

    # The decision travelled as a record, keyed by the notifier id, with the streak's fields.
    decided = await find_record(bootstrap, NOTIFIER_COMMANDS, command_for(failing))
    command = DisableNotifier.model_validate_json(decided.value)
    assert (command.notifier_id, command.reason, command.consecutive_failures) == (
        failing,
        "server_error",
        3,
    )
    assert command.failing_since == start
    assert command.decided_by == "recorder"
    assert command.decided_at == stored["disabled_at"], "the streak notes the decision"
    assert disabled["updated_at"] is not None
    assert datetime.fromisoformat(disabled["updated_at"]) >= command.decided_at
    assert await disabled_events(api, failing) == 1

    # The same record again (a redelivery): the consumer skips it, nothing changes, no event.
    skipped_before = commands_handled(api, "already_inactive")
    duplicate = OutgoingRecord(NOTIFIER_COMMANDS, decided.value, decided.key, decided.headers)
    await send_and_await_handling(api, producer, [duplicate])
    assert commands_handled(api, "already_inactive") >= skipped_before + 1
    assert (await notifier_of(admin, app_id, failing)) == disabled
    assert await disabled_events(api, failing) == 1, "one notifier_disabled, however often"

    # The operators' endpoint takes the same path: an inactive notifier is answered as it is.
    status, again = await admin.call(
        "POST", f"/v1/notifiers/{failing}/disable", {"reason": "server_error"}
    )
    assert (status, again["changed"], again["notifier"]["active"]) == (200, False, False)
    assert await disabled_events(api, failing) == 1


async def test_disable_endpoint_answers_404_to_unknown_ids_and_to_tokens_not_admin(
    api: Any, admin: ApiClient, unique: str
) -> None:
    from herald_api.http.auth import TokenScope, create_token

    app_id, _ = await an_app(admin, unique)
    notifier_id = await api_notifier(admin, app_id, "http://127.0.0.1:9/x")
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
    app_id, owner_id = await an_app(admin, unique)
    receiver.statuses[f"/{unique}/gone"] = 410
    gone = await api_notifier(admin, app_id, receiver.url(f"/{unique}/gone"))
    # The owner's other notifier, which is to hear about the disabled one.
    await api_notifier(
        admin, app_id, receiver.url(f"/{unique}/owner"), events=("notifier_disabled",)
    )
    await router_sees(herald, [gone])
    event = deployed(app_id, owner_id)
    async with tracking_recorder(api, unique, health_window_s=3600.0):
        await post_event(admin.http, herald, event)
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


async def test_commands_for_unknown_or_re_enabled_notifiers_and_garbage_are_skipped(
    api: Any, admin: ApiClient, producer: Any, unique: str
) -> None:
    app_id, _ = await an_app(admin, unique)
    notifier_id = await api_notifier(admin, app_id, "http://127.0.0.1:9/edited")
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    outcomes = ("unknown", "changed_since", "invalid")
    before = {outcome: commands_handled(api, outcome) for outcome in outcomes}

    def command(notifier: str, decided_at: datetime) -> OutgoingRecord:
        decision = DisableNotifier(notifier_id=notifier, reason="gone", decided_at=decided_at)
        return OutgoingRecord(NOTIFIER_COMMANDS, decision.to_json(), decision.key)

    await send_and_await_handling(
        api,
        producer,
        [
            command(f"no-such-{unique}", datetime.now(UTC)),
            # decided before the notifier's latest change (created an instant ago): stale
            command(notifier_id, long_ago),
            OutgoingRecord(NOTIFIER_COMMANDS, b"{not json", notifier_id.encode()),
        ],
    )
    for outcome, count in before.items():
        assert commands_handled(api, outcome) >= count + 1, outcome
    assert (await notifier_of(admin, app_id, notifier_id))["active"] is True
    assert await disabled_events(api, notifier_id) == 0
    assert api.tasks.restarts.get("notifier-commands", 0) == 0, "the command consumer never failed"

    # A decision taken after the latest change is applied, once.
    await send_all(producer, [command(notifier_id, datetime.now(UTC))])

    async def inactive() -> bool:
        return (await notifier_of(admin, app_id, notifier_id))["active"] is False

    await eventually(inactive, what="the notifier disabled")
    assert await disabled_events(api, notifier_id) == 1
