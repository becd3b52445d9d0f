"""One live stream's session without Kafka or sockets: the real reader over a scripted consumer,
the writer, heartbeats, slow clients, shutdown, and what each transport writes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode
from aiokafka import TopicPartition
from herald_api.settings import ApiSettings
from herald_api.stream.stream_cursor import decode_cursor
from herald_api.stream.stream_filter import StreamFilter
from herald_api.stream.stream_hub import StreamHub
from herald_api.stream.stream_session import run
from herald_api.stream.stream_sinks import SseSink, WsSink
from herald_api.stream.stream_tail import EventTail, Item
from herald_core.envelope import Event
from herald_core.topics import EVENTS
from herald_testing.polling import eventually

SETTINGS = ApiSettings(stream_heartbeat_s=0.05, stream_queue_size=2, stream_slow_client_s=0.2)


def event(n: int, owner: str = "org-1") -> Event:
    return Event(
        id=f"ev-{n}",
        type="app_deployed",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        app_id="app-1",
        owner_id=owner,
        type_data={"status": "success"},
    )


@dataclass
class Record:
    offset: int
    value: bytes


class ScriptedConsumer:
    """Hands out the scripted batches, then nothing."""

    def __init__(self, batches: list[dict[TopicPartition, list[Record]]]) -> None:
        self.batches = batches

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}


@dataclass
class RecordingSink:
    stuck_after: int | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    leave: asyncio.Event = field(default_factory=asyncio.Event)

    async def opened(self, cursor: str) -> None:
        self.calls.append(("opened", cursor))

    async def event(self, item: Item) -> None:
        sent = sum(1 for name, _ in self.calls if name == "event")
        if self.stuck_after is not None and sent >= self.stuck_after:
            await asyncio.Event().wait()  # a client that stopped reading
        self.calls.append(("event", item))

    async def heartbeat(self, cursor: str, moved: bool, now: datetime) -> None:
        self.calls.append(("heartbeat", (cursor, moved)))

    async def dropped(self, reason: str) -> None:
        self.calls.append(("dropped", reason))

    async def going_away(self) -> None:
        self.calls.append(("going_away", None))

    async def client_left(self) -> None:
        await self.leave.wait()

    def named(self, name: str) -> list[Any]:
        return [value for called, value in self.calls if called == name]


P0, P1 = TopicPartition(EVENTS, 0), TopicPartition(EVENTS, 1)


async def test_matching_events_are_sent_in_order_with_cursors_and_heartbeats_cover_skips():
    consumer = ScriptedConsumer(
        [
            {P0: [Record(10, event(1).to_json()), Record(11, event(2, "org-2").to_json())]},
            {P1: [Record(5, event(3).to_json()), Record(6, event(4, "org-2").to_json())]},
        ]
    )
    tail = EventTail(consumer, {0: 10, 1: 5})  # type: ignore[arg-type]
    sink, hub = RecordingSink(), StreamHub(10)
    running = asyncio.create_task(run(sink, tail, StreamFilter("org-1"), SETTINGS, hub))
    await eventually(lambda: any(moved for _, moved in sink.named("heartbeat")), timeout_s=5)
    sink.leave.set()
    assert await running == ("left", True)

    sent = sink.named("event")
    assert [item.body for item in sent] == [event(1).to_json(), event(3).to_json()]
    assert [decode_cursor(item.cursor) for item in sent] == [{0: 11, 1: 5}, {0: 12, 1: 6}]
    cursor, _ = next(value for value in sink.named("heartbeat") if value[1])
    assert decode_cursor(cursor) == {0: 12, 1: 7}, "past the skipped records, once all was sent"


async def test_a_client_that_stops_reading_is_dropped_and_told_why():
    records = [Record(i, event(i).to_json()) for i in range(10)]
    tail = EventTail(ScriptedConsumer([{P0: records}]), {0: 0, 1: 0})  # type: ignore[arg-type]
    sink, hub = RecordingSink(stuck_after=1), StreamHub(10)
    impatient = SETTINGS.model_copy(update={"stream_slow_client_s": 0.05})
    outcome = await asyncio.wait_for(run(sink, tail, StreamFilter("org-1"), impatient, hub), 5)
    assert outcome == ("dropped", True)
    assert hub.dropped == 1
    assert len(sink.named("event")) == 1
    (reason,) = sink.named("dropped")
    assert reason.startswith("too slow")


async def test_shutdown_ends_the_stream_and_says_so():
    tail = EventTail(ScriptedConsumer([]), {0: 0})  # type: ignore[arg-type]
    sink, hub = RecordingSink(), StreamHub(10)
    running = asyncio.create_task(run(sink, tail, StreamFilter("org-1"), SETTINGS, hub))
    await asyncio.sleep(0.05)
    hub.closing.set()
    assert await asyncio.wait_for(running, 5) == ("shutdown", True)
    assert sink.named("going_away") == [None]


class RecordingResponse:
    def __init__(self) -> None:
        self.written = b""

    async def write(self, data: bytes) -> None:
        self.written += data


async def test_sse_messages():
    response = RecordingResponse()
    sink = SseSink(None, response)  # type: ignore[arg-type]
    await sink.opened("C0")
    await sink.event(Item("C1", b'{"id":"ev-1"}'))
    await sink.heartbeat("C1", False, datetime.now(UTC))
    await sink.heartbeat("C2", True, datetime.now(UTC))
    await sink.dropped("too slow")
    assert response.written == (
        b"retry: 2000\n: heartbeat\nid: C0\n\n"
        b'id: C1\ndata: {"id":"ev-1"}\n\n'
        b": heartbeat\n\n"
        b": heartbeat\nid: C2\n\n"
        b'event: dropped\ndata: {"reason": "too slow"}\n\n'
    )


class RecordingWebSocket:
    def __init__(self) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, bytes] | None = None

    async def send_str(self, data: str) -> None:
        self.frames.append(data)

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = (code, message)


async def test_websocket_frames_hold_the_envelope_bytes_unchanged():
    ws = RecordingWebSocket()
    sink = WsSink(ws)  # type: ignore[arg-type]
    body = event(1).to_json()
    await sink.event(Item("C1", body))
    await sink.heartbeat("C1", False, datetime(2026, 1, 1, tzinfo=UTC))
    await sink.dropped("too slow")
    assert ws.frames[0].encode() == b'{"cursor":"C1","event":' + body + b"}"
    assert json.loads(ws.frames[0])["event"] == json.loads(body)
    assert json.loads(ws.frames[1]) == {"cursor": "C1", "heartbeat": "2026-01-01T00:00:00Z"}
    assert ws.closed == (WSCloseCode.POLICY_VIOLATION, b"too slow")
