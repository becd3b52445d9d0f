"""What each transport writes to a stream's client (`stream_api`, "Messages"): Server-Sent
Events (`SseSink`, on `sse_response`) or WebSocket frames (`WsSink`), both around the
envelope's bytes unchanged."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from herald_api.stream.stream_tail import Item

EVENT_STREAM = "text/event-stream"
SSE_RETRY_MS = 2000
CLIENT_CHECK_S = 1.0  # how often an SSE stream checks that its client is still connected


class Sink(Protocol):
    """One transport's way of saying things to the client."""

    async def opened(self, cursor: str) -> None: ...
    async def event(self, item: Item) -> None: ...
    async def heartbeat(self, cursor: str, moved: bool, now: datetime) -> None:
        """`moved`: the cursor advanced since the last message (past events left out)."""
        ...

    async def dropped(self, reason: str) -> None: ...
    async def going_away(self) -> None: ...
    async def client_left(self) -> None:
        """Return when the client leaves."""
        ...


class SseSink:
    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self.request = request
        self.response = response

    async def opened(self, cursor: str) -> None:
        await self.response.write(f"retry: {SSE_RETRY_MS}\n: heartbeat\nid: {cursor}\n\n".encode())

    async def event(self, item: Item) -> None:
        await self.response.write(
            b"id: " + item.cursor.encode() + b"\ndata: " + item.body + b"\n\n"
        )

    async def heartbeat(self, cursor: str, moved: bool, now: datetime) -> None:
        # An `id:` without `data:` dispatches nothing but does set the client's Last-Event-ID.
        line = b"id: " + cursor.encode() + b"\n" if moved else b""
        await self.response.write(b": heartbeat\n" + line + b"\n")

    async def dropped(self, reason: str) -> None:
        data = json.dumps({"reason": reason}).encode()
        await self.response.write(b"event: dropped\ndata: " + data + b"\n\n")

    async def going_away(self) -> None:
        return None  # the end of the body says it; EventSource reconnects with Last-Event-ID

    async def client_left(self) -> None:
        # The client sends nothing after its request; aiohttp drops the transport when the
        # connection is lost (the next write would fail too, but heartbeats are far apart).
        while True:
            transport = self.request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(CLIENT_CHECK_S)


class WsSink:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def opened(self, cursor: str) -> None:
        await self.heartbeat(cursor, True, datetime.now(UTC))

    async def event(self, item: Item) -> None:
        # Built around the envelope's bytes, so the `event` member is them, unchanged.
        frame = b'{"cursor":"' + item.cursor.encode() + b'","event":' + item.body + b"}"
        await self.ws.send_str(frame.decode())

    async def heartbeat(self, cursor: str, moved: bool, now: datetime) -> None:
        stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        await self.ws.send_str(json.dumps({"cursor": cursor, "heartbeat": stamp}))

    async def dropped(self, reason: str) -> None:
        await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason.encode()[:123])

    async def going_away(self) -> None:
        await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")

    async def client_left(self) -> None:
        async for message in self.ws:  # clients have nothing to say; close frames end it
            if message.type is WSMsgType.ERROR:
                return


def sse_response() -> web.StreamResponse:
    """The answer a Server-Sent Events stream is written to: never buffered, and its connection
    ends with the stream."""
    response = web.StreamResponse(
        headers={
            "Content-Type": EVENT_STREAM,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
        }
    )
    response.force_close()  # the connection ends with the stream
    return response
