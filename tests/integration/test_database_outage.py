"""Postgres stopped in immediate mode under the API: 503 with Retry-After, readiness false,
every acknowledged write kept, the outbox relay back at work after the restart, and the
consumers that write to Postgres (the API's directory, the recorder's audit log) wait the outage
out: an event read during it is applied once the database is back, never skipped.

The API runs in-process against a durable Postgres of its own (fsync, synchronous commit and
full-page writes on, as `make up` runs it), so the session's database stays up for the others.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from herald_api.app import ApiService
from herald_api.settings import ApiSettings
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier
from herald_core.topics import CONFIG_NOTIFIERS, EVENTS
from herald_devstack.postgres import PostgresNode
from herald_devstack.processes import free_port
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder.audit import AuditRecorder
from herald_recorder.settings import RecorderSettings
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.topics import commit_at_end, records_for_key
from pydantic import SecretStr

from support.api import api_settings

pytestmark = pytest.mark.integration

TOKEN = "hrld_outage-test-admin-token-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def durable_postgres(tmp_path: Path) -> Iterator[PostgresNode]:
    node = PostgresNode(tmp_path / "pg", port=free_port(), durable=True)
    node.start()
    try:
        yield node
    finally:
        node.reset()


@pytest.fixture
async def outage_api(durable_postgres: PostgresNode, kafka_settings: Any) -> AsyncIterator[Any]:
    settings = api_settings(
        durable_postgres.url,
        kafka_settings,
        token=TOKEN,
        directory_consumer_enabled=False,
        notifier_commands_enabled=False,
        relay_poll_s=0.2,
        readiness_probe_s=0.3,
        database_timeout_s=2.0,
    )
    async with ApiService(settings) as service:
        yield service


def notifier_body(name: str) -> dict[str, Any]:
    return {
        "notifier": {
            "name": name,
            "platform_id": "webhook",
            "selected_event_ids": ["app_deployed"],
            "type_data": {"webhook_url": "https://hooks.example.com/x"},
        }
    }


async def test_postgres_stopped_and_restarted_under_the_api(
    outage_api: ApiService,
    durable_postgres: PostgresNode,
    http: Any,
    kafka_settings: Any,
    unique: str,
) -> None:
    client, bootstrap = ApiClient(http, outage_api.port, TOKEN), kafka_settings.bootstrap_servers
    app_id = f"outage-{unique}"
    status, _ = await client.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "o", "owner_id": "org"}}
    )
    assert status == 201  # acknowledged just before the crash: must survive it

    durable_postgres.stop("immediate")

    # Writes and reads: 503 with Retry-After and a problem body, never a 500, and soon.
    for method, path, body in [
        ("POST", f"/v1/apps/{app_id}/notifiers", notifier_body("during")),
        ("GET", f"/v1/apps/{app_id}/notifiers", None),
    ]:
        answer = await client.call_with_headers(method, path, body)
        assert answer.status == 503, (method, path, answer.body)
        assert answer.headers["Retry-After"] == "5"
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert answer.body["type"].endswith("/unavailable")
        assert "database" in answer.body["detail"]

    async def readiness() -> tuple[int, Any]:
        return await ApiClient(http, outage_api.port, None).call("GET", "/readyz")

    async def unready() -> bool:
        return (await readiness())[0] == 503

    await eventually(unready, timeout_s=10, what="/readyz false while the database is down")
    assert (await readiness())[1]["detail"] == "database unreachable"

    durable_postgres.start()

    async def ready() -> bool:
        return (await readiness())[0] == 200

    await eventually(ready, timeout_s=30, what="/readyz true again")
    status, _ = await client.call("GET", f"/v1/apps/{app_id}")
    assert status == 200, "the app acknowledged before the crash is still there"

    # The relay came back by itself: a notifier created now reaches the config topic.
    status, created = await client.call(
        "POST", f"/v1/apps/{app_id}/notifiers", notifier_body("after")
    )
    assert status == 201
    notifier_id = created["notifier"]["id"]
    [record] = await records_for_key(
        bootstrap, CONFIG_NOTIFIERS, notifier_id.encode(), 1, timeout_s=60
    )
    assert Notifier.model_validate_json(record.value).name == "after"
    assert outage_api.tasks.alive
    assert outage_api.tasks.restarts.get("outbox-relay", 0) >= 1, "the relay was restarted"


@pytest.fixture
async def directory_settings(
    durable_postgres: PostgresNode, kafka_settings: Any, unique: str
) -> ApiSettings:
    """An API whose directory consumer runs (its own group, from the end of notify.events)."""
    group = f"outage-directory-{unique}"
    await commit_at_end(kafka_settings.bootstrap_servers, group, [EVENTS])
    return api_settings(
        durable_postgres.url,
        kafka_settings,
        token=TOKEN,
        directory_group_id=group,
        notifier_commands_enabled=False,
        readiness_probe_s=0.3,
        database_timeout_s=2.0,
    )


@pytest.fixture
async def directory_api(directory_settings: ApiSettings) -> AsyncIterator[Any]:
    async with ApiService(directory_settings) as service:
        yield service


def renamed_event(app_id: str) -> OutgoingRecord:
    """An `app_renamed` of `app_id` from "before" to "after", as ingest writes it."""
    renamed = {
        "id": str(uuid.uuid4()),
        "type": "app_renamed",
        "created_at": "2026-11-23T10:00:00Z",
        "source": "deployer",
        "app_id": app_id,
        "owner_id": "org",
        "type_data": {"old_name": "before", "new_name": "after"},
    }
    return OutgoingRecord(EVENTS, parse_event(renamed).to_json(), app_id.encode())


async def register_before(client: ApiClient, app_id: str) -> None:
    status, _ = await client.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "before", "owner_id": "org"}}
    )
    assert status == 201


async def renamed_after(client: ApiClient, app_id: str) -> bool:
    status, body = await client.call("GET", f"/v1/apps/{app_id}")
    return bool(status == 200 and body["app"]["name"] == "after")


async def test_a_platform_event_during_the_outage_reaches_the_directory_after_it(
    directory_api: ApiService,
    durable_postgres: PostgresNode,
    http: Any,
    producer: Any,
    unique: str,
) -> None:
    """The directory consumer waits for the database: it used to try three times over 1.5 s,
    then skip the event for good (the app kept its old name)."""
    client = ApiClient(http, directory_api.port, TOKEN)
    app_id = f"renamed-{unique}"
    await register_before(client, app_id)

    durable_postgres.stop("immediate")
    await send_all(producer, [renamed_event(app_id)])
    await asyncio.sleep(4)  # the outage outlasts any short budget of tries
    durable_postgres.start()

    await eventually(
        lambda: renamed_after(client, app_id), timeout_s=60, interval_s=0.5, what="the rename"
    )
    assert directory_api.tasks.alive


async def test_an_api_stopped_during_the_outage_leaves_the_event_to_the_next_one(
    directory_settings: ApiSettings,
    durable_postgres: PostgresNode,
    http: Any,
    producer: Any,
    unique: str,
) -> None:
    """Stopping while the directory consumer waits for the database commits nothing: the next
    API of the group reads the event again and applies it."""
    app_id = f"handed-over-{unique}"
    async with ApiService(directory_settings) as first:
        await register_before(ApiClient(http, first.port, TOKEN), app_id)
        durable_postgres.stop("immediate")
        await send_all(producer, [renamed_event(app_id)])
        await asyncio.sleep(3)  # read, and waiting for the database
    durable_postgres.start()
    async with ApiService(directory_settings) as second:
        client = ApiClient(http, second.port, TOKEN)
        await eventually(
            lambda: renamed_after(client, app_id), timeout_s=60, interval_s=0.5, what="the rename"
        )


async def test_an_audit_only_event_during_the_outage_is_recorded_after_it(
    outage_api: ApiService,  # migrated the database: audit_log exists
    durable_postgres: PostgresNode,
    producer: Any,
    kafka_settings: Any,
    unique: str,
) -> None:
    """The recorder's audit log waits for the database: it used to try six times over about
    6 s, then skip the event for good."""
    group = f"outage-audit-{unique}"
    await commit_at_end(kafka_settings.bootstrap_servers, group, [EVENTS])
    pool = await asyncpg.create_pool(durable_postgres.url, min_size=0, max_size=2)
    stop = asyncio.Event()
    settings = RecorderSettings(
        kafka=kafka_settings, database_url=SecretStr(durable_postgres.url), schema_poll_s=0.1
    )
    recorder = AuditRecorder(settings, pool, stop, group_id=group)
    running = asyncio.create_task(recorder.run())
    app_id = f"audited-{unique}"
    event = {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": "app:budget:set",
        "created_at": "2026-11-23T10:00:00Z",
        "source": "convox-rack",
        "app_id": app_id,
        "app_name": app_id,
        "owner_id": f"org-{unique}",
        "rack": "production-rack",
        "type_data": {"actor": "alice@example.com"},
    }
    try:
        await eventually(lambda: recorder.subscribed, timeout_s=60, what="the audit consumer")
        durable_postgres.stop("immediate")
        record = OutgoingRecord(EVENTS, parse_event(event).to_json(), app_id.encode())
        await send_all(producer, [record])
        await asyncio.sleep(10)  # the outage outlasts any short budget of tries
        durable_postgres.start()

        async def recorded() -> bool:
            connection = await asyncpg.connect(durable_postgres.url)
            try:
                query = "SELECT count(*) FROM audit_log WHERE event_id = $1"
                return bool(await connection.fetchval(query, event["id"]) == 1)
            finally:
                await connection.close()

        await eventually(recorded, timeout_s=60, interval_s=0.5, what="the audit entry")
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
        await pool.close()
