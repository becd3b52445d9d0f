"""One stream's session, once its tail is positioned (`stream_api`): answer (101 or 200),
then run the tail's reader, a writer with heartbeats, the wait for the client to leave and
the wait for shutdown, until the first of them ends; then say why to the client (dropped as
too slow, or going away) when it can still be told."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from aiohttp import web

from herald_api.http.context import context
from herald_api.settings import ApiSettings
from herald_api.stream.stream_filter import StreamFilter
from herald_api.stream.stream_hub import StreamHub
from herald_api.stream.stream_sinks import Sink, SseSink, WsSink, sse_response
from herald_api.stream.stream_tail import EventTail, Item

log = structlog.get_logger(__name__)

CLOSE_TIMEOUT_S = 1.0  # the last words to a client that is leaving or dropped


async def _write(
    sink: Sink, tail: EventTail, queue: asyncio.Queue[Item], settings: ApiSettings
) -> None:
    """Send queued events, and a heartbeat whenever none came for `stream_heartbeat_s`.

    Raises:
        TimeoutError: when one write takes longer than `stream_slow_client_s`.
        ConnectionError: when the client is gone.
    """
    sent = tail.cursor
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), settings.stream_heartbeat_s)
        except TimeoutError:
            current = tail.cursor  # the queue is empty: everything up to here was sent
            await asyncio.wait_for(
                sink.heartbeat(current, current != sent, _now()), settings.stream_slow_client_s
            )
            sent = current
            continue
        await asyncio.wait_for(sink.event(item), settings.stream_slow_client_s)
        sent = item.cursor


def _now() -> datetime:
    return datetime.now(UTC)


async def run(
    sink: Sink, tail: EventTail, stream: StreamFilter, settings: ApiSettings, hub: StreamHub
) -> tuple[str, bool]:
    """Stream until the client leaves, is dropped, or the API shuts down; say goodbye."""
    queue: asyncio.Queue[Item] = asyncio.Queue(settings.stream_queue_size)
    reader = asyncio.create_task(tail.pump(stream, queue, settings.stream_slow_client_s))
    writer = asyncio.create_task(_write(sink, tail, queue, settings))
    left = asyncio.create_task(sink.client_left())
    closing = asyncio.create_task(hub.closing.wait())
    tasks = {reader, writer, left, closing}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    fell_behind = reader in done and reader.exception() is None and tail.dropped
    write_stuck = writer in done and isinstance(writer.exception(), TimeoutError)
    if fell_behind or write_stuck:
        outcome = "dropped"
    elif closing in done:
        outcome = "shutdown"
    else:
        outcome = "left"
        for task in (reader, writer):
            error = task.exception() if task in done else None
            if error is not None and not isinstance(error, ConnectionError):
                log.error("event_stream_failed", error=repr(error)[:300])
                outcome = "failed"
    if outcome == "dropped":
        hub.dropped += 1
    return outcome, await _say_goodbye(sink, outcome, settings)


async def _say_goodbye(sink: Sink, outcome: str, settings: ApiSettings) -> bool:
    """Tell the client why the stream ends; False when it could not be told in time."""
    try:
        if outcome == "dropped":
            reason = (
                f"too slow: fell behind by {settings.stream_queue_size} events for"
                f" {settings.stream_slow_client_s:g}s"
            )
            await asyncio.wait_for(sink.dropped(reason), CLOSE_TIMEOUT_S)
        elif outcome in ("shutdown", "failed"):
            await asyncio.wait_for(sink.going_away(), CLOSE_TIMEOUT_S)
    except (TimeoutError, ConnectionError):
        return False
    return True


async def serve(
    request: web.Request,
    ws: web.WebSocketResponse | None,
    tail: EventTail,
    stream: StreamFilter,
    hub: StreamHub,
) -> web.StreamResponse:
    """Answer (101 or 200), then stream until the end; the tail is positioned already."""
    sink: Sink
    response: web.StreamResponse
    if ws is not None:
        await ws.prepare(request)
        response, sink = ws, WsSink(ws)
    else:
        response = sse_response()
        await response.prepare(request)
        sink = SseSink(request, response)
    transport = "websocket" if ws is not None else "sse"
    log.info("event_stream_opened", owner_id=stream.owner_id, transport=transport)
    try:
        await asyncio.wait_for(
            sink.opened(tail.cursor), context(request).settings.stream_slow_client_s
        )
    except (TimeoutError, ConnectionError):
        outcome, told = "left", False
    else:
        outcome, told = await run(sink, tail, stream, context(request).settings, hub)
    log.info("event_stream_closed", owner_id=stream.owner_id, transport=transport, outcome=outcome)
    if not told and outcome != "left" and request.transport is not None:
        request.transport.abort()  # a client that cannot be told: its buffers are full
    return response
