"""`POST /v1/events/simulate` agrees with what the router actually delivers for the same event.

The config lives in Postgres (written through the API, plus an owner notifier written straight
through the store); the router sees it only through the compacted topics the outbox fills.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from herald_api.model.account_notifiers import notifier_id_for
from herald_api.model.defaults import default_hook_id
from herald_api.store import notifier_store
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import (
    CONFIG_APPS,
    CONFIG_OWNERS,
    EVENTS,
    Channel,
    deliveries_topic,
)
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.api_client import ApiClient
from herald_testing.polling import eventually

from support.pipeline import Herald

pytestmark = pytest.mark.integration

CHANNELS = (Channel.EMAIL, Channel.SLACK, Channel.DISCORD)


async def test_simulate_agrees_with_the_router(
    api: Any, admin: ApiClient, herald: Herald, unique: str
) -> None:
    app_id, owner_id = f"sim-{unique}", f"sim-org-{unique}"
    for user, email in (("ann", "ann@example.com"), ("bob", "bob@example.com")):
        await admin.call("PUT", f"/v1/users/{user}-{unique}", {"user": {"email": email}})
    await admin.call(
        "PUT",
        f"/v1/owners/{owner_id}",
        {
            "owner": {
                "name": "Acme",
                "members": [{"user_id": f"ann-{unique}"}, {"user_id": f"bob-{unique}"}],
            }
        },
    )
    status, _ = await admin.call(
        "PUT", f"/v1/apps/{app_id}", {"app": {"name": "shop", "owner_id": owner_id}}
    )
    assert status == 201
    hooks = {
        "slack": {"webhook_url": "https://hooks.slack.com/services/T0/B0/simulate"},
        "discord": {"webhook_url": "https://discord.com/api/webhooks/1/simulate"},
    }
    for name, platform, selected, active in (
        ("crashes on slack", "slack", ["app_crashed"], True),
        ("restarts", "discord", ["app_restarted"], False),
        ("alerts", "discord", [], True),
    ):
        body = {
            "notifier": {
                "name": name,
                "platform_id": platform,
                "selected_event_ids": selected,
                "active": active,
                "send_all_alerts": name == "alerts",
                "type_data": hooks[platform],
            }
        }
        assert (await admin.call("POST", f"/v1/apps/{app_id}/notifiers", body))[0] == 201
    async with api.pool.acquire() as connection, connection.transaction():
        for suffix, apps in (("all", ()), ("elsewhere", ("another-app",))):
            await notifier_store.insert(
                connection,
                Notifier(
                    id=f"sim-owner-{suffix}-{unique}",
                    scope=Scope.OWNER,
                    owner_id=owner_id,
                    app_ids=apps,
                    platform=Channel.SLACK,
                    selection=Selection(send_all_events=True),
                    type_data=hooks["slack"],
                ),
            )

    event = {
        "id": f"sim-ev-{uuid.uuid4()}",
        "type": "app_crashed",
        "created_at": "2026-11-23T10:00:00Z",
        "source": "test",
        "app_id": app_id,
        "owner_id": owner_id,
        "type_data": {},
    }
    status, simulated = await admin.call("POST", "/v1/events/simulate", event)
    assert status == 200, simulated
    predicted = {
        d["notifier_id"]: sorted(r["address"] for r in d["recipients"])
        for d in simulated["deliveries"]
    }
    # The other faces' defaults are candidates too: Ann's and Bob's Cloud 66 account e-mails
    # (made with the users) and the owner's Clever Cloud deployment hook (made with the owner).
    faces = {notifier_id_for(f"{user}-{unique}", "email") for user in ("ann", "bob")}
    faces.add(f"{default_hook_id(owner_id)}.0")
    rules = {
        e["notifier_id"]: e["rule"] for e in simulated["excluded"] if e["notifier_id"] not in faces
    }
    assert sorted(rules.values()) == ["inactive", "scope", "selection"]
    assert len(predicted) == 3, "default notifier, the slack crash notifier, the owner-wide one"

    router_table = herald.router.notifiers
    await eventually(
        lambda: (
            all(n in router_table for n in [*predicted, *rules])
            and app_id in herald.router.view.table(CONFIG_APPS)
            and owner_id in herald.router.view.table(CONFIG_OWNERS)
        ),
        what="router caught up",
    )
    routed = parse_event(event)
    await send_all(herald.producer, [OutgoingRecord(EVENTS, routed.to_json(), app_id.encode())])
    delivered = await read_deliveries(
        herald.settings.bootstrap_servers, event["id"], len(predicted)
    )
    assert delivered == predicted


async def read_deliveries(bootstrap: str, event_id: str, count: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    async with AIOKafkaConsumer(
        *[deliveries_topic(c) for c in CHANNELS],
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    ) as consumer:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(found) < count:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for record in records:
                    body = json.loads(record.value)
                    if body["event"]["id"] == event_id:
                        found[body["notifier"]["id"]] = sorted(
                            r["address"] for r in body["recipients"]
                        )
        for records in (await consumer.getmany(timeout_ms=1000)).values():  # nothing more may come
            for record in records:
                assert (
                    json.loads(record.value)["event"]["id"] != event_id
                    or json.loads(record.value)["notifier"]["id"] in found
                )
    return found
