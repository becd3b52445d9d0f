"""The live event stream: an owner's events from `notify.events`, as they happen.

    GET /v1/owners/{owner}/events/stream[?app_id=…][&addon_id=…][&type=…][&cursor=…]

One route, two transports, by content negotiation: a WebSocket upgrade request gets a WebSocket,
`Accept: text/event-stream` gets Server-Sent Events; anything else is a 406. The events are the
envelope bytes of `Event.to_json()`, exactly what `notify.events` carries and what a `raw`
webhook receives (Clever Cloud: the raw format "is identical to events sent by the Websocket
API"). Filters: `stream_filter`. Cursors: `stream_cursor`. The open streams: `stream_hub`; the
reader: `stream_tail`; what each transport writes: `stream_sinks`; the session: `stream_session`.

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

Browsers: `EventSource` and `WebSocket` cannot send `Authorization`. A client holding a token
asks `POST …/events/stream/token` for a stream token (five minutes, this owner's stream only,
as the same caller) and opens the stream with `?token=` (`http.access`).

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

import time
from datetime import UTC, datetime

import structlog
from aiohttp import web
from herald_kafka import KafkaError

from herald_api.http import wire_models as w
from herald_api.http.access import STREAM_TOKEN_LIFETIME_S, issue_stream_token
from herald_api.http.auth import Principal, TokenScope
from herald_api.http.context import context, principal
from herald_api.http.declare import Answer, Param, Route, ok_answer, problem_answer
from herald_api.http.web import ApiProblem, invalid, json_response, not_found
from herald_api.settings import ApiSettings
from herald_api.stream.stream_cursor import CursorError, CursorExpired, decode_cursor
from herald_api.stream.stream_filter import FilterError, StreamFilter, parse_filter
from herald_api.stream.stream_hub import STREAMS, StreamHub, StreamsFull
from herald_api.stream.stream_session import serve
from herald_api.stream.stream_sinks import EVENT_STREAM
from herald_api.stream.stream_tail import EventTail

log = structlog.get_logger(__name__)

PATH = "/v1/owners/{owner}/events/stream"


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
                return await serve(request, ws if upgrade else None, tail, stream, hub)
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


async def stream_token(request: web.Request) -> web.Response:
    """A short-lived token that opens this owner's stream as the caller, in a query string."""
    owner = request.match_info["owner"]
    await _authorize(request, principal(request), StreamFilter(owner))
    settings = context(request).settings
    path = PATH.format(owner=owner)
    now = time.time()
    token = issue_stream_token(
        principal(request), path, settings.jwt_secret.get_secret_value(), now
    )
    expires = datetime.fromtimestamp(int(now) + STREAM_TOKEN_LIFETIME_S, UTC)
    return json_response(
        {
            "token": token,
            "expires_at": expires.isoformat(),
            "expires_in": STREAM_TOKEN_LIFETIME_S,
            "url": f"{settings.public_url.rstrip('/')}{path}?token={token}",
        }
    )


def _filter_of(request: web.Request) -> StreamFilter:
    names = ("app_id", "addon_id", "type")
    try:
        return parse_filter(
            request.match_info["owner"], {name: request.query.getall(name, []) for name in names}
        )
    except FilterError as error:
        raise invalid(error.errors) from None


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
STREAM_TOKEN_NOTE = (
    "Browsers' `EventSource` and `WebSocket` cannot send `Authorization`. Ask for a stream"
    " token with the usual bearer token (the server side of your web app holds it), then open"
    " `GET /v1/owners/{owner}/events/stream?token=…` (the answer's `url`). The token is valid"
    f" {STREAM_TOKEN_LIFETIME_S // 60} minutes, opens this owner's stream only, as the same"
    " caller (an app token's stream stays narrowed to its app), and ends when the API token is"
    " revoked. An expired, altered or other owner's token is a 401. Filters and `cursor` are"
    " given to the stream itself. A stream opened in time stays open after the token expires;"
    " reconnecting needs a new token."
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
        # No scope: besides the tokens that may see the owner, an app token of one of the
        # owner's apps may stream it, narrowed to its app (`_authorize`, after the filters).
        query_token=True,
        handler=stream_events,
    ),
    Route(
        "POST",
        "/v1/owners/{owner}/events/stream/token",
        "Get a short-lived token that opens the owner's live stream from a browser",
        "events",
        {200: ok_answer(w.StreamTokenAnswer)},
        description=STREAM_TOKEN_NOTE,
        # No scope, as the stream: whoever may stream the owner gets a token (`_authorize`).
        handler=stream_token,
    ),
)
