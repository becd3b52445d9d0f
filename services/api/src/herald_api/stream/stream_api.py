"""The live event stream: an owner's events from `notify.events`, as they happen.

    GET /v1/owners/{owner}/events/stream[?app_id=…][&addon_id=…][&type=…][&cursor=…]

One route, two transports, by content negotiation: a WebSocket upgrade request gets a WebSocket,
`Accept: text/event-stream` gets Server-Sent Events; anything else is a 406. The events are the
envelope bytes of `Event.to_json()`, exactly what `notify.events` carries and what a `raw`
webhook receives (Clever Cloud: the raw format "is identical to events sent by the Websocket
API"). Filters: `stream_filter`. Cursors: `stream_cursor`.

Messages
    SSE   `id: <cursor>` + `data: <envelope JSON, one line>`; `: heartbeat` comment lines every
          `stream_heartbeat_s` (with an `id:` line when the cursor moved past events the filters
          left out); the stream opens with `retry:` and the starting cursor as `id:`. A dropped
          client gets `event: dropped` with `data: {"reason": …}`, then the connection closes.
    WS    text frames `{"cursor": "…", "event": <envelope>}`, the envelope's bytes unchanged
          inside the frame; `{"cursor": "…", "heartbeat": "<RFC 3339>"}` right after the
          upgrade and every `stream_heartbeat_s`. A dropped client gets close code 1008 with
          the reason; API shutdown closes with 1001.

Resuming: SSE sends the last `id:` back as `Last-Event-ID` (browsers do it by themselves; the
header wins over a `cursor` parameter), WS clients pass the last cursor as `?cursor=`. The
stream restarts right after that message: nothing within retention is lost; events may repeat
only if the client resumes from an older cursor than its last. A malformed cursor is a 400, one
naming offsets that retention deleted (or beyond the log's end: the topic was recreated) a 410:
reconnect without a cursor (and read the history you missed elsewhere).

Who may stream: an admin token any owner; an owner token its owner; an app token its owner's
stream narrowed to that app (it may name only its app in `app_id`). Anything else is a 404, as
everywhere in the API.

Design: one Kafka consumer per connection, no group, every partition assigned (the topic is keyed
by app id, so an owner's events are on every partition), positioned at the cursor or at the end
before the answer starts. It is the simplest design in which resuming is exact: every
connection reads from its own positions, and a slow client holds back nobody else's reading. The
cost, every connection fetching the whole topic, is bounded by `stream_max_connections` per
process (beyond it a 503); a record is skipped without parsing when its bytes do not contain the
owner id. A shared per-process tail would fetch once but would need a catch-up reader per resume
anyway, and hand-over between the two; not worth it at this scale.

Backpressure: the consumer hands matching events to a bounded queue (`stream_queue_size`); a
writer sends them. A client whose queue stays full, or one of whose writes does not complete, for
`stream_slow_client_s` is dropped. The consumer is per connection, so waiting for one client
never slows another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog
from aiohttp import WSCloseCode, WSMsgType, web
from herald_core.envelope import Event
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS
from herald_kafka import KafkaError, Record, TopicPartition
from herald_kafka.reader import AssignedReader, Bounds
from pydantic import ValidationError

from herald_api.http import wire_models as w
from herald_api.http.auth import Principal, TokenScope
from herald_api.http.context import context, principal
from herald_api.http.declare import Answer, Param, Route, problem_answer
from herald_api.http.web import ApiProblem, invalid, not_found
from herald_api.settings import ApiSettings
from herald_api.stream.stream_cursor import CursorError, CursorExpired, decode_cursor, encode_cursor
from herald_api.stream.stream_cursor import start_offsets as plan_start
from herald_api.stream.stream_filter import FilterError, StreamFilter, parse_filter

log = structlog.get_logger(__name__)

PATH = "/v1/owners/{owner}/events/stream"
EVENT_STREAM = "text/event-stream"
SSE_RETRY_MS = 2000
CLOSE_TIMEOUT_S = 1.0  # the last words to a client that is leaving or dropped
CLIENT_CHECK_S = 1.0  # how often an SSE stream checks that its client is still connected


class StreamsFull(Exception):
    """Every stream slot of this process is taken."""


class StreamHub:
    """This process's streams: how many are open, the cap, and the signal to close at shutdown."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.dropped = 0  # slow clients dropped since start
        self.closing = asyncio.Event()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one stream slot for the block. Raises StreamsFull when none is free."""
        if self.open >= self.limit:
            raise StreamsFull(f"{self.limit} streams are open already")
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


STREAMS = web.AppKey("herald_event_streams", StreamHub)


@dataclass(frozen=True)
class Item:
    """One event to send, with the cursor that resumes right after it."""

    cursor: str
    body: bytes


class Reader(Protocol):
    """What a tail reads with: an `AssignedReader` (tests script one)."""

    async def getmany(self, *, timeout_ms: int) -> dict[TopicPartition, list[Record]]: ...


class EventTail:
    """One connection's reader of `notify.events`: from its start offsets, filtered, in order."""

    def __init__(self, reader: Reader, positions: dict[int, int]) -> None:
        self._reader = reader
        self.positions = positions  # partition → next offset handled (sent, queued or skipped)
        self.dropped = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, settings: KafkaSettings, cursor: dict[int, int] | None
    ) -> AsyncIterator[EventTail]:
        """A tail positioned at `cursor`, or at the end of every partition.

        Raises:
            CursorError, CursorExpired: as `stream_cursor.start_offsets`.
            aiokafka.errors.KafkaError: when the broker cannot be reached.
            LookupError: when the topic does not exist.
        """

        def plan(bounds: Mapping[TopicPartition, Bounds]) -> dict[TopicPartition, int]:
            starts = plan_start(
                cursor,
                {tp.partition: b.beginning for tp, b in bounds.items()},
                {tp.partition: b.end for tp, b in bounds.items()},
            )
            return {tp: starts[tp.partition] for tp in bounds}

        reader = AssignedReader(
            settings,
            [EVENTS],
            start=plan,
            client_id=f"{settings.client_id}-stream",
            auto_offset_reset="earliest",  # only if retention overtakes a resumed stream
            max_poll_records=500,
        )
        async with reader:
            yield cls(reader, {tp.partition: offset for tp, offset in reader.starts.items()})

    @property
    def cursor(self) -> str:
        return encode_cursor(self.positions)

    async def pump(
        self, stream: StreamFilter, queue: asyncio.Queue[Item], patience_s: float
    ) -> None:
        """Queue every matching event, in order, for ever; return when the client is dropped.

        A record advances `positions` only once it is queued (or skipped), so a cursor taken
        when the queue is empty covers exactly what was sent.
        """
        while True:
            try:
                batches = await self._reader.getmany(timeout_ms=1000)
            except KafkaError as error:  # the client reconnects by itself; do not spin
                log.warning("event_stream_fetch_failed", error=str(error)[:300])
                await asyncio.sleep(1)
                continue
            for tp, records in sorted(batches.items(), key=lambda item: item[0].partition):
                for record in records:
                    item = self._matching(stream, record.value)
                    if item is not None:
                        positions = {**self.positions, tp.partition: record.offset + 1}
                        queued = Item(encode_cursor(positions), item)
                        if queue.full():
                            try:
                                await asyncio.wait_for(queue.put(queued), patience_s)
                            except TimeoutError:
                                self.dropped = True
                                return
                        else:
                            queue.put_nowait(queued)
                    self.positions[tp.partition] = record.offset + 1

    @staticmethod
    def _matching(stream: StreamFilter, value: bytes | None) -> bytes | None:
        if not value or stream.may_skip(value):
            return None
        try:
            event = Event.model_validate_json(value)
        except ValidationError:
            return None  # ingest validated what is on notify.events; not ours to judge
        return event.to_json() if stream.matches(event) else None


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
        await self.heartbeat(cursor, True, _now())

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


