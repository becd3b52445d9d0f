"""SafeHttpClient against real sockets on loopback (no Kafka needed)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from herald_core.errors import (
    FailureReason,
    PermanentDeliveryError,
    RetryableDeliveryError,
    UnsafeUrl,
)
from herald_sender.classify import classify_http
from herald_sender.safe_http import SafeHttpClient, SafeResolver

pytestmark = pytest.mark.integration

SECRET = "T0KEN-SECRET"
HUGE_BODY = b"x" * (1024 * 1024)


async def wait_until(predicate: Callable[[], bool], *, within_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the deadline")
        await asyncio.sleep(0.01)


@dataclass
class Seen:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """A real aiohttp server on 127.0.0.1 that records what it receives."""

    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    redirect_to: str = ""

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def record(self, request: web.Request) -> Seen:
        seen = Seen(request.path, await request.read(), dict(request.headers))
        self.requests.append(seen)
        return seen

    async def hook(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(text="ok", headers={"X-Receiver": "yes"})

    async def redirect(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(status=302, headers={"Location": self.redirect_to})

    async def slow(self, request: web.Request) -> web.Response:
        await self.record(request)
        await asyncio.wait_for(self.release.wait(), timeout=30)
        return web.Response(text="late")

    async def huge(self, request: web.Request) -> web.Response:
        await self.record(request)
        return web.Response(body=HUGE_BODY)


@asynccontextmanager
async def serve() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post(f"/hook/{SECRET}", receiver.hook)
    app.router.add_post("/redirect", receiver.redirect)
    app.router.add_post("/slow", receiver.slow)
    app.router.add_post("/huge", receiver.huge)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        receiver.port = runner.addresses[0][1]
        yield receiver
    finally:
        receiver.release.set()  # lets a parked /slow handler finish, so cleanup is quick
        await runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve() as r:
        yield r


@pytest.fixture
async def other_receiver() -> AsyncIterator[Receiver]:
    async with serve() as r:
        yield r


@dataclass
class Listener:
    """A bare TCP listener that counts connections: proof that nothing was even attempted."""

    port: int = 0
    connections: int = 0


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    result = Listener()

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        result.connections += 1
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    result.port = server.sockets[0].getsockname()[1]
    try:
        yield result
    finally:
        server.close()
        await server.wait_closed()


class StubResolver(AbstractResolver):
    """Answers from a table, like a DNS server an attacker controls."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET6 if ":" in ip else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        self.closed = True


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_post_arrives_with_body_and_headers(receiver):
    async with SafeHttpClient(allow_loopback=True) as client:
        result = await client.post(
            receiver.url(f"/hook/{SECRET}"),
            body=b'{"hello": "world"}',
            headers={"Content-Type": "application/json", "webhook-id": "msg_1"},
        )
    assert result.status == 200
    assert result.body == b"ok"
    assert not result.truncated
    assert result.headers["x-receiver"] == "yes"
    assert result.elapsed_s > 0
    [seen] = receiver.requests
    assert seen.body == b'{"hello": "world"}'
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["webhook-id"] == "msg_1"
    assert seen.headers["User-Agent"].startswith("Herald")


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/hook/{secret}",
        "http://[::ffff:127.0.0.1]:{port}/hook/{secret}",
        "http://127.1:{port}/hook/{secret}",
        "http://2130706433:{port}/hook/{secret}",
        "http://0x7f000001:{port}/hook/{secret}",
        "http://0177.0.0.1:{port}/hook/{secret}",
        "http://localhost:{port}/hook/{secret}",
        "http://user:pw@127.0.0.1:{port}/hook/{secret}",
    ],
)
async def test_loopback_is_refused_before_any_connection(listener, template):
    url = template.format(port=listener.port, secret=SECRET)
    async with SafeHttpClient() as client:
        with pytest.raises(PermanentDeliveryError) as info:
            await client.post(url, body=b"{}", headers={})
    assert info.value.reason is FailureReason.UNSAFE_URL
    assert not info.value.retryable
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None
    assert listener.connections == 0


async def test_same_url_is_refused_without_opt_in(receiver):
    url = receiver.url(f"/hook/{SECRET}")
    async with SafeHttpClient(allow_loopback=False) as client:
        with pytest.raises(PermanentDeliveryError, match="loopback"):
            await client.post(url, body=b"{}", headers={})
    assert receiver.requests == []


async def test_resolver_refuses_localhost_without_opt_in():
    resolver = SafeResolver(ThreadedResolver())
    with pytest.raises(UnsafeUrl, match=r"'localhost' resolves to a refused address.*loopback"):
        await resolver.resolve("localhost", 80)
    await resolver.close()

    permissive = SafeResolver(ThreadedResolver(), allow_loopback=True)
    results = await permissive.resolve("localhost", 80)
    await permissive.close()
    assert results
    assert {r["host"] for r in results} <= {"127.0.0.1", "::1"}


