"""One event travelling the real path: HTTP or platform.events → ingest → router → webhook sender.

Every hop is real: the Kafka 4.x broker, the services' own consumer loops and producers, and an
HTTP receiver on loopback. Tests keep apart by unique app ids on the shared topics.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from herald_core.deliveries import delivery_id
from herald_core.topics import (
    DELIVERY_RESULTS,
    EVENTS_DLQ,
    PLATFORM_EVENTS,
    Channel,
    delivery_dlq_topic,
)
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import find_record, headers_of

from support.helpers import deployed, webhook_notifier
from support.pipeline import Herald

pytestmark = pytest.mark.integration


async def post(url: str, body: Any) -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            url,
            data=json.dumps(body).encode() if not isinstance(body, bytes) else body,
            headers={"Content-Type": "application/json"},
        ) as r,
    ):
        return r.status, r.headers.get("Content-Type", ""), await r.json(content_type=None)


async def test_event_posted_over_http_reaches_the_webhook_notifier(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    notifier = webhook_notifier(app_id, receiver.url(f"/{app_id}"))
    await herald.add_notifier(notifier)
    event = deployed(app_id)

    status, _, answer = await post(herald.events_url, event)

    assert (status, answer["status"], answer["id"]) == (202, "accepted", event["id"])
    [request] = await receiver.wait_for(f"/{app_id}")
    assert request.headers["webhook-id"] == delivery_id(event["id"], notifier.id)
    body = request.json()
    assert {k: body[k] for k in event} == {**event, "created_at": body["created_at"]}
    assert datetime.fromisoformat(body["created_at"]) == datetime.fromisoformat(event["created_at"])
    result = await find_record(
        herald.settings.bootstrap_servers,
        DELIVERY_RESULTS,
        lambda r: r.key == request.headers["webhook-id"].encode(),
    )
    assert json.loads(result.value)["outcome"] == "delivered"


async def test_event_produced_to_platform_events_reaches_the_webhook_notifier(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    notifier = webhook_notifier(app_id, receiver.url(f"/{app_id}"))
    await herald.add_notifier(notifier)
    event = deployed(app_id)

    await send_all(
        herald.producer,
        [OutgoingRecord(PLATFORM_EVENTS, json.dumps(event).encode(), app_id.encode())],
    )

    [request] = await receiver.wait_for(f"/{app_id}")
    assert request.headers["webhook-id"] == delivery_id(event["id"], notifier.id)
    assert request.json()["id"] == event["id"]
    assert request.json()["type_data"]["status"] == "success"


async def test_invalid_event_is_answered_422_and_dead_lettered(herald: Herald, unique: str) -> None:
    event = deployed(f"app-{unique}", event_type="app_deploy_typo")

    status, content_type, problem = await post(herald.events_url, event)

    assert status == 422
    assert content_type.startswith("application/problem+json")
    assert problem["reason"] == "unknown_type"
    assert "app_deploy_typo" in problem["detail"]
    record = await find_record(
        herald.settings.bootstrap_servers,
        EVENTS_DLQ,
        lambda r: event["id"].encode() in (r.value or b""),
    )
    assert headers_of(record)["x-dlq-reason"] == "unknown_type"
    assert "app_deploy_typo" in headers_of(record)["x-dlq-detail"]


async def test_invalid_type_data_and_bad_json_are_refused(herald: Herald, unique: str) -> None:
    event = deployed(f"app-{unique}")
    event["type_data"]["duration"] = "forty seconds"
    status, _, problem = await post(herald.events_url, event)
    assert (status, problem["reason"]) == (422, "invalid_type_data")
    assert any("duration" in json.dumps(e) for e in problem["errors"])

    status, content_type, problem = await post(herald.events_url, b"{not json")
    assert (status, problem["reason"]) == (400, "invalid_json")
    assert content_type.startswith("application/problem+json")


async def test_poison_record_on_platform_events_goes_to_dlq_and_routing_continues(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    poison = f"poison-{unique}".encode() + b"\xff{{"
    good = deployed(app_id)
    await send_all(
        herald.producer,
        [
            OutgoingRecord(PLATFORM_EVENTS, poison, app_id.encode()),
            OutgoingRecord(PLATFORM_EVENTS, json.dumps(good).encode(), app_id.encode()),
        ],
    )

    [request] = await receiver.wait_for(f"/{app_id}")
    assert request.json()["id"] == good["id"]
    record = await find_record(
        herald.settings.bootstrap_servers, EVENTS_DLQ, lambda r: r.value == poison
    )
    assert headers_of(record)["x-dlq-reason"] == "invalid_json"
    assert headers_of(record)["x-dlq-source"] == PLATFORM_EVENTS


async def test_batch_answers_each_event(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    good, bad = deployed(app_id), {**deployed(app_id), "created_at": "yesterday"}

    status, _, answer = await post(herald.events_url, [good, bad])

    assert status == 207
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected"]
    assert answer["results"][1]["reason"] == "invalid_envelope"
    [request] = await receiver.wait_for(f"/{app_id}")
    assert request.json()["id"] == good["id"]


async def test_repeated_event_id_is_dropped(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook_notifier(app_id, receiver.url(f"/{app_id}")))
    event = deployed(app_id)

    first = await post(herald.events_url, event)
    second = await post(herald.events_url, event)

    assert (first[0], first[2]["status"]) == (202, "accepted")
    assert (second[0], second[2]["status"]) == (202, "duplicate")
    await receiver.wait_for(f"/{app_id}")
    # A later event of the same app and notifier: once it arrived, the duplicate had its turn.
    later = deployed(app_id)
    await post(herald.events_url, later)
    await receiver.wait_for_id(f"/{app_id}", later["id"])
    assert [r.json()["id"] for r in receiver.on(f"/{app_id}")] == [event["id"], later["id"]]


async def test_other_app_unselected_type_inactive_and_deleted_notifiers_get_nothing(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    wanted = webhook_notifier(app_id, receiver.url("/wanted"))
    other_app = webhook_notifier(f"other-{unique}", receiver.url("/other-app"))
    unselected = webhook_notifier(
        app_id, receiver.url("/unselected"), events=("app_restarted", "addon_deleted")
    )
    inactive = webhook_notifier(app_id, receiver.url("/inactive"), active=False)
    deleted = webhook_notifier(app_id, receiver.url("/deleted"))
    for notifier in (wanted, other_app, unselected, inactive, deleted):
        await herald.add_notifier(notifier)
    await herald.remove_notifier(deleted.id)

    status, _, _ = await post(herald.events_url, deployed(app_id))

    assert status == 202
    await receiver.wait_for("/wanted")
    # The wanted delivery arrived, so the event was fully routed. Reopen each of the others
    # under its own id, for this app's deployments: a sentinel deployment then reaches all
    # four after anything the event gave them (one app is routed in order, one notifier
    # delivered in order), so each must have received the sentinel alone.
    others = {"/other-app": other_app, "/unselected": unselected, "/inactive": inactive}
    others["/deleted"] = deleted
    for path, notifier in others.items():
        reopened = webhook_notifier(app_id, receiver.url(path)).model_copy(
            update={"id": notifier.id}
        )
        await herald.add_notifier(reopened)
    later = deployed(app_id)
    await post(herald.events_url, later)
    for path in others:
        await receiver.wait_for_id(path, later["id"])
        assert [r.json()["id"] for r in receiver.on(path)] == [later["id"]], path


async def test_alias_selection_fires_a_clever_cloud_style_selection(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(
        webhook_notifier(app_id, receiver.url("/fail"), events=("DEPLOYMENT_FAIL",))
    )
    await herald.add_notifier(
        webhook_notifier(app_id, receiver.url("/success"), events=("DEPLOYMENT_SUCCESS",))
    )

    await post(herald.events_url, deployed(app_id, status="build-error"))

    [request] = await receiver.wait_for("/fail")
    assert request.json()["type_data"]["status"] == "build-error"
    # A successful deployment of the same app reaches /success after anything the failure
    # gave it (one app is routed in order, one notifier delivered in order).
    later = deployed(app_id)
    await post(herald.events_url, later)
    await receiver.wait_for_id("/success", later["id"])
    assert [r.json()["id"] for r in receiver.on("/success")] == [later["id"]]


async def test_failing_receiver_is_dead_lettered_with_its_reason(
    herald: Herald, receiver: HttpReceiver, unique: str
) -> None:
    app_id = f"app-{unique}"
    receiver.statuses["/gone"] = 404
    notifier = webhook_notifier(app_id, receiver.url("/gone"))
    await herald.add_notifier(notifier)
    event = deployed(app_id)

    await post(herald.events_url, event)

    await receiver.wait_for("/gone")
    expected_id = delivery_id(event["id"], notifier.id).encode()
    record = await find_record(
        herald.settings.bootstrap_servers,
        delivery_dlq_topic(Channel.WEBHOOK),
        lambda r: dict(r.headers).get("x-delivery-id") == expected_id,
    )
    assert headers_of(record)["x-dlq-reason"] == "client_error"
    assert "404" in headers_of(record)["x-last-error"]
