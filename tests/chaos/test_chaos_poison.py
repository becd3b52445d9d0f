"""Poison records on `platform.events` and `notify.events`, among the load's events of the same
apps (so in the same partitions): each becomes a dead letter on `notify.events.dlq` with its
reason, and the events after it in its partition are still delivered.

Poison: bytes that are not JSON, JSON that is not an event, and events too large. One of those
fits `platform.events` but not what ingest would write for it; another fits `notify.events` but
not the delivery the router would write for it (the broker refuses records over 1 MiB by
default, and a refused send used to break the idempotent producer for its partition for good:
ingest then answered 503 to everyone, the sender sent the same webhooks again and again).
Oversized events posted to ingest over HTTP are refused with 422 and dead-lettered too.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from herald_core import headers as h
from herald_core.intake import parse_event
from herald_core.topics import EVENTS, EVENTS_DLQ, PLATFORM_EVENTS
from herald_kafka.producer import OutgoingRecord, idempotent_producer, send_all
from herald_testing.ledger import Sent
from herald_testing.topics import headers_of, records_now

from chaos.harness import Chaos, Trial, deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BROKER_LIMIT = 1024 * 1024 + 12
"""The broker's default max.message.bytes: a record batch, its 61-byte header included."""
NEAR_LIMIT = BROKER_LIMIT - 120
"""A record of this many bytes, with a short key and no headers, fits in a batch of its own;
with ingest's ce_* headers, or wrapped in a delivery, it does not."""


def oversized(marker: str, app_id: str, size: int) -> bytes:
    """A valid event of `size` bytes in its canonical form, whose id (first) is `marker`."""
    event, _ = deployment(app_id, 1)
    event["id"] = marker
    event["type_data"]["padding"] = ""
    bare = len(parse_event(event).to_json())
    event["type_data"]["padding"] = "x" * (size - bare)
    value = parse_event(event).to_json()
    assert len(value) == size
    return value


# name → (topic, the reason its dead letter must carry, whether its value is cut to fit)
POISON: dict[str, tuple[str, str, bool]] = {
    "platform-json": (PLATFORM_EVENTS, "invalid_json", False),
    "platform-shape": (PLATFORM_EVENTS, "invalid_envelope", False),
    "platform-large": (PLATFORM_EVENTS, "too_large", True),
    "events-json": (EVENTS, "invalid_envelope", False),
    "events-shape": (EVENTS, "invalid_envelope", False),
    "events-large": (EVENTS, "too_large", True),
}


def poison_value(name: str, marker: str, app_id: str) -> bytes:
    ident = f"{marker}-{name}"
    if name.endswith("json"):
        return f'{{"id": "{ident}", oops'.encode()
    if name.endswith("shape"):
        return json.dumps({"id": ident, "type": 3, "app_id": app_id}).encode()
    # platform: fits its topic, not notify.events with ingest's headers (and ingest refuses
    # events over 512 KiB anyway); events: fits notify.events, not the router's delivery
    return oversized(ident, app_id, NEAR_LIMIT)


async def post(chaos: Chaos, event: dict[str, Any]) -> tuple[int, Any]:
    async with chaos.http.post(
        chaos.events_url, json=event, headers=chaos.ingest_headers
    ) as response:
        return response.status, await response.json(content_type=None)


@pytest.mark.chaos_short
async def test_poison_records_are_dead_lettered_and_block_nothing(chaos: Chaos) -> None:
    trial = await chaos.trial("poison records")
    marker = f"poison-{uuid.uuid4().hex[:8]}"
    expected: dict[str, tuple[str, bool]] = {}

    async def fault(trial: Trial) -> None:
        producer = idempotent_producer(chaos.kafka, linger_ms=0)
        await producer.start()
        try:
            await asyncio.sleep(2)
            for app_id in trial.apps[:2]:
                for name, (topic, reason, cut) in POISON.items():
                    value = poison_value(name, f"{marker}-{app_id}", app_id)
                    await send_all(producer, [OutgoingRecord(topic, value, app_id.encode())])
                    expected[f"{marker}-{app_id}-{name}"] = (reason, cut)
                # then good events of the same app (same partitions) through platform.events
                for n in range(3):
                    event, answers_to = deployment(app_id, n)
                    good = OutgoingRecord(
                        PLATFORM_EVENTS, json.dumps(event).encode(), app_id.encode()
                    )
                    await send_all(producer, [good])
                    trial.ledger.accepted(Sent(event["id"], app_id, answers_to, time.time()))
        finally:
            await producer.stop()
        # Over HTTP: an event over ingest's 512 KiB is refused (422), and dead-lettered.
        ident = f"{marker}-http-large"
        status, body = await post(chaos, json.loads(oversized(ident, trial.apps[0], 600_000)))
        assert (status, body.get("reason")) == (422, "too_large"), body
        expected[ident] = ("too_large", False)

    try:
        row = await trial.run(fault=fault)
        assert row.passed, row.problems
        letters = await records_now(
            chaos.stack.kafka.bootstrap_servers,
            EVENTS_DLQ,
            lambda r: marker.encode() in (r.value or b"")[:100],
        )
        found: dict[str, list[dict[str, str]]] = {}
        for record in letters:
            head = (record.value or b"")[:100].decode(errors="replace")
            ident = head[head.index(marker) :].split('"')[0]
            found.setdefault(ident, []).append(headers_of(record))
        assert sorted(found) == sorted(expected)
        for ident, (reason, cut) in expected.items():
            for headers in found[ident]:
                assert headers.get(h.DLQ_REASON) == reason, (ident, headers)
                assert (h.DLQ_TRUNCATED in headers) == cut, (ident, headers)
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
