"""Signed webhooks through the real path: HTTP → ingest → router → webhook sender → receiver.

Signatures are checked with the `standardwebhooks` package, an implementation independent of
`herald_sender.signing`, exactly as a receiver would.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from herald_core.deliveries import delivery_id
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_testing.receivers import HttpReceiver
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from support.helpers import deployed, post_event
from support.pipeline import Herald

pytestmark = pytest.mark.integration


def secret(seed: str) -> str:
    return "whsec_" + base64.b64encode(f"{seed}-{uuid.uuid4().hex}".encode()).decode()


def webhook(app_id: str, url: str, **type_data: Any) -> Notifier:
    return Notifier(
        id=f"n-{uuid.uuid4().hex[:12]}",
        name="signed hook",
        scope=Scope.APP,
        app_id=app_id,
        platform=Channel.WEBHOOK,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data={"webhook_url": url, **type_data},
    )


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


async def test_signed_delivery_verifies_and_carries_the_custom_headers(
    herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    key = secret("current")
    notifier = webhook(
        app_id,
        receiver.url(f"/{app_id}"),
        secret=key,
        headers={
            "Authorization": "Bearer t0k3n",
            "X-Team": "ops",
            "Webhook-Signature": "v1,forged",  # the API refuses these; the sender drops them
            "Content-Type": "text/plain",
        },
    )
    await herald.add_notifier(notifier)
    event = deployed(app_id)
    before = int(datetime.now(UTC).timestamp())

    await post_event(http, herald, event)

    [request] = await receiver.wait_for(f"/{app_id}")
    headers = lower(request.headers)
    assert headers["webhook-id"] == delivery_id(event["id"], notifier.id)
    assert before <= int(headers["webhook-timestamp"]) <= int(datetime.now(UTC).timestamp())
    assert Webhook(key).verify(request.body, request.headers) == request.json()
    assert headers["authorization"] == "Bearer t0k3n"
    assert headers["x-team"] == "ops"
    assert headers["content-type"] == "application/json"
    assert "forged" not in headers["webhook-signature"]
    assert request.json()["id"] == event["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret("someone else")).verify(request.body, request.headers)


async def test_each_format_arrives_in_its_shape_signed(
    herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    key = secret("formats")
    formats = ("raw", "scalingo", "cloud66", "cloudevents")
    notifiers = {
        fmt: webhook(app_id, receiver.url(f"/{app_id}/{fmt}"), format=fmt, secret=key)
        for fmt in formats
    }
    for notifier in notifiers.values():
        await herald.add_notifier(notifier)
    event = deployed(app_id)
    before = int(datetime.now(UTC).timestamp())

    await post_event(http, herald, event)

    received = {fmt: (await receiver.wait_for(f"/{app_id}/{fmt}"))[0] for fmt in formats}
    after = int(datetime.now(UTC).timestamp())
    for fmt, request in received.items():
        headers = lower(request.headers)
        assert headers["webhook-id"] == delivery_id(event["id"], notifiers[fmt].id), fmt
        assert Webhook(key).verify(request.body, request.headers) == request.json(), fmt

    raw = received["raw"].json()
    assert {k: raw[k] for k in event if k != "created_at"} == {
        k: v for k, v in event.items() if k != "created_at"
    }
    assert lower(received["raw"].headers)["content-type"] == "application/json"

    scalingo = received["scalingo"].json()
    assert list(scalingo) == [
        "id",
        "created_at",
        "user",
        "app_id",
        "app_name",
        "type",
        "type_data",
    ]
    assert (scalingo["id"], scalingo["type"], scalingo["app_id"]) == (
        event["id"],
        "deployment",
        app_id,
    )
    assert scalingo["type_data"] == event["type_data"]

    cloud66 = received["cloud66"].json()
    assert cloud66["event_type"] == "app_deployed"
    assert before <= cloud66["timestamp"] <= after
    assert cloud66["timestamp"] == int(lower(received["cloud66"].headers)["webhook-timestamp"])
    assert {k: cloud66[k] for k in raw} == raw

    cloudevent = received["cloudevents"].json()
    cloudevent_headers = lower(received["cloudevents"].headers)
    assert cloudevent_headers["content-type"] == "application/cloudevents+json"
    assert cloudevent["specversion"] == "1.0"
    assert cloudevent["id"] == event["id"]
    assert cloudevent["type"] == "app_deployed"
    assert cloudevent["source"] == "/herald/deployer"
    assert cloudevent["subject"] == app_id
    assert cloudevent["heralddeliveryid"] == cloudevent_headers["webhook-id"]
    assert cloudevent["data"] == raw


async def test_rotated_secrets_verify_with_either(
    herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    new, old = secret("new"), secret("old")
    await herald.add_notifier(
        webhook(app_id, receiver.url(f"/{app_id}"), secret=new, secrets=[old])
    )

    await post_event(http, herald, deployed(app_id))

    [request] = await receiver.wait_for(f"/{app_id}")
    assert len(lower(request.headers)["webhook-signature"].split(" ")) == 2
    for key in (new, old):
        assert Webhook(key).verify(request.body, request.headers) == request.json()
    with pytest.raises(WebhookVerificationError):
        Webhook(secret("retired")).verify(request.body, request.headers)


async def test_unsigned_notifier_gets_id_and_timestamp_but_no_signature(
    herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    await herald.add_notifier(webhook(app_id, receiver.url(f"/{app_id}")))

    await post_event(http, herald, deployed(app_id))

    [request] = await receiver.wait_for(f"/{app_id}")
    headers = lower(request.headers)
    assert headers["webhook-id"]
    assert headers["webhook-timestamp"].isdigit()
    assert "webhook-signature" not in headers
    assert json.loads(request.body)["app_id"] == app_id
