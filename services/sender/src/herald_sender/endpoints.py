"""Per-endpoint limits for HTTP channels: a request rate and a number of requests in flight.

Two levels, both in memory and per process:

    endpoint (URL)   every notifier posting to one URL shares its limits: what Slack, Discord
                     and Teams limit (per webhook), so one customer's webhook cannot use up
                     another's budget on the same service (`hooks.slack.com`)
    host             every URL on one host shares a second, higher cap: a self-hosted receiver
                     with thousands of notifiers' URLs is not flooded either

Each level has

    an `aiolimiter.AsyncLimiter`   `rate_per_s` requests per second, bursts of as many (leaky
                                   bucket); below 1/s, one request every 1/rate seconds; none
                                   when the rate is 0
    an `asyncio.Semaphore`         at most `concurrency` requests in flight

and a request takes, in this order, its URL's place in flight, its URL's rate, its host's place
in flight, its host's rate, all *before* its timeouts start (aiohttp counts the wait for a
pooled connection against the connect timeout, which would turn a queue into false timeouts).
A request waiting for its URL's rate holds no place at its host.

A consumer loop can take a delivery's place at its endpoint *before* it takes one of its own
`concurrency` slots (`PipelinedConsumerLoop(admit=...)`, the senders' `admission`), so that
deliveries queued for one busy endpoint do not hold slots that other endpoints' deliveries could
use. The place is then held in a context variable for the task, and the sender's own `slot` for
the same URL inside it is a no-op: one place per request, never two. (A task created inside a
slot inherits that variable; nothing in the sender sends from such a task.)

The limits live in dicts bounded to `max_endpoints` URLs and as many hosts, least recently used
first out: a forgotten endpoint starts afresh, so its next burst is allowed at once. That is
the trade for bounded memory with an unbounded set of receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import urlsplit

from aiolimiter import AsyncLimiter

from herald_sender.settings import SenderSettings

DEFAULT_MAX_ENDPOINTS = 10_000

_Held = tuple[int, str]  # (id of the EndpointLimits, URL)
_HELD: ContextVar[_Held | None] = ContextVar("herald_endpoint_held", default=None)


class _Gate:
    """One URL's or one host's limits."""

    __slots__ = ("in_flight", "rate", "users")

    def __init__(self, rate: AsyncLimiter | None, concurrency: int) -> None:
        self.rate = rate
        self.in_flight = asyncio.Semaphore(concurrency)
        self.users = 0  # requests holding or waiting for this gate


class _Slot:
    """One request's place at its URL and host (a class, not an async generator: it is per
    request, and generators cost more)."""

    __slots__ = ("_gates", "_held", "_taken", "_token")

    def __init__(self, url_gate: _Gate, host_gate: _Gate, held: _Held) -> None:
        self._gates = (url_gate, host_gate)
        self._held = held
        self._taken: list[_Gate] = []
        self._token: Token[_Held | None] | None = None

    async def __aenter__(self) -> None:
        if _HELD.get() == self._held:
            return  # this task holds the endpoint's place already (taken at admission)
        try:
            for gate in self._gates:
                gate.users += 1
                try:
                    await gate.in_flight.acquire()
                except BaseException:
                    gate.users -= 1
                    raise
                self._taken.append(gate)
                if gate.rate is not None:
                    await gate.rate.acquire()
        except BaseException:
            self._release()
            raise
        self._token = _HELD.set(self._held)

    async def __aexit__(self, *exc: object) -> None:
        if self._token is not None:
            _HELD.reset(self._token)
            self._token = None
        self._release()

    def _release(self) -> None:
        for gate in self._taken:
            gate.in_flight.release()
            gate.users -= 1
        self._taken.clear()


def endpoint_of(url: str) -> str:
    """The host key of a URL: its lower-case host, or "" when it has none. Pure."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class EndpointLimits:
    """The rate and concurrency limits of every URL and host, created on first use.

    Args:
        rate_per_s: requests per second per URL; 0 turns the rate limit off.
        concurrency: requests in flight per URL.
        host_rate_per_s: requests per second per host, over all its URLs; 0: off.
        host_concurrency: requests in flight per host, over all its URLs; default: no more
            than the URL's (one level of limits, as if keyed by host alone).
        max_endpoints: URLs (and hosts) remembered; the least recently used idle one goes first.
    """

    def __init__(
        self,
        *,
        rate_per_s: float,
        concurrency: int,
        host_rate_per_s: float = 0,
        host_concurrency: int | None = None,
        max_endpoints: int = DEFAULT_MAX_ENDPOINTS,
    ) -> None:
        host_concurrency = concurrency if host_concurrency is None else host_concurrency
        if min(rate_per_s, host_rate_per_s) < 0 or min(concurrency, host_concurrency) < 1:
            raise ValueError("rate_per_s >= 0 and concurrency >= 1, per URL and per host")
        if max_endpoints < 1:
            raise ValueError("max_endpoints >= 1")
        self._rate_per_s = rate_per_s
        self._concurrency = concurrency
        self._host_rate_per_s = host_rate_per_s
        self._host_concurrency = host_concurrency
        self._max_endpoints = max_endpoints
        self._urls: OrderedDict[str, _Gate] = OrderedDict()
        self._hosts: OrderedDict[str, _Gate] = OrderedDict()

    def __len__(self) -> int:
        """URLs remembered."""
        return len(self._urls)

    def slot(self, url: str) -> _Slot:
        """`async with limits.slot(url)`: wait until a request to `url` may start (its URL's
        and its host's limits), and hold its places until the block ends."""
        url_gate = self._urls.get(url)
        if url_gate is None:
            url_gate = self._gate(self._urls, url, self._rate_per_s, self._concurrency)
        else:
            self._urls.move_to_end(url)
        host = endpoint_of(url)
        host_gate = self._hosts.get(host)
        if host_gate is None:
            host_gate = self._gate(self._hosts, host, self._host_rate_per_s, self._host_concurrency)
        else:
            self._hosts.move_to_end(host)
        return _Slot(url_gate, host_gate, (id(self), url))

    def url_gate(self, url: str) -> _Gate | None:
        """The limits of `url`, if remembered (for tests)."""
        return self._urls.get(url)

    def host_gate(self, host: str) -> _Gate | None:
        """The limits of `host`, if remembered (for tests)."""
        return self._hosts.get(host)

    def _gate(
        self, gates: OrderedDict[str, _Gate], key: str, rate_per_s: float, concurrency: int
    ) -> _Gate:
        gate = _Gate(limiter(rate_per_s), concurrency)
        gates[key] = gate
        _evict(gates, self._max_endpoints)
        return gate