async def _run(
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


async def stream_events(request: web.Request) -> web.StreamResponse:
    stream = await _authorize(request, principal(request), _filter_of(request))
    ws = web.WebSocketResponse(max_msg_size=64 * 1024)
    upgrade = ws.can_prepare(request).ok
    if not upgrade and EVENT_STREAM not in request.headers.get("Accept", ""):
        raise ApiProblem(
            406,
            "ask for a WebSocket upgrade or for Accept: text/event-stream",
            kind="not-acceptable",
        )
    cursor_text = request.query.get("cursor")
    if not upgrade:
        cursor_text = request.headers.get("Last-Event-ID") or cursor_text
    hub = request.app[STREAMS]
    if hub.closing.is_set():
        raise ApiProblem(503, "the API is shutting down", kind="unavailable")
    try:
        cursor = decode_cursor(cursor_text) if cursor_text else None
        with hub.slot():
            async with EventTail.open(context(request).settings.kafka, cursor) as tail:
                return await _serve(request, ws if upgrade else None, tail, stream, hub)
    except StreamsFull:
        raise ApiProblem(
            503, "too many streams are open; retry later", kind="unavailable"
        ) from None
    except CursorExpired as error:
        raise ApiProblem(410, f"the cursor expired: {error}", kind="cursor-expired") from None
    except CursorError as error:
        raise ApiProblem(400, f"invalid cursor: {error}", kind="invalid-cursor") from None
    except (KafkaError, LookupError) as error:
        log.warning("event_stream_unavailable", error=str(error)[:300])
        raise ApiProblem(
            503, "the event log is unreachable; retry later", kind="unavailable"
        ) from None


def _filter_of(request: web.Request) -> StreamFilter:
    names = ("app_id", "addon_id", "type")
    try:
        return parse_filter(
            request.match_info["owner"], {name: request.query.getall(name, []) for name in names}
        )
    except FilterError as error:
        raise invalid(error.errors) from None


async def _serve(
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
        response = _sse_response()
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
        outcome, told = await _run(sink, tail, stream, context(request).settings, hub)
    log.info("event_stream_closed", owner_id=stream.owner_id, transport=transport, outcome=outcome)
    if not told and outcome != "left" and request.transport is not None:
        request.transport.abort()  # a client that cannot be told: its buffers are full
    return response


def _sse_response() -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": EVENT_STREAM,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # nginx: do not buffer the stream
        }
    )
    response.force_close()  # the connection ends with the stream
    return response


