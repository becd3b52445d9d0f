"""Per-endpoint limits (`herald_sender.endpoints`): the keys, the rates, the caps, the bound."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest
from herald_sender.endpoints import EndpointLimits, endpoint_of, limiter


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Hooks.Example.com/a?token=x", "hooks.example.com"),
        ("https://hooks.example.com:8443/b", "hooks.example.com"),
        ("http://user:pw@127.0.0.1:9/x", "127.0.0.1"),
        ("http://[::1]:8080/", "::1"),
        ("not a url", ""),
        ("http://[::1/", ""),
    ],
)
def test_the_host_key_is_the_lower_case_host(url, key):
    assert endpoint_of(url) == key


async def hit(limits: EndpointLimits, url: str, times: list[float], hold_s: float = 0.0):
    async with limits.slot(url):
        times.append(time.monotonic())
        await asyncio.sleep(hold_s)


async def test_the_rate_holds_requests_to_one_endpoint_back():
    limits = EndpointLimits(rate_per_s=200, concurrency=300)
    times: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(hit(limits, "http://a.example/x", times) for _ in range(210)))
    # A burst of 200, then 10 more at 200/s: at least 0.05 s (lower bound only).
    assert time.monotonic() - started >= 0.04


@pytest.mark.parametrize(
    "urls",
    [
        [f"http://host{i}.example/x" for i in range(20)],
        [f"https://hooks.example.com/services/T{i}/B{i}/secret" for i in range(20)],
    ],
    ids=["hosts", "urls-of-one-host"],
)
async def test_endpoints_do_not_share_a_rate(urls):
    limits = EndpointLimits(rate_per_s=1, concurrency=100, host_rate_per_s=0, host_concurrency=100)
    times: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(hit(limits, url, times) for url in urls))
    assert time.monotonic() - started < 0.5  # one request each, within every burst


async def test_the_urls_of_one_host_share_the_hosts_cap():
    limits = EndpointLimits(rate_per_s=0, concurrency=10, host_concurrency=3)
    in_flight = peak = 0

    async def one(i: int) -> None:
        nonlocal in_flight, peak
        async with limits.slot(f"http://a.example/{i}"):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    await asyncio.gather(*(one(i) for i in range(12)))
    assert peak == 3


async def test_the_urls_of_one_host_share_the_hosts_rate():
    limits = EndpointLimits(rate_per_s=0, concurrency=100, host_rate_per_s=200)
    times: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(hit(limits, f"http://a.example/{i}", times) for i in range(210)))
    # A burst of 200, then 10 more at 200/s: at least 0.05 s (lower bound only).
    assert time.monotonic() - started >= 0.04


def test_the_host_cap_defaults_to_the_urls():
    limits = EndpointLimits(rate_per_s=0, concurrency=4)
    limits.slot("http://a.example/")
    assert limits.host_gate("a.example").in_flight._value == 4


def test_a_rate_below_one_per_second_spaces_requests():
    assert limiter(0.5).time_period == 2  # one request every 2 s
    assert limiter(0) is None


async def test_at_most_concurrency_requests_are_in_flight_per_endpoint():
    limits = EndpointLimits(rate_per_s=0, concurrency=3)
    in_flight = peak = 0

    async def one() -> None:
        nonlocal in_flight, peak
        async with limits.slot("http://a.example/"):
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1

    await asyncio.gather(*(one() for _ in range(12)))
    assert peak == 3


async def test_the_endpoints_remembered_are_bounded_and_idle_ones_go_first():
    limits = EndpointLimits(rate_per_s=10, concurrency=2, max_endpoints=3)
    busy = asyncio.Event()

    async def hold() -> None:
        async with limits.slot("http://busy.example/"):
            await busy.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    for i in range(10):
        async with limits.slot(f"http://h{i}.example/"):
            pass
    assert len(limits) == 3
    assert limits.url_gate("http://busy.example/")  # in use: never forgotten
    assert limits.host_gate("busy.example")
    busy.set()
    await holder


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_per_s": -1, "concurrency": 1},
        {"rate_per_s": 1, "concurrency": 0},
        {"rate_per_s": 1, "concurrency": 1, "host_rate_per_s": -1},
        {"rate_per_s": 1, "concurrency": 1, "host_concurrency": 0},
    ],
)
def test_limits_refuse_nonsense(kwargs):
    with pytest.raises(ValueError, match="rate_per_s >= 0"):
        EndpointLimits(**kwargs)


@pytest.mark.parametrize("concurrency", [1, 2])  # waiting for a place, or for the rate
async def test_a_request_cancelled_while_waiting_gives_its_place_back(concurrency):
    limits = EndpointLimits(rate_per_s=0.5, concurrency=concurrency)
    async with limits.slot("http://a.example/"):  # uses the burst of one
        # Another request: a task of its own context (a task created in here inherits the place).
        request = hit(limits, "http://a.example/", [])
        waiting = asyncio.create_task(request, context=contextvars.Context())
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    for gate in (limits.url_gate("http://a.example/"), limits.host_gate("a.example")):
        assert gate.users == 0
        assert gate.in_flight._value == concurrency


async def test_a_slot_inside_the_same_endpoints_slot_is_the_same_place():
    limits = EndpointLimits(rate_per_s=0, concurrency=1)
    admitted, sending = limits.slot("http://a.example/x"), limits.slot("http://a.example/x")
    async with admitted, asyncio.timeout(1), sending:  # one place, or a deadlock
        assert limits.url_gate("http://a.example/x").users == 1
        assert limits.host_gate("a.example").users == 1
    assert limits.url_gate("http://a.example/x").users == 0


async def test_a_slot_elsewhere_inside_one_is_a_place_of_its_own():
    limits = EndpointLimits(rate_per_s=0, concurrency=1, host_concurrency=2)
    async with limits.slot("http://a.example/x"), limits.slot("http://a.example/y"):
        assert limits.url_gate("http://a.example/y").in_flight.locked()
        assert limits.host_gate("a.example").in_flight.locked()
