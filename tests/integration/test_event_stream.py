"""The live event stream on the real API and Kafka: SSE and WebSocket clients, filters, resume,
heartbeats, slow clients, auth and bad cursors.

The stream runs on an API of its own (heartbeats, queue and patience scaled down), beside the
session's `api`, whose database it shares (tokens, apps). Events go straight to `notify.events`;
a test that needs an order across events gives them one Kafka key (one partition).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from herald_api.app import ApiService
from herald_api.http.access import issue_stream_token
from herald_api.http.auth import Principal, TokenScope, create_token, find_principal, revoke_token
from herald_api.settings import ApiSettings
from herald_api.stream.stream_cursor import encode_cursor
from herald_api.stream.stream_hub import STREAMS
from herald_core.envelope import Event
from herald_core.settings import HttpSettings, LogSettings
from herald_core.topics import EVENTS
from herald_testing.polling import eventually
from herald_testing.scrape import sample_value
from pydantic import SecretStr

from support.api import ADMIN_TOKEN

pytestmark = pytest.mark.integration

HEARTBEAT_S = 0.5
QUEUE = 8
PATIENCE_S = 2.0


@pytest.fixture(scope="module")
async def streams(api: Any, kafka_settings: Any, postgres_url: str) -> AsyncIterator[Any]:
    settings = ApiSettings(
        database_url=SecretStr(postgres_url),
        kafka=kafka_settings,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        admin_token=SecretStr(ADMIN_TOKEN),
        migrate_on_start=False,  # the session's api migrated the database
        relay_enabled=False,
        directory_consumer_enabled=False,
        stream_heartbeat_s=HEARTBEAT_S,
        stream_queue_size=QUEUE,
        stream_slow_client_s=PATIENCE_S,
    )
    async with ApiService(settings) as service:
        yield service


def url(streams: Any, owner: str, query: str = "") -> str:
    return f"http://127.0.0.1:{streams.port}/v1/owners/{owner}/events/stream{query}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)
SSE = {**ADMIN, "Accept": "text/event-stream"}


async def token_for(api: Any, scope: TokenScope, scope_id: str) -> str:
    async with api.pool.acquire() as connection:
        _, token = await create_token(connection, f"stream {scope_id}", scope, scope_id)
    return token


def event(
    unique: str, n: int, owner: str, app: str | None = None, status: str = "success", **more: Any
) -> Event:
    return Event(
        id=f"ev-{unique}-{n}",
        type=more.pop("type", "app_deployed"),
        created_at=datetime.now(UTC),
        source="stream-test",
        app_id=app,
        app_name=app,
        owner_id=owner,
        type_data={"status": status, **more},
    )


async def produce(producer: Any, *events: Event, key: str | None = None) -> None:
    for e in events:
        await producer.send_and_wait(EVENTS, e.to_json(), key=(key or e.key).encode())


@dataclass
class SseMessage:
    id: str | None = None
    event: str | None = None
    data: bytes | None = None
    comments: list[str] = field(default_factory=list)


class SseClient:
    """Reads one SSE response message by message."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.last_id: str | None = None

    async def message(self, timeout_s: float = 20) -> SseMessage:
        found = SseMessage()
        async with asyncio.timeout(timeout_s):
            while True:
                line = await self.response.content.readline()
                if not line:
                    raise EOFError("the stream ended")
                line = line.rstrip(b"\n")
                if not line:
                    if found.id is not None:
                        self.last_id = found.id
                    return found
                name, _, value = line.partition(b":")
                value = value[1:] if value.startswith(b" ") else value
                if name == b"":
                    found.comments.append(value.decode())
                elif name == b"id":
                    found.id = value.decode()
                elif name == b"event":
                    found.event = value.decode()
                elif name == b"data":
                    found.data = value

    async def events(self, count: int, timeout_s: float = 20) -> list[SseMessage]:
        """The next `count` messages with data, skipping heartbeats."""
        got: list[SseMessage] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            message = await self.message(max(0.1, deadline - time.monotonic()))
            if message.data is not None:
                got.append(message)
        return got