async def _authorize(request: web.Request, caller: Principal, stream: StreamFilter) -> StreamFilter:
    """The filter narrowed to what `caller` may see. Raises ApiProblem 404 for anything else."""
    owner = stream.owner_id
    if caller.may_see_owner(owner):
        return stream
    if caller.scope is TokenScope.APP and caller.scope_id is not None:
        app_id = caller.scope_id
        app_owner = await context(request).pool.fetchval(
            "SELECT owner_id FROM apps WHERE id = $1", app_id
        )
        if app_owner == owner and stream.app_ids <= {app_id}:
            return StreamFilter(owner, frozenset({app_id}), stream.addon_ids, stream.types)
    raise not_found(f"owner {owner}")


async def _close_streams(app: web.Application) -> None:
    app[STREAMS].closing.set()


def prepare(app: web.Application, settings: ApiSettings) -> None:
    """The hub of the app's streams, closed when the app shuts down."""
    app[STREAMS] = StreamHub(settings.stream_max_connections)
    app.on_shutdown.append(_close_streams)


STREAM_NOTE = (
    "One route, two transports: a WebSocket upgrade gets a WebSocket (text frames"
    ' `{"cursor": …, "event": <envelope>}` and `{"cursor": …, "heartbeat": …}`), `Accept:'
    " text/event-stream` gets Server-Sent Events (`id:` the cursor, `data:` the envelope,"
    " `: heartbeat` comments). The envelope is `notify.events`' bytes, as a `raw` webhook gets"
    " them. Resume with the last cursor (`Last-Event-ID` or `cursor`): nothing within retention"
    " is lost. A client that falls behind is dropped (`event: dropped`; WS close 1008)."
    ' An app token streams only its app. See docs/faces.md, "Live event stream".'
)
STREAM_PARAMS = (
    Param("app_id", "query", "Only this app's events (repeatable)", {"type": "string"}),
    Param("addon_id", "query", "Only this add-on's events (repeatable)", {"type": "string"}),
    Param(
        "type",
        "query",
        "Only events answering to this type, alias or group id (repeatable)",
        {"type": "string"},
        example="deployments",
    ),
    Param(
        "cursor", "query", "Resume after the message that carried this cursor", {"type": "string"}
    ),
    Param(
        "Last-Event-ID",
        "header",
        "SSE: resume after this cursor (wins over `cursor`)",
        {"type": "string"},
    ),
)
ROUTES = (
    Route(
        "GET",
        "/v1/owners/{owner}/events/stream",
        "Follow an owner's events live (WebSocket or Server-Sent Events)",
        "events",
        {
            101: Answer("Switching to the WebSocket protocol"),
            200: Answer("The Server-Sent Events stream", None, "text/event-stream"),
            400: problem_answer("The cursor is malformed"),
            406: problem_answer("Neither a WebSocket upgrade nor `Accept: text/event-stream`"),
            410: problem_answer(
                "The cursor names events that retention deleted: reconnect without"
            ),
            422: problem_answer("An unknown event type, or bad filter values", w.ValidationProblem),
            503: problem_answer("Too many streams are open, or the event log is unreachable"),
        },
        params=STREAM_PARAMS,
        description=STREAM_NOTE,
        handler=stream_events,
    ),
)
