"""Per-endpoint limits for HTTP channels: a request rate and a number of requests in flight.

An endpoint is the URL's host (`hooks.slack.com`, `ci.example.com`): every notifier posting to
one host shares its limits, so a thousand notifiers of one receiver cannot flood it even when
the sender runs 64 deliveries at once. Each endpoint has

    an `aiolimiter.AsyncLimiter`   `rate_per_s` requests per second, bursts of as many (leaky
                                   bucket); below 1/s, one request every 1/rate seconds
    an `asyncio.Semaphore`         at most `concurrency` requests in flight

and a request waits for both *before* its timeouts start (aiohttp counts the wait for a pooled
connection against the connect timeout, which would turn a queue into false timeouts).

A consumer loop can take a delivery's place at its endpoint *before* it takes one of its own
`concurrency` slots (`PipelinedConsumerLoop(admit=...)`, `WebhookSender.admission`), so that
deliveries queued for one busy host do not hold slots that other hosts' deliveries could use.
The place is then held in a context variable for the task, and the sender's own `slot` for the
same endpoint inside it is a no-op: one place per request, never two. (A task created inside a
slot inherits that variable; nothing in the sender sends from such a task.)

The limits live in memory, in a dict bounded to `max_endpoints` hosts, least recently used
first out: a forgotten endpoint starts afresh, so its next burst is allowed at once. That is
the trade for bounded memory with an unbounded set of receivers; limits are per process.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextvars import ContextVar, Token
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiolimiter import AsyncLimiter

DEFAULT_MAX_ENDPOINTS = 10_000

_Held = tuple[int, str]  # (id of the EndpointLimits, endpoint key)
_HELD: ContextVar[_Held | None] = ContextVar("herald_endpoint_held", default=None)


@dataclass(slots=True)
class _Endpoint:
    rate: AsyncLimiter | None
    in_flight: asyncio.Semaphore
    users: int = 0  # requests holding or waiting for this endpoint's limits


class _Slot:
    """One request's place at an endpoint (a class, not an async generator: it is per request,
    and generators cost more)."""

    __slots__ = ("_endpoint", "_entered", "_held", "_token")

    def __init__(self, endpoint: _Endpoint, held: _Held) -> None:
        self._endpoint = endpoint
        self._held = held
        self._entered = False
        self._token: Token[_Held | None] | None = None

    async def __aenter__(self) -> None:
        if _HELD.get() == self._held:
            return  # this task holds the endpoint's place already (taken at admission)
        endpoint = self._endpoint
        endpoint.users += 1
        try:
            await endpoint.in_flight.acquire()
        except BaseException:
            endpoint.users -= 1
            raise
        self._entered = True
        try:
            if endpoint.rate is not None:
                await endpoint.rate.acquire()
        except BaseException:
            await self.__aexit__()
            raise
        self._token = _HELD.set(self._held)

    async def __aexit__(self, *exc: object) -> None:
        if self._token is not None:
            _HELD.reset(self._token)
            self._token = None
        if self._entered:
            self._entered = False
            self._endpoint.in_flight.release()
            self._endpoint.users -= 1


def endpoint_of(url: str) -> str:
    """The endpoint key of a URL: its lower-case host, or "" when it has none. Pure."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class EndpointLimits:
    """The rate and concurrency limits of every endpoint, created on first use.

    Args:
        rate_per_s: requests per second per endpoint; 0 turns the rate limit off.
        concurrency: requests in flight per endpoint.
        max_endpoints: endpoints remembered; the least recently used idle one goes first.
    """

    def __init__(
        self,
        *,
        rate_per_s: float,
        concurrency: int,
        max_endpoints: int = DEFAULT_MAX_ENDPOINTS,
    ) -> None:
        if rate_per_s < 0 or concurrency < 1 or max_endpoints < 1:
            raise ValueError("rate_per_s >= 0, concurrency >= 1 and max_endpoints >= 1")
        self._rate_per_s = rate_per_s
        self._concurrency = concurrency
        self._max_endpoints = max_endpoints
        self._endpoints: OrderedDict[str, _Endpoint] = OrderedDict()

    def __len__(self) -> int:
        return len(self._endpoints)

    def slot(self, url: str) -> _Slot:
        """`async with limits.slot(url)`: wait until a request to `url`'s endpoint may start,
        and hold its place until the block ends."""
        key = endpoint_of(url)
        return _Slot(self._endpoint(key), (id(self), key))

    def _endpoint(self, key: str) -> _Endpoint:
        endpoint = self._endpoints.get(key)
        if endpoint is not None:
            self._endpoints.move_to_end(key)
            return endpoint
        endpoint = _Endpoint(self._limiter(), asyncio.Semaphore(self._concurrency))
        self._endpoints[key] = endpoint
        self._evict()
        return endpoint

    def _limiter(self) -> AsyncLimiter | None:
        if self._rate_per_s == 0:
            return None
        if self._rate_per_s >= 1:
            return AsyncLimiter(self._rate_per_s, 1.0)
        return AsyncLimiter(1, 1 / self._rate_per_s)

    def _evict(self) -> None:
        # Only idle endpoints go: forgetting one in use would let a second set of limits
        # admit requests next to the first.
        excess = len(self._endpoints) - self._max_endpoints
        if excess <= 0:
            return
        idle: list[str] = []
        for key, endpoint in self._endpoints.items():
            if len(idle) == excess:
                break
            if endpoint.users == 0:
                idle.append(key)
        for key in idle:
            del self._endpoints[key]
