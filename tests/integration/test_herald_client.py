"""herald-client sends every catalog type, over Kafka and over HTTP, sync and async, to a
webhook receiver: client → `platform.events` or `POST /v1/events` → ingest → `notify.events` →
router → webhook sender → `HttpReceiver`.

Every hop is real: the session's broker and in-process pipeline (`herald`, whose ingest consumes
`platform.events`), and for HTTP an ingest of this module's own with producer-token
authentication on, as in production. One notifier per path selects every event of its app (an
app id per path keeps the four runs apart); audit-only types are never forwarded
(docs/routing.md), so those are checked on `notify.events` instead, where every event lands.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from herald_api.model.sample_events import sample_type_data
from herald_client import (
    AsyncHeraldClient,
    AsyncKafkaProducerClient,
    AuthenticationError,
    Event,
    EventsRejectedError,
    EventUser,
    HeraldClient,
    KafkaProducerClient,
    build_event,
)
from herald_core.catalog import CATALOG
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS, PLATFORM_EVENTS, Channel
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestAuthSettings, IngestSettings
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import headers_of, records_for_key
from pydantic import SecretStr

from support.pipeline import LOCAL, QUIET, Herald

pytestmark = pytest.mark.integration

TOKEN = "herald-client-test-producer-token"
AUDIT_ONLY = CATALOG.audit_only_ids()
ARRIVAL_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
async def secured_ingest(kafka_settings: KafkaSettings) -> AsyncIterator[IngestService]:
    """An ingest that takes events only with `TOKEN`, next to the session's open one; it writes
    to the same `notify.events`, which the session's router reads."""
    settings = IngestSettings(
        kafka=kafka_settings.model_copy(update={"client_id": "herald-client-test-ingest"}),
        http=LOCAL,
        log=QUIET,
        auth=IngestAuthSettings(tokens=(SecretStr(TOKEN),)),
        consume_platform_events=False,
    )
    async with IngestService(settings) as ingest:
        await eventually(lambda: ingest.ready()[0], timeout_s=60, what="secured ingest ready")
        yield ingest


def url_of(ingest: IngestService) -> str:
    return f"http://127.0.0.1:{ingest.port}"


def every_type(app_id: str) -> list[Event]:
    """One event of every catalog type for `app_id`, built by the client from its sample."""
    now = datetime.now(UTC)
    return [
        build_event(
            event_type.id,
            app_id=app_id,
            app_name=app_id,
            owner_id=f"owner-{app_id}",
            user=EventUser(id="u-client", username="client"),
            source="herald-client-test",
            type_data=sample_type_data(event_type, now),
        )
        for event_type in sorted(CATALOG.types(), key=lambda t: t.id)
    ]


async def hook_for(herald: Herald, receiver: HttpReceiver, app_id: str) -> str:
    """A raw webhook selecting every event of `app_id`; returns its receiver path."""
    path = f"/{app_id}"
    await herald.add_notifier(
        Notifier(
            id=f"n-{uuid.uuid4().hex[:12]}",
            name="every event",
            scope=Scope.APP,
            app_id=app_id,
            platform=Channel.WEBHOOK,
            selection=Selection(send_all_events=True),
            type_data={"webhook_url": receiver.url(path), "format": "raw"},
        )
    )
    return path


async def assert_every_event_arrived(
    herald: Herald, receiver: HttpReceiver, path: str, events: list[Event]
) -> None:
    """Each forwardable event reached the receiver; every event is on `notify.events`, typed."""
    forwarded = {e.id: e.type for e in events if e.type not in AUDIT_ONLY}
    await receiver.wait_for(path, count=len(forwarded), timeout_s=ARRIVAL_TIMEOUT_S)
    received = {r.json()["id"]: r.json()["type"] for r in receiver.on(path)}
    assert received == forwarded
    assert set(forwarded.values()) == {t.id for t in CATALOG.types()} - AUDIT_ONLY

    app_id = events[0].app_id or ""
    records = await records_for_key(
        herald.settings.bootstrap_servers,
        EVENTS,
        app_id.encode(),
        len(events),
        timeout_s=ARRIVAL_TIMEOUT_S,
    )
    on_topic = {headers_of(r)["ce_id"]: headers_of(r)["ce_type"] for r in records}
    assert on_topic == {e.id: e.type for e in events}