async def open_sse(http: Any, target: str, headers: dict[str, str]) -> SseClient:
    response = await http.get(target, headers=headers, timeout=aiohttp.ClientTimeout(total=None))
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    client = SseClient(response)
    opening = await client.message()  # sent once the stream is positioned
    assert opening.id is not None
    return client


async def ws_frames(ws: Any, count: int, timeout_s: float = 20) -> list[tuple[str, bytes]]:
    """The next `count` event frames as (cursor, envelope bytes), skipping heartbeats."""
    got = []
    async with asyncio.timeout(timeout_s):
        while len(got) < count:
            message = await ws.receive()
            assert message.type is aiohttp.WSMsgType.TEXT, message
            frame = json.loads(message.data)
            if "event" in frame:
                prefix = '{"cursor":"' + frame["cursor"] + '","event":'
                assert message.data.startswith(prefix)
                assert message.data.endswith("}")
                got.append((frame["cursor"], message.data[len(prefix) : -1].encode()))
    return got


async def open_ws(http: Any, target: str, headers: dict[str, str] = ADMIN) -> Any:
    ws = await http.ws_connect(target, headers=headers)
    first = json.loads((await ws.receive(timeout=20)).data)  # sent once positioned
    assert set(first) == {"cursor", "heartbeat"}
    return ws


async def test_sse_and_websocket_clients_get_their_owners_events_and_no_one_elses(
    api, streams, http, producer, unique
):
    owner, other = f"owner-{unique}", f"other-{unique}"
    owner_token = await token_for(api, TokenScope.OWNER, owner)
    sse = await open_sse(http, url(streams, owner), {**bearer(owner_token), **SSE})
    ws = await open_ws(http, url(streams, owner))
    mine = [event(unique, 1, owner, f"app-{unique}"), event(unique, 3, owner, f"app-{unique}-b")]
    theirs = event(unique, 2, other, f"app-{unique}")
    await produce(producer, mine[0], theirs, mine[1], key=f"app-{unique}")  # one partition

    sse_got = await sse.events(2)
    ws_got = await ws_frames(ws, 2)
    assert [m.data for m in sse_got] == [e.to_json() for e in mine], "bytes of Event.to_json()"
    assert [body for _, body in ws_got] == [e.to_json() for e in mine]
    assert [m.id for m in sse_got] == [cursor for cursor, _ in ws_got], "the same positions"
    await ws.close()
    sse.response.close()


async def test_filters_by_app_and_by_type_through_aliases(streams, http, producer, unique):
    owner, app, app2 = f"owner-{unique}", f"app-{unique}", f"app-{unique}-2"
    query = f"?app_id={app}&type=DEPLOYMENT_FAIL"
    ws = await open_ws(http, url(streams, owner, query))
    sse = await open_sse(http, url(streams, owner, f"?app_id={app2}&type=deployments"), SSE)
    produced = [
        event(unique, 1, owner, app, "success"),  # not a failure
        event(unique, 2, owner, app2, "build-error"),  # another app (the SSE client's)
        event(unique, 3, owner, app, "build-error"),  # wanted
        event(unique, 4, owner, app, "crashed", type="app_crashed"),  # another type
        event(unique, 5, owner, app, "timeout-error"),  # wanted
    ]
    await produce(producer, *produced, key=app)
    got = await ws_frames(ws, 2)
    assert [body for _, body in got] == [produced[2].to_json(), produced[4].to_json()]
    assert [m.data for m in await sse.events(1)] == [produced[1].to_json()]
    await ws.close()
    sse.response.close()


async def test_a_websocket_client_resuming_with_its_last_cursor_misses_nothing(
    streams, http, producer, unique
):
    owner = f"owner-{unique}"
    apps = [f"app-{unique}-{i}" for i in range(6)]  # several keys: several partitions
    ws = await open_ws(http, url(streams, owner))
    before = [event(unique, i, owner, apps[i]) for i in range(3)]
    await produce(producer, *before)
    seen = await ws_frames(ws, 3)
    assert {body for _, body in seen} == {e.to_json() for e in before}
    await ws.close()

    during = [event(unique, 10 + i, owner, apps[i]) for i in range(6)]  # while disconnected
    await produce(producer, *during)
    last_cursor = seen[-1][0]
    ws = await open_ws(http, url(streams, owner, f"?cursor={last_cursor}"))
    resumed = await ws_frames(ws, 6)
    assert sorted(body for _, body in resumed) == sorted(e.to_json() for e in during)
    after = event(unique, 99, owner, apps[0])
    await produce(producer, after)
    assert [body for _, body in await ws_frames(ws, 1)] == [after.to_json()], "no repeats"
    await ws.close()


