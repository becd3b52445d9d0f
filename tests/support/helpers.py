"""Small helpers the integration tests share: event, metric and delivery builders, posting to
ingest, waiting on the router's view, sentinels, and a test's own sender, recorder or second API.

Sentinels: a test that shows that nothing (else) arrives needs to know when everything that
could still arrive has. Kafka keeps one partition in order, and Herald keys each stage by what
orders it: `notify.events` by app id (else owner id), `notify.deliveries.<channel>` by notifier
id, and both the router and the senders handle one key's records in offset order. So a later
record with the same key that goes the same way, once its effect is seen, proves that every
earlier one of that key has had its effect too. `sentinel` posts such an event and waits for its
effect; `stand_in` lends a removed notifier's id (and so its deliveries' partition) to a
notifier whose arrivals the test can tell apart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import NewTopic
from herald_api.app import ApiService
from herald_core import headers as h
from herald_core.alerts import Metric, MetricPoint
from herald_core.deliveries import Delivery, DeliveryResult
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import (
    DELIVERY_RESULTS,
    EVENTS,
    PLATFORM_METRICS,
    Channel,
    deliveries_topic,
)
from herald_kafka.admin import admin_client
from herald_kafka.producer import OutgoingRecord, send_all
from herald_recorder.app import RecorderService
from herald_recorder.settings import RecorderSettings
from herald_sender.app import SenderService
from herald_sender.settings import SenderSettings
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually
from herald_testing.receivers import HttpReceiver, Received
from herald_testing.topics import records_for_key
from pydantic import SecretStr

from support.pipeline import Herald

T = TypeVar("T")

JOHNDOE = {"id": "u1", "username": "johndoe", "email": "john@doe.com"}
"""The user behind every `deployed` event."""


# Events in through ingest


def deployed(
    app_id: str,
    owner_id: str = "owner-1",
    status: str = "success",
    *,
    event_type: str = "app_deployed",
    app_name: str = "my-app",
    **type_data: Any,
) -> dict[str, Any]:
    """A deployment of `app_id` as a platform posts it to ingest, with a fresh event id;
    `type_data` adds to or overrides the deployment's details."""
    return {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": event_type,
        "created_at": datetime.now(UTC).isoformat(),
        "source": "deployer",
        "app_id": app_id,
        "app_name": app_name,
        "owner_id": owner_id,
        "user": dict(JOHNDOE),
        "type_data": {
            "deployment_id": f"d-{uuid.uuid4().hex[:6]}",
            "pusher": "johndoe",
            "git_ref": "0123456789abcdef",
            "status": status,
            "duration": 40,
            **type_data,
        },
    }


async def post_event(http: aiohttp.ClientSession, herald: Herald, event: dict[str, Any]) -> None:
    """POST `event` to the session's ingest; it must be accepted (202)."""
    async with http.post(herald.events_url, json=event) as response:
        assert response.status == 202, await response.text()


async def app_events(
    bootstrap: str, app_id: str, until: Callable[[list[Event]], bool], timeout_s: float = 30
) -> list[Event]:
    """The app's events on notify.events, in order, read until `until` holds on them."""
    consumer = AIOKafkaConsumer(
        EVENTS, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Event] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not until(found):
            if time.monotonic() > deadline:
                kinds = [(e.type, e.type_data) for e in found]
                raise AssertionError(f"{app_id}: condition not met in {timeout_s}s: {kinds}")
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    Event.model_validate_json(r.value) for r in records if r.key == app_id.encode()
                )
        return found
    finally:
        await consumer.stop()


# The router's view of the notifiers


async def router_sees(herald: Herald, notifier_ids: list[str], timeout_s: float = 20.0) -> None:
    table = herald.router.notifiers
    await eventually(
        lambda: all(i in table for i in notifier_ids),
        timeout_s=timeout_s,
        what=f"the router sees {notifier_ids}",
    )


async def router_forgets(herald: Herald, notifier_ids: list[str], timeout_s: float = 20.0) -> None:
    table = herald.router.notifiers
    await eventually(
        lambda: not any(i in table for i in notifier_ids),
        timeout_s=timeout_s,
        what=f"the router forgets {notifier_ids}",
    )


# Sentinels


