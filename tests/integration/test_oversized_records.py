"""Events too large for the next hop are dead-lettered, and block nothing (found by the chaos
poison scenario, tests/chaos/test_chaos_poison.py).

The broker refuses a record over its max.message.bytes (1 MiB by default). Before the fix, a
`platform.events` record that fitted its topic but not `notify.events` (with ingest's headers),
or a `notify.events` record whose delivery did not fit, made the consumer retry its batch for
ever; worse, aiokafka's idempotent producer never recovers from a refused batch (the sequence
numbers it used are not reset), so every later send to that partition failed as well: ingest
answered 503 to every client whose events went to that partition.
"""

from __future__ import annotations

import json
import uuid

import aiohttp
import pytest
from herald_core import headers as h
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import EVENTS, EVENTS_DLQ, PLATFORM_EVENTS, Channel
from herald_kafka.producer import OutgoingRecord, send_all
from herald_testing.receivers import HttpReceiver
from herald_testing.topics import headers_of, records_now

from support.helpers import deployed, post_event
from support.pipeline import Herald

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}

BROKER_LIMIT = 1024 * 1024 + 12
"""The broker's default max.message.bytes: a record batch, its 61-byte header included."""
NEAR_LIMIT = BROKER_LIMIT - 120
"""A record of this many bytes, with a short key and no headers, fits in a batch of its own;
with ingest's ce_* headers, or wrapped in a delivery, it does not."""


def oversized(event_id: str, app_id: str, size: int) -> bytes:
    """A valid deployment of `app_id`, `size` bytes in its canonical form (as ingest writes
    it), with `event_id` first."""
    event = deployed(app_id, padding="")
    event["id"] = event_id
    bare = len(parse_event(event).to_json())
    event["type_data"]["padding"] = "x" * (size - bare)
    value = parse_event(event).to_json()
    assert len(value) == size
    assert value.startswith(f'{{"id":"{event_id}"'.encode())
    return value


async def test_oversized_events_are_dead_lettered_and_their_partitions_flow(
    herald: Herald, receiver: HttpReceiver, http: aiohttp.ClientSession, unique: str
) -> None:
    app_id = f"app-{unique}"
    path = f"/{app_id}"
    await herald.add_notifier(
        Notifier(
            id=f"n-{uuid.uuid4().hex[:12]}",
            name="oversized",
            scope=Scope.APP,
            app_id=app_id,
            platform=Channel.WEBHOOK,
            selection=Selection(selected_event_ids=("app_deployed",)),
            type_data={"webhook_url": receiver.url(path)},
        )
    )
    tag = uuid.uuid4().hex[:8]
    # fits platform.events, not notify.events with ingest's ce_* headers
    too_big_for_ingest = oversized(f"big-ingest-{tag}", app_id, NEAR_LIMIT)
    # fits notify.events, not the delivery the router would write (the event and its notifier)
    too_big_to_route = oversized(f"big-route-{tag}", app_id, NEAR_LIMIT)
    after = deployed(app_id)
    key = app_id.encode()
    for record in [
        OutgoingRecord(PLATFORM_EVENTS, too_big_for_ingest, key),
        OutgoingRecord(EVENTS, too_big_to_route, key),
        OutgoingRecord(PLATFORM_EVENTS, json.dumps(after).encode(), key),
    ]:
        await send_all(herald.producer, [record])
    # The app's next event, behind both in their partitions, is taken, routed and delivered.
    await receiver.wait_for_id(path, after["id"], timeout_s=45)
    # Ingest still writes to that partition of notify.events: a client is answered 202.
    posted = deployed(app_id)
    await post_event(http, herald, posted)
    await receiver.wait_for_id(path, posted["id"], timeout_s=45)
    # Over HTTP, an event over ingest's limit (512 KiB) is refused at once.
    big = oversized(f"big-http-{tag}", app_id, 600_000)
    async with http.post(herald.events_url, data=big, headers=JSON) as r:
        answer = await r.json(content_type=None)
        assert (r.status, answer["reason"]) == (422, "too_large"), answer

    letters = {
        (r.value or b"")[:40].decode(errors="replace").split('"')[3]: headers_of(r)
        for r in await records_now(
            herald.settings.bootstrap_servers,
            EVENTS_DLQ,
            lambda r: tag.encode() in (r.value or b"")[:60],
        )
    }
    assert set(letters) == {f"big-ingest-{tag}", f"big-route-{tag}", f"big-http-{tag}"}
    for ident, headers in letters.items():
        assert headers[h.DLQ_REASON] == "too_large", (ident, headers)
    # The two that did not fit the broker either are cut to fit, their size kept in a header.
    assert letters[f"big-ingest-{tag}"][h.DLQ_TRUNCATED] == str(NEAR_LIMIT)
    assert letters[f"big-route-{tag}"][h.DLQ_TRUNCATED] == str(NEAR_LIMIT)
    assert letters[f"big-ingest-{tag}"][h.DLQ_SOURCE] == PLATFORM_EVENTS
    assert letters[f"big-route-{tag}"][h.DLQ_SOURCE] == "router"
    assert h.DLQ_TRUNCATED not in letters[f"big-http-{tag}"]
    assert [r for r in receiver.on(path) if r.json()["id"].startswith("big-")] == []