async def test_an_sse_client_resumes_with_last_event_id(streams, http, producer, unique):
    owner, app = f"owner-{unique}", f"app-{unique}"
    sse = await open_sse(http, url(streams, owner), SSE)
    first = [event(unique, i, owner, app) for i in range(2)]
    await produce(producer, *first)
    assert [m.data for m in await sse.events(2)] == [e.to_json() for e in first]
    sse.response.close()
    missed = [event(unique, 10 + i, owner, app) for i in range(3)]
    await produce(producer, *missed)

    assert sse.last_id is not None
    wrong_cursor = encode_cursor({})  # the header wins over the query parameter
    again = await open_sse(
        http, url(streams, owner, f"?cursor={wrong_cursor}"), {**SSE, "Last-Event-ID": sse.last_id}
    )
    assert [m.data for m in await again.events(3)] == [e.to_json() for e in missed]
    again.response.close()


async def test_idle_streams_get_heartbeats_and_free_their_slot_when_the_client_leaves(
    streams, http, unique
):
    owner = f"owner-{unique}"
    hub = streams._runner.app[STREAMS]
    sse = await open_sse(http, url(streams, owner), SSE)
    ws = await open_ws(http, url(streams, owner))
    for _ in range(2):
        message = await sse.message(timeout_s=HEARTBEAT_S * 6)
        assert message.comments == ["heartbeat"]
        assert message.data is None
        frame = json.loads((await ws.receive(timeout=HEARTBEAT_S * 6)).data)
        assert set(frame) == {"cursor", "heartbeat"}
    assert hub.open >= 2
    assert await streams_open(http, streams) >= 2
    await ws.close()
    sse.response.close()
    await eventually(lambda: hub.open == 0, what="both streams closed", timeout_s=10)
    assert await streams_open(http, streams) == 0


async def streams_open(http: Any, service: Any) -> float | None:
    """`herald_api_streams_open` as the API's /metrics says it."""
    async with http.get(f"http://127.0.0.1:{service.port}/metrics") as response:
        return sample_value(await response.text(), "herald_api_streams_open")


async def test_a_slow_client_is_dropped_and_never_slows_another(streams, http, producer, unique):
    owner, app = f"owner-{unique}", f"app-{unique}"
    hub = streams._runner.app[STREAMS]
    dropped_before = hub.dropped
    fast = await open_ws(http, url(streams, owner))
    slow = await slow_sse_client(streams.port, f"/v1/owners/{owner}/events/stream")
    try:
        # ~6 MB: more than the kernel's and the transport's buffers hold for a client that
        # does not read (about 3 MB here)
        big = [event(unique, i, owner, app, pad="x" * 64_000) for i in range(100)]
        await produce(producer, *big)
        got = await ws_frames(fast, len(big), timeout_s=90)
        assert [body for _, body in got] == [e.to_json() for e in big], "the other got all"
        await eventually(lambda: hub.dropped > dropped_before, what="slow client dropped")
        # The slow client's connection is closed: reading what is left ends, short of all.
        received = await read_to_the_end(slow)
        assert received.count(b"\ndata: ") < len(big)
    finally:
        slow.close()
        await fast.close()