def admission_of(
    limits: EndpointLimits,
    value: bytes | None,
    url_of: Callable[[Mapping[str, Any]], str | None],
) -> AbstractAsyncContextManager[object]:
    """The endpoint place of a delivery record, taken before the consumer's slot.

    Reads only the notifier's `type_data` and the URL `url_of` finds in it (a record that does
    not parse, or a notifier without a URL there, is admitted at once: the shell dead-letters
    the first, the sender's own `slot` limits the second). Inside it, a `slot` for the same URL
    does not wait again.
    """
    try:
        type_data = json.loads(value or b"")["notifier"]["type_data"]
    except (ValueError, KeyError, TypeError):
        return contextlib.nullcontext()
    url = url_of(type_data) if isinstance(type_data, dict) else None
    if not url:
        return contextlib.nullcontext()
    return limits.slot(url)


def limits_of(settings: SenderSettings) -> EndpointLimits:
    """The limits the settings ask for (`endpoint_*` per URL, `host_*` per host)."""
    return EndpointLimits(
        rate_per_s=settings.endpoint_rate_per_s,
        concurrency=settings.endpoint_concurrency,
        host_rate_per_s=settings.host_rate_per_s,
        host_concurrency=settings.host_concurrency,
    )


def limiter(rate_per_s: float) -> AsyncLimiter | None:
    """A leaky bucket for `rate_per_s` (bursts of as many; below 1/s one request every
    1/rate seconds), or None for 0."""
    if rate_per_s == 0:
        return None
    if rate_per_s >= 1:
        return AsyncLimiter(rate_per_s, 1.0)
    return AsyncLimiter(1, 1 / rate_per_s)


def _evict(gates: OrderedDict[str, _Gate], bound: int) -> None:
    # Only idle gates go: forgetting one in use would let a second set of limits admit
    # requests next to the first.
    excess = len(gates) - bound
    if excess <= 0:
        return
    idle: list[str] = []
    for key, gate in gates.items():
        if len(idle) == excess:
            break
        if gate.users == 0:
            idle.append(key)
    for key in idle:
        del gates[key]