async def test_every_catalog_type_through_kafka_async_and_sync(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    async_app, sync_app = f"app-{unique}-kafka-async", f"app-{unique}-kafka-sync"
    async_path = await hook_for(herald, receiver, async_app)
    sync_path = await hook_for(herald, receiver, sync_app)
    async_events, sync_events = every_type(async_app), every_type(sync_app)

    async with AsyncKafkaProducerClient(herald.settings) as producer:
        await producer.send(async_events[0])
        await producer.send_many(async_events[1:])

    def send_sync() -> None:
        with KafkaProducerClient(herald.settings) as producer:
            for event in sync_events:
                producer.send(event)

    await asyncio.to_thread(send_sync)

    await assert_every_event_arrived(herald, receiver, async_path, async_events)
    await assert_every_event_arrived(herald, receiver, sync_path, sync_events)
    for events in (async_events, sync_events):
        await assert_written_as_herald_writes(herald, events)


async def assert_written_as_herald_writes(herald: Herald, events: list[Event]) -> None:
    """On `platform.events`: one record per event, keyed by app id, with the CloudEvents
    headers, in the order sent (one key, one partition)."""
    app_id = events[0].app_id or ""
    records = await records_for_key(
        herald.settings.bootstrap_servers, PLATFORM_EVENTS, app_id.encode(), len(events)
    )
    assert [headers_of(r)["ce_id"] for r in records] == [e.id for e in events]
    assert [headers_of(r)["ce_type"] for r in records] == [e.type for e in events]
    assert {headers_of(r)["ce_source"] for r in records} == {"/herald/herald-client-test"}
    assert {headers_of(r)["ce_specversion"] for r in records} == {"1.0"}


async def test_every_catalog_type_through_http_async_and_sync(
    herald: Herald, secured_ingest: IngestService, receiver: HttpReceiver, unique: str
) -> None:
    async_app, sync_app = f"app-{unique}-http-async", f"app-{unique}-http-sync"
    async_path = await hook_for(herald, receiver, async_app)
    sync_path = await hook_for(herald, receiver, sync_app)
    async_events, sync_events = every_type(async_app), every_type(sync_app)

    async with AsyncHeraldClient(url_of(secured_ingest), token=TOKEN, max_batch=40) as client:
        first = await client.send(async_events[0])
        rest = await client.send_many(async_events[1:])  # three batches

    def send_sync() -> list[str]:
        client = HeraldClient(url_of(secured_ingest), token=TOKEN)
        one_by_one = [client.send(e).status for e in sync_events[:10]]
        return one_by_one + [r.status for r in client.send_many(sync_events[10:])]

    sync_statuses = await asyncio.to_thread(send_sync)

    assert [r.id for r in [first, *rest]] == [e.id for e in async_events]
    assert {r.status for r in [first, *rest]} == {"accepted"}
    assert sync_statuses == ["accepted"] * len(sync_events)
    await assert_every_event_arrived(herald, receiver, async_path, async_events)
    await assert_every_event_arrived(herald, receiver, sync_path, sync_events)


async def test_http_refusals_surface_ingest_problem(
    secured_ingest: IngestService, unique: str
) -> None:
    event = build_event("app_deployed", app_id=f"app-{unique}", type_data={"status": "success"})
    # Bypassing build_event: a type the catalog does not know reaches ingest, which refuses it.
    stray = event.model_copy(update={"id": f"stray-{unique}", "type": "app_teleported"})

    async with AsyncHeraldClient(url_of(secured_ingest), token="not-the-token") as client:
        with pytest.raises(AuthenticationError) as denied:
            await client.send(event)
    sync = HeraldClient(url_of(secured_ingest), token=TOKEN)
    with pytest.raises(EventsRejectedError) as refused:
        await asyncio.to_thread(sync.send, stray)
    with pytest.raises(EventsRejectedError) as partly:
        await asyncio.to_thread(sync.send_many, [event, stray])
    again = await asyncio.to_thread(sync.send, event)

    assert denied.value.status == 401
    assert denied.value.problem["status"] == 401
    assert (refused.value.status, refused.value.problem["reason"]) == (422, "unknown_type")
    assert "app_teleported" in str(refused.value)
    assert partly.value.status == 207
    assert [r["status"] for r in partly.value.results] == ["accepted", "rejected"]
    assert (again.id, again.status) == (event.id, "duplicate")