async def sentinel(
    http: aiohttp.ClientSession,
    herald: Herald,
    event: dict[str, Any],
    arrived: Callable[[], T],
    *,
    what: str = "the sentinel",
    timeout_s: float = 45.0,
) -> T:
    """Post `event`, a sentinel, and wait until `arrived()` sees its effect; return that.

    The sentinel must follow what the test waits out on every partition it went through: the
    same app (or owner) as the events under test, so the router routes it after them, and the
    same notifier, so its delivery comes after theirs.
    """
    await post_event(http, herald, event)
    return await eventually(arrived, timeout_s=timeout_s, what=what)


async def received_before(
    http: aiohttp.ClientSession,
    herald: Herald,
    receiver: HttpReceiver,
    path: str,
    event: dict[str, Any],
) -> list[Received]:
    """Post `event` as a sentinel for the raw webhook at `path`; once it arrived there, what
    `path` had received before it."""
    await sentinel(
        http,
        herald,
        event,
        lambda: any(r.json()["id"] == event["id"] for r in receiver.on(path)),
        what=f"the sentinel at {path}",
    )
    return [r for r in receiver.on(path) if r.json()["id"] != event["id"]]


@asynccontextmanager
async def stand_in(
    herald: Herald, notifier_id: str, channel: Channel, owner_id: str, type_data: dict[str, Any]
) -> AsyncIterator[Notifier]:
    """A notifier under the id of one the test removed (every event of `owner_id`, to
    `type_data`'s target), for as long as the block runs.

    Deliveries are keyed by notifier id, so the stand-in's go to the partition of the removed
    notifier's, after any it still had in flight: a sentinel routed to the stand-in arrives
    only once those did. Enter it only once the events under test were routed, or the router
    could route them to the stand-in instead.
    """
    notifier = Notifier(
        id=notifier_id,
        name="sentinel stand-in",
        scope=Scope.OWNER,
        owner_id=owner_id,
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data=type_data,
    )
    await herald.add_notifier(notifier)
    try:
        yield notifier
    finally:
        await herald.remove_notifier(notifier_id)


# Metric points, as the platform writes them


async def cpu_points(
    producer: Any, app_id: str, start: datetime, *series: tuple[int, float]
) -> None:
    """CPU points (seconds after `start`, value) of the app's containers, in order."""
    records = [
        OutgoingRecord(
            PLATFORM_METRICS,
            MetricPoint(app_id=app_id, metric=Metric.CPU, value=v, at=start + timedelta(seconds=s))
            .model_dump_json()
            .encode(),
            app_id.encode(),
        )
        for s, v in series
    ]
    await send_all(producer, records)


# Deliveries straight onto the channel topics, as the router writes them


def webhook_delivery(
    url: str, *, channel: Channel, app_id: str, notifier_id: str | None = None
) -> Delivery:
    """A deployment of `app_id` for an app notifier of `channel` that posts raw JSON to `url`."""
    notifier = Notifier(
        id=notifier_id or f"n-{uuid.uuid4().hex[:12]}",
        name="test hook",
        app_id=app_id,
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data={"webhook_url": url, "format": "raw"},
    )
    return Delivery.for_(parse_event(deployed(app_id)), notifier, datetime.now(UTC))


async def produce_deliveries(
    producer: Any, deliveries: list[Delivery], *, test: bool = False
) -> None:
    """Put deliveries on their channel's topic as the router (or the API, for tests) would."""
    extra = [(h.TEST, b"1")] if test else []
    await send_all(
        producer,
        [
            OutgoingRecord(
                deliveries_topic(d.channel),
                d.to_json(),
                d.notifier.id.encode(),
                [(h.DELIVERY_ID, d.id.encode()), *extra],
            )
            for d in deliveries
        ],
    )


async def results_of(
    kafka: KafkaSettings, delivery: Delivery, count: int, **options: Any
) -> list[DeliveryResult]:
    """The first `count` results of `delivery` on notify.delivery-results, in order."""
    records = await records_for_key(
        kafka.bootstrap_servers, DELIVERY_RESULTS, delivery.id.encode(), count, **options
    )
    return [DeliveryResult.model_validate_json(r.value or b"") for r in records]