async def read_to_the_end(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    async with asyncio.timeout(20):
        while True:
            try:
                chunk = await loop.sock_recv(sock, 1 << 16)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


async def slow_sse_client(port: int, path: str) -> socket.socket:
    """A client that asks for a stream, reads its opening, and then never reads again."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    opening = b""
    async with asyncio.timeout(20):
        while b"heartbeat" not in opening:
            opening += await loop.sock_recv(sock, 4096)
    assert opening.startswith(b"HTTP/1.1 200")
    return sock


async def test_who_may_stream(api, streams, http, unique):
    owner, app = f"owner-{unique}", f"app-{unique}"
    status, _ = await get(http, url(streams, owner), {"Accept": "text/event-stream"})
    assert status == 401
    other_token = await token_for(api, TokenScope.OWNER, f"other-{unique}")
    status, body = await get(http, url(streams, owner), {**SSE, **bearer(other_token)})
    assert status == 404
    assert body["status"] == 404

    admin = f"http://127.0.0.1:{api.port}"
    async with http.put(
        f"{admin}/v1/apps/{app}", json={"app": {"name": "a", "owner_id": owner}}, headers=ADMIN
    ) as response:
        assert response.status == 201
    app_token = await token_for(api, TokenScope.APP, app)
    headers = {**SSE, **bearer(app_token)}
    status, _ = await get(http, url(streams, owner, f"?app_id={app}-other"), headers)
    assert status == 404, "an app token streams only its app"
    status, _ = await get(http, url(streams, f"other-{unique}"), headers)
    assert status == 404, "an app token streams only its app's owner"
    sse = await open_sse(http, url(streams, owner), headers)
    sse.response.close()


async def test_bad_requests_are_problems(streams, http, unique):
    target = url(streams, f"owner-{unique}")
    for headers, query in (({**SSE, "Last-Event-ID": "not a cursor!"}, ""), (SSE, "?cursor=AAA")):
        status, body = await get(http, target + query, headers)
        assert status == 400
        assert body["type"].endswith("/invalid-cursor")
    status, body = await get(http, target + "?cursor=" + encode_cursor({0: 10**15}), SSE)
    assert status == 410
    assert body["type"].endswith("/cursor-expired")
    status, body = await get(http, target + "?type=no_such_type", SSE)
    assert status == 422
    assert "type" in body["errors"]
    status, body = await get(http, target, ADMIN)
    assert status == 406
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(target + "?cursor=%25%25", headers=ADMIN)
    assert caught.value.status == 400


async def get(http: Any, target: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with http.get(target, headers=headers) as response:
        assert response.headers["Content-Type"].startswith("application/problem+json")
        return response.status, await response.json(content_type=None)


async def test_streams_are_capped_and_closed_cleanly_when_the_api_stops(
    api, kafka_settings, postgres_url, http, unique
):
    settings = ApiSettings(
        database_url=SecretStr(postgres_url),
        kafka=kafka_settings,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        migrate_on_start=False,
        relay_enabled=False,
        directory_consumer_enabled=False,
        stream_max_connections=2,
        stream_heartbeat_s=HEARTBEAT_S,
    )
    owner = f"owner-{unique}"
    service = ApiService(settings)
    await service.__aenter__()
    try:
        ws = await open_ws(http, url(service, owner))
        sse = await open_sse(http, url(service, owner), SSE)
        status, body = await get(http, url(service, owner), SSE)
        assert status == 503, "beyond stream_max_connections"
        assert body["type"].endswith("/unavailable")
    finally:
        started = time.monotonic()
        await service.__aexit__(None, None, None)
    assert time.monotonic() - started < 10, "open streams do not hold the shutdown"
    async with asyncio.timeout(10):
        while (message := await ws.receive()).type is aiohttp.WSMsgType.TEXT:
            pass
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == aiohttp.WSCloseCode.GOING_AWAY
    with pytest.raises(EOFError):
        await read_every_message(sse)
    sse.response.close()
    await ws.close()


async def read_every_message(sse: SseClient) -> None:
    while True:
        await sse.message(timeout_s=10)


# --- stream tokens: browsers' EventSource and WebSocket send no Authorization ------------------


async def stream_token(
    http: Any, streams: Any, owner: str, headers: dict[str, str]
) -> tuple[int, Any]:
    target = f"http://127.0.0.1:{streams.port}/v1/owners/{owner}/events/stream/token"
    async with http.post(target, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def test_a_stream_token_opens_the_stream_from_the_query_string(
    api, streams, http, producer, unique
):
    owner = f"owner-{unique}"
    owner_token = await token_for(api, TokenScope.OWNER, owner)
    status, answer = await stream_token(http, streams, owner, bearer(owner_token))
    assert status == 200, answer
    assert answer["expires_in"] == 300
    expires = datetime.fromisoformat(answer["expires_at"])
    assert 290 <= (expires - datetime.now(UTC)).total_seconds() <= 301
    assert answer["url"].endswith(f"/v1/owners/{owner}/events/stream?token={answer['token']}")

    query = f"?token={answer['token']}"
    sse = await open_sse(http, url(streams, owner, query), {"Accept": "text/event-stream"})
    ws = await open_ws(http, url(streams, owner, query), headers={})
    mine = event(unique, 1, owner, f"app-{unique}")
    await produce(producer, mine)
    assert [m.data for m in await sse.events(1)] == [mine.to_json()]
    assert [body for _, body in await ws_frames(ws, 1)] == [mine.to_json()]
    await ws.close()
    sse.response.close()


async def test_an_app_tokens_stream_token_stays_narrowed_to_its_app(api, streams, http, unique):
    owner, app = f"owner-{unique}", f"app-{unique}"
    admin = f"http://127.0.0.1:{api.port}"
    async with http.put(
        f"{admin}/v1/apps/{app}", json={"app": {"name": "a", "owner_id": owner}}, headers=ADMIN
    ) as response:
        assert response.status == 201
    app_token = await token_for(api, TokenScope.APP, app)
    status, answer = await stream_token(http, streams, owner, bearer(app_token))
    assert status == 200, answer
    query = f"?token={answer['token']}"
    headers = {"Accept": "text/event-stream"}
    status, _ = await get(http, url(streams, owner, f"{query}&app_id={app}-other"), headers)
    assert status == 404, "an app token's stream token streams only its app"
    sse = await open_sse(http, url(streams, owner, f"{query}&app_id={app}"), headers)
    sse.response.close()

    status, body = await stream_token(http, streams, f"other-{unique}", bearer(app_token))
    assert status == 404, "no token for a stream its caller may not open"
    assert body["status"] == 404
    status, _ = await stream_token(http, streams, owner, {})
    assert status == 401


async def test_expired_altered_and_other_streams_tokens_are_refused(api, streams, http, unique):
    owner = f"owner-{unique}"
    owner_token = await token_for(api, TokenScope.OWNER, owner)
    _, answer = await stream_token(http, streams, owner, bearer(owner_token))
    token = answer["token"]
    _, others = await stream_token(http, streams, f"other-{unique}", ADMIN)
    secret = streams.settings.jwt_secret.get_secret_value()
    caller = Principal(await token_id(api, owner_token), "stream", TokenScope.OWNER, owner)
    path = f"/v1/owners/{owner}/events/stream"
    expired = issue_stream_token(caller, path, secret, time.time() - 301)
    header, payload, signature = token.split(".")
    altered = f"{header}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    async with http.post(
        f"http://127.0.0.1:{api.port}/v1/tokens/exchange", headers=bearer(owner_token), json={}
    ) as response:
        exchanged = (await response.json())["token"]

    accept = {"Accept": "text/event-stream"}
    refusals = {
        "the stream token expired: ask for a new one": expired,
        "the stream token is not valid": altered,
        "the stream token was issued for another stream": others["token"],
    }
    for detail, bad in refusals.items():
        status, body = await get(http, url(streams, owner, f"?token={bad}"), accept)
        assert (status, body["detail"]) == (401, detail)
    status, body = await get(http, url(streams, owner, f"?token={exchanged}"), accept)
    assert (status, body["detail"]) == (401, "the stream token is not valid"), "no exchange JWT"
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await http.ws_connect(url(streams, owner, f"?token={altered}"))
    assert caught.value.status == 401

    status, _ = await get(http, url(streams, owner), {**accept, **bearer(token)})
    assert status == 401, "a stream token is no bearer token"
    target = f"http://127.0.0.1:{streams.port}/v1/owners/{owner}/audit-log?token={token}"
    async with http.get(target) as response:
        assert response.status == 401, "nor does it open any other route"

    async with api.pool.acquire() as connection:
        await revoke_token(connection, caller.token_id)
    status, body = await get(http, url(streams, owner, f"?token={token}"), accept)
    assert (status, body["detail"]) == (401, "the stream token's API token was revoked")


async def token_id(api: Any, token: str) -> str:
    found = await find_principal(api.pool, token)
    assert found is not None
    return found.token_id