async def test_localhost_with_opt_in_goes_through_the_resolver(receiver):
    async with SafeHttpClient(allow_loopback=True, dns_cache_ttl_s=0) as client:
        result = await client.post(
            receiver.url(f"/hook/{SECRET}", "localhost"), body=b"", headers={}
        )
    assert result.status == 200
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.0.0.7"], ["169.254.169.254"], ["93.184.216.34", "127.0.0.1"]],
)
async def test_public_name_resolving_to_internal_address_is_refused(listener, addresses):
    stub = StubResolver({"hooks.example.com": addresses})
    async with SafeHttpClient(resolver=stub) as client:
        with pytest.raises(PermanentDeliveryError) as info:
            await client.post(
                f"http://hooks.example.com:{listener.port}/{SECRET}", body=b"{}", headers={}
            )
    assert info.value.reason is FailureReason.UNSAFE_URL
    assert "hooks.example.com" in info.value.detail
    assert "resolves to a refused address" in info.value.detail
    assert SECRET not in str(info.value)
    assert listener.connections == 0
    assert stub.closed


async def test_client_connects_only_to_the_checked_addresses(receiver):
    stub = StubResolver({"hooks.example.com": ["127.0.0.1"]})
    async with SafeHttpClient(allow_loopback=True, resolver=stub) as client:
        result = await client.post(
            receiver.url(f"/hook/{SECRET}", "hooks.example.com"), body=b"hi", headers={}
        )
    assert result.status == 200
    [seen] = receiver.requests
    assert seen.headers["Host"] == f"hooks.example.com:{receiver.port}"


async def test_redirect_is_not_followed(receiver, other_receiver):
    receiver.redirect_to = other_receiver.url(f"/hook/{SECRET}")
    async with SafeHttpClient(allow_loopback=True) as client:
        result = await client.post(receiver.url("/redirect"), body=b"{}", headers={})
    assert result.status == 302
    assert result.headers["location"] == receiver.redirect_to
    assert len(receiver.requests) == 1
    assert other_receiver.requests == []
    error = classify_http(result.status, result.headers, now=datetime.now(UTC))
    assert isinstance(error, PermanentDeliveryError)
    assert error.reason is FailureReason.REDIRECT


async def test_slow_server_times_out_as_retryable(receiver):
    async with SafeHttpClient(allow_loopback=True, total_timeout_s=0.3) as client:
        with pytest.raises(RetryableDeliveryError) as info:
            await client.post(receiver.url("/slow"), body=b"{}", headers={})
    assert info.value.reason is FailureReason.TIMEOUT
    assert info.value.retryable
    await wait_until(lambda: len(receiver.requests) == 1)


async def test_closed_port_is_a_retryable_connection_error():
    url = f"http://127.0.0.1:{closed_port()}/hook/{SECRET}"
    async with SafeHttpClient(allow_loopback=True) as client:
        with pytest.raises(RetryableDeliveryError) as info:
            await client.post(url, body=b"{}", headers={})
    assert info.value.reason is FailureReason.CONNECTION_ERROR
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None


async def test_huge_body_is_truncated_to_the_cap_and_client_stays_usable(receiver):
    async with SafeHttpClient(allow_loopback=True, max_body_bytes=1024) as client:
        result = await client.post(receiver.url("/huge"), body=b"{}", headers={})
        assert result.status == 200
        assert result.body == HUGE_BODY[:1024]
        assert result.truncated

        again = await client.post(receiver.url(f"/hook/{SECRET}"), body=b"{}", headers={})
    assert again.status == 200
    assert again.body == b"ok"
    assert not again.truncated
    assert len(receiver.requests) == 2


async def test_header_injection_is_refused_before_sending(listener):
    url = f"http://127.0.0.1:{listener.port}/hook"
    async with SafeHttpClient(allow_loopback=True) as client:
        with pytest.raises(PermanentDeliveryError) as info:
            await client.post(url, body=b"", headers={"X-Token": f"{SECRET}\r\nX-Evil: 1"})
    assert info.value.reason is FailureReason.INVALID_PAYLOAD
    assert SECRET not in str(info.value)
    assert listener.connections == 0


async def test_post_outside_the_context_manager_is_an_error():
    client = SafeHttpClient(allow_loopback=True)
    with pytest.raises(RuntimeError, match="async with"):
        await client.post("http://127.0.0.1:1/", body=b"", headers={})
    async with client:
        pass
    with pytest.raises(RuntimeError):
        await client.post("http://127.0.0.1:1/", body=b"", headers={})