def webhook_id(request: Received) -> str:
    return {k.lower(): v for k, v in request.headers.items()}["webhook-id"]


# A test's own services


def sender_settings(kafka: KafkaSettings, channel: Channel, **options: Any) -> SenderSettings:
    """A sender of `channel` for one test: on loopback, quiet, in a consumer group of its own,
    allowed to reach the loopback receivers; `options` add to or override these."""
    fields: dict[str, Any] = {
        "kafka": kafka,
        "http": HttpSettings(host="127.0.0.1", port=0),
        "log": LogSettings(json=False, level="warning"),
        "channel": channel,
        "group_id": f"herald-test-{channel}-{uuid.uuid4().hex[:8]}",
        "allow_loopback_targets": True,
        **options,
    }
    return SenderSettings(**fields)


@asynccontextmanager
async def running_sender(settings: SenderSettings, **service: Any) -> AsyncIterator[SenderService]:
    """A `SenderService` (`service`: its other arguments) on `settings`, ready."""
    async with SenderService(settings, **service) as sender:
        await eventually(
            lambda: sender.ready()[0], timeout_s=60, what=f"{settings.channel} sender ready"
        )
        yield sender


# The API and the recorder


async def register_app(admin: ApiClient, app_id: str, owner_id: str, name: str = "my-app") -> None:
    status, body = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": name, "owner_id": owner_id}}
    )
    assert status == 201, body


@asynccontextmanager
async def another_api(api: Any, **changes: Any) -> AsyncIterator[ApiService]:
    """A second API on the session `api`'s database and broker, with `changes` to its settings.

    The session API migrated the database, created the admin token (so `ADMIN_TOKEN` works on
    this one too), relays the outbox and follows the directory's events: this one does none of
    that unless `changes` say so.
    """
    settings = api.settings.model_copy(
        update={
            "http": HttpSettings(port=0),
            "migrate_on_start": False,
            "admin_token": None,
            "relay_enabled": False,
            "directory_consumer_enabled": False,
            **changes,
        }
    )
    async with ApiService(settings) as service:
        yield service


async def api_notifier(
    admin: ApiClient,
    app_id: str,
    url: str,
    events: tuple[str, ...] = ("app_deployed",),
    platform: str = "webhook",
) -> str:
    """A notifier of `app_id` posting to `url`, created through the API; returns its id."""
    status, created = await admin.call(
        "POST",
        f"/v1/apps/{app_id}/notifiers",
        {
            "notifier": {
                "name": f"hooks-{uuid.uuid4().hex[:4]}",
                "platform_id": platform,
                "selected_event_ids": list(events),
                "type_data": {"webhook_url": url},
            }
        },
    )
    assert status == 201, created
    return str(created["notifier"]["id"])


@asynccontextmanager
async def running_recorder(
    kafka_settings: KafkaSettings, database_url: str, unique: str
) -> AsyncIterator[RecorderService]:
    """A recorder on `database_url` in a consumer group of its own, ready."""
    settings = RecorderSettings(
        kafka=kafka_settings,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        database_url=SecretStr(database_url),
        group_id=f"herald-recorder-{unique}-{uuid.uuid4().hex[:6]}",
        retry_initial_s=0.05,
        schema_poll_s=0.1,
    )
    async with RecorderService(settings) as recorder:
        await eventually(lambda: recorder.ready()[0], timeout_s=30, what="recorder ready")
        yield recorder


async def create_topic(settings: KafkaSettings, name: str, partitions: int = 1) -> None:
    """Create a test topic of its own (one replica) on the session's broker."""
    async with admin_client(settings) as admin:
        await admin.create_topics([NewTopic(name, partitions, 1)])


def webhook_notifier(
    app_id: str, url: str, *, events: tuple[str, ...] = ("app_deployed",), active: bool = True
) -> Notifier:
    """An app webhook notifier posting raw JSON to `url`, selecting `events`."""
    return Notifier(
        id=f"n-{uuid.uuid4().hex[:12]}",
        name="test hook",
        scope=Scope.APP,
        app_id=app_id,
        platform=Channel.WEBHOOK,
        active=active,
        selection=Selection(selected_event_ids=events),
        type_data={"webhook_url": url, "format": "raw"},
    )
