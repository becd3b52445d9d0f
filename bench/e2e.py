"""`make bench-e2e`: ingest → webhook received, on the whole local stack, open loop.

The local stack as `herald-dev up` starts it (Kafka, Postgres, the sinks, every service, each
its own process), on free ports in a temporary home (`herald_devstack.free_stack`), and:

    receiver   a subprocess: one aiohttp server listening on 20 loopback addresses
               (127.0.0.2 … 127.0.0.21, one per app, so that no two apps share an endpoint),
               noting the wall-clock arrival of every event id it is posted
    apps       20 apps, each with one webhook notifier (app_deployed) to its own address and
               path, created through the API (outbox → router's view), checked with a probe
               event per app before the clock starts
    load       single-event `POST /v1/events` (acks=all) at a fixed rate, open loop: event i
               is due at t0 + i / rate and is sent then whatever happened to the ones before
               (no coordinated omission), spread round-robin over the apps

An event's latency is its arrival at the receiver minus the time it was due (not when it
happened to be sent). After each phase the record timestamps of `notify.events` (ingest's
write) and `notify.deliveries.webhook` (the router's write) split each latency into three
hops: due → ingest wrote it, ingest → router wrote the delivery, router → received (the
sender's hop).

Targets at 500 events/s: p50 ≤ 20 ms and p99 ≤ 100 ms (floor 50 ms and 250 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from harness import progress, service_env, stop_process
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel, deliveries_topic
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.processes import free_port
from herald_devstack.stack import SERVICE_NAMES, Stack
from herald_kafka.reader import AssignedReader

TARGET = {"p50": 0.020, "p99": 0.100}
FLOOR = {"p50": 0.050, "p99": 0.250}
APPS = 20
DRAIN_TIMEOUT_S = 60.0
ID = re.compile(rb"e2e-(\w+)-(\d+)")

RECEIVER = textwrap.dedent(
    r"""
    import asyncio, json, re, sys, time
    from aiohttp import web

    port, hosts = int(sys.argv[1]), sys.argv[2].split(",")
    pattern = re.compile(rb"e2e-(\w+)-(\d+)")
    seen = []   # (phase, seq, arrival wall clock, path)

    async def hook(request):
        body = await request.read()
        now = time.time()
        match = pattern.search(body)
        if match:
            seen.append((match.group(1).decode(), int(match.group(2)), now, request.path))
        return web.Response(text="ok")

    async def results(request):
        start = int(request.query.get("from", "0"))
        return web.json_response(seen[start:])

    async def count(request):
        return web.json_response(len(seen))

    async def main():
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", hook)
        app.router.add_get("/results", results)
        app.router.add_get("/count", count)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for host in hosts:
            await web.TCPSite(runner, host, port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


class Receiver:
    """The receiver subprocess: `hosts` on one port; arrivals read back over HTTP."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self.hosts = list(hosts)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER, str(self.port), ",".join(["127.0.0.1", *hosts])],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the receiver did not start")
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}/{path}"

    async def count(self, http: aiohttp.ClientSession) -> int:
        async with http.get(f"{self.base}/count") as response:
            return int(await response.json())

    async def results(self, http: aiohttp.ClientSession, start: int = 0) -> list[list[Any]]:
        async with http.get(f"{self.base}/results", params={"from": str(start)}) as response:
            data: list[list[Any]] = await response.json()
            return data

    def stop(self) -> None:
        stop_process(self.proc)


@contextmanager
def receiver(hosts: Sequence[str]) -> Iterator[Receiver]:
    r = Receiver(hosts)
    try:
        yield r
    finally:
        r.stop()


def deployed(event_id: str, app: str) -> dict[str, Any]:
    """An `app_deployed` event of `app`, ingest's JSON."""
    return {
        "id": event_id,
        "type": "app_deployed",
        "created_at": "2026-11-23T10:00:00Z",
        "source": "deployer",
        "app_id": app,
        "owner_id": "bench-owner",
        "type_data": {
            "deployment_id": event_id,
            "pusher": "bench",
            "git_ref": "abc123",
            "status": "success",
            "duration": 40,
        },
    }


async def add_webhook_apps(
    http: aiohttp.ClientSession, stack: Stack, urls: Sequence[str], *, prefix: str = "e2e-app"
) -> list[str]:
    """One app per url, each with one app_deployed webhook notifier to it, through the API."""
    headers = {"Authorization": f"Bearer {stack.settings.api_admin_token}"}
    apps = []
    for index, url in enumerate(urls):
        app = f"{prefix}-{index:02d}"
        async with http.put(
            f"{stack.api_url}/v1/apps/{app}",
            json={"app": {"name": app, "owner_id": "bench-owner"}},
            headers=headers,
        ) as response:
            if response.status >= 300:
                raise RuntimeError(f"PUT app {app}: {response.status} {await response.text()}")
        notifier = {
            "name": f"bench {index}",
            "platform_id": "webhook",
            "selected_event_ids": ["app_deployed"],
            "type_data": {"webhook_url": url},
        }
        async with http.post(
            f"{stack.api_url}/v1/apps/{app}/notifiers",
            json={"notifier": notifier},
            headers=headers,
        ) as response:
            if response.status >= 300:
                raise RuntimeError(f"POST notifier: {response.status} {await response.text()}")
        apps.append(app)
    return apps


async def post_event(
    http: aiohttp.ClientSession, stack: Stack, event: dict[str, Any] | list[dict[str, Any]]
) -> int:
    async with http.post(
        f"{stack.ingest_url}/v1/events", json=event, headers=stack.ingest_headers
    ) as response:
        await response.read()
        return response.status


async def until_routed(
    http: aiohttp.ClientSession, stack: Stack, rx: Receiver, apps: Sequence[str]
) -> None:
    """Send a probe event per app (again every 2 s) until each app's receiver got one: the
    router's view has every notifier, and every hop has warmed up."""
    pending = set(range(len(apps)))
    deadline = time.monotonic() + 120
    round_ = 0
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"apps {sorted(pending)} never got their probe")
        for index in pending:
            await post_event(http, stack, deployed(f"e2e-probe{round_}-{index}", apps[index]))
        round_ += 1
        await asyncio.sleep(2)
        for phase, seq, *_ in await rx.results(http):
            if phase.startswith("probe"):
                pending.discard(seq)


@dataclass
class Phase:
    """One open-loop run at `rate` events/s for `duration_s`, and what came of it."""

    name: str
    rate: float
    duration_s: float
    due: list[float] = field(default_factory=list)  # wall clock, per seq
    sent: list[float] = field(default_factory=list)  # when the request went out
    statuses: dict[int, int] = field(default_factory=dict)
    arrivals: dict[int, float] = field(default_factory=dict)
    hops: dict[str, list[float]] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return len(self.due)

    def latencies(self) -> list[float]:
        return sorted(self.arrivals[i] - self.due[i] for i in self.arrivals)

    def summary(self) -> dict[str, Any]:
        lat = self.latencies()
        missing = self.events - len(lat)
        span = (max(self.arrivals.values()) - self.due[0]) if self.arrivals else math.nan
        return {
            "name": self.name,
            "rate": self.rate,
            "duration_s": self.duration_s,
            "events": self.events,
            "accepted": self.statuses.get(202, 0),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "received": len(lat),
            "missing": missing,
            "sent_rate": self.events / (self.sent[-1] - self.sent[0]) if len(self.sent) > 1 else 0,
            "delivered_rate": len(lat) / span if span else 0,
            "send_lag_p99": quantile(
                sorted(s - d for s, d in zip(self.sent, self.due, strict=True)), 0.99
            ),
            **{f"p{int(q * 100)}": quantile(lat, q) for q in (0.5, 0.9, 0.99)},
            "max": lat[-1] if lat else math.nan,
            "hops": {
                name: {f"p{int(q * 100)}": quantile(sorted(v), q) for q in (0.5, 0.9, 0.99)}
                for name, v in self.hops.items()
            },
            "latencies": lat,
        }


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile of sorted `values` (nearest rank), NaN when empty."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


async def run_phase(
    http: aiohttp.ClientSession, stack: Stack, rx: Receiver, apps: Sequence[str], phase: Phase
) -> None:
    """Send `phase`'s events open loop, then wait until they arrived (or the drain timeout)."""
    total = int(phase.rate * phase.duration_s)
    phase.sent = [0.0] * total
    in_flight: set[asyncio.Task[None]] = set()

    async def one(seq: int) -> None:
        event = deployed(f"e2e-{phase.name}-{seq}", apps[seq % len(apps)])
        phase.sent[seq] = time.time()
        try:
            status = await post_event(http, stack, event)
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        phase.statuses[status] = phase.statuses.get(status, 0) + 1

    start_count = await rx.count(http)
    t0 = time.time() + 0.2
    phase.due = [t0 + i / phase.rate for i in range(total)]
    for seq, due in enumerate(phase.due):
        delay = due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(seq))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.wait(in_flight)
    accepted = phase.statuses.get(202, 0)
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while await rx.count(http) - start_count < accepted and time.monotonic() < deadline:  # noqa: ASYNC110 - another process counts
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # duplicates, stragglers
    for name, seq, arrival, _path in await rx.results(http, start_count):
        if name == phase.name:
            phase.arrivals.setdefault(seq, arrival)


async def split_hops(kafka: KafkaSettings, phases: Sequence[Phase]) -> None:
    """Each phase's hops from the record timestamps (ms) of notify.events and the webhook
    deliveries: due → ingest wrote, ingest → router wrote, router → received."""
    written: dict[str, dict[str, dict[int, float]]] = {}
    for topic in ("notify.events", deliveries_topic(Channel.WEBHOOK)):
        seen: dict[str, dict[int, float]] = {}
        async with AssignedReader(kafka, [topic], client_id="bench-e2e-hops") as reader:
            async for records in reader.read_until_end():
                for record in records:
                    match = ID.search(record.value or b"")
                    if match:
                        seen.setdefault(match.group(1).decode(), {}).setdefault(
                            int(match.group(2)), record.timestamp / 1000
                        )
        written[topic] = seen
    for phase in phases:
        ingest = written["notify.events"].get(phase.name, {})
        routed = written[deliveries_topic(Channel.WEBHOOK)].get(phase.name, {})
        hops: dict[str, list[float]] = {"ingest": [], "route": [], "send": []}
        for seq, arrival in phase.arrivals.items():
            if seq in ingest and seq in routed:
                hops["ingest"].append(ingest[seq] - phase.due[seq])
                hops["route"].append(routed[seq] - ingest[seq])
                hops["send"].append(arrival - routed[seq])
        phase.hops = hops


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f} ms"


def report(summaries: Sequence[dict[str, Any]]) -> str:
    header = (
        f"{'phase':<10} {'sent/s':>7} {'recv/s':>7} {'p50':>8} {'p90':>8} {'p99':>8} "
        f"{'max':>8} {'missing':>7}"
    )
    lines = [header, "-" * len(header)]
    for s in summaries:
        lines.append(
            f"{s['name']:<10} {s['sent_rate']:>7.0f} {s['delivered_rate']:>7.0f} "
            f"{ms(s['p50']):>8} {ms(s['p90']):>8} {ms(s['p99']):>8} {ms(s['max']):>8} "
            f"{s['missing']:>7}"
        )
        hops = s["hops"]
        if hops:
            lines.append(
                "   hops p50/p99: "
                + ", ".join(f"{name} {ms(h['p50'])}/{ms(h['p99'])}" for name, h in hops.items())
            )
        if set(s["statuses"]) != {"202"}:
            lines.append(f"   statuses: {s['statuses']}")
        if s["send_lag_p99"] > 0.01:
            lines.append(f"   the generator fell behind: send lag p99 {ms(s['send_lag_p99'])}")
    return "\n".join(lines)


def verdict(summary: dict[str, Any]) -> str:
    def grade(key: str) -> str:
        value = summary[key]
        if value <= TARGET[key]:
            return "met"
        return "floor met" if value <= FLOOR[key] else "missed"

    return (
        f"at {summary['rate']:.0f}/s: p50 {ms(summary['p50'])} (target {ms(TARGET['p50'])}: "
        f"{grade('p50')}), p99 {ms(summary['p99'])} (target {ms(TARGET['p99'])}: "
        f"{grade('p99')})"
    )


async def measure(
    stack: Stack, rates: Sequence[float], duration_s: float, warmup_s: float
) -> list[dict[str, Any]]:
    hosts = [f"127.0.0.{2 + i}" for i in range(APPS)]
    connector = aiohttp.TCPConnector(limit=512)
    timeout = aiohttp.ClientTimeout(total=30)
    with receiver(hosts) as rx:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            urls = [rx.url(host, f"hook/{i}") for i, host in enumerate(hosts)]
            apps = await add_webhook_apps(http, stack, urls)
            progress(f"{len(apps)} apps with a webhook notifier each; waiting for the router")
            await until_routed(http, stack, rx, apps)
            phases = []
            if warmup_s > 0:
                progress(f"warm-up at 50/s for {warmup_s:.0f} s")
                await run_phase(http, stack, rx, apps, Phase("warmup", 50, warmup_s))
            for rate in rates:
                phase = Phase(f"r{rate:.0f}", rate, duration_s)
                progress(f"open loop at {rate:.0f} events/s for {duration_s:.0f} s")
                await run_phase(http, stack, rx, apps, phase)
                progress(
                    f"  {len(phase.arrivals)}/{phase.events} received, "
                    f"p50 {ms(quantile(phase.latencies(), 0.5))}"
                )
                phases.append(phase)
    await split_hops(stack.kafka_settings("bench-e2e"), phases)
    return [p.summary() for p in phases]


def run(
    rates: Sequence[float],
    duration_s: float,
    *,
    warmup_s: float = 3.0,
    services: Sequence[str] = SERVICE_NAMES,
    service_env: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    progress(f"starting the local stack ({len(services)} services) on free ports")
    with stack_on_free_ports(
        services, prefix="herald-bench-e2e-", service_env=service_env
    ) as stack:
        return asyncio.run(measure(stack, rates, duration_s, warmup_s))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 500.0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="5 s per rate")
    parser.add_argument(
        "--minimal",
        action="store_true",
        help="only api, ingest, router, sender-webhook (not the whole stack)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="SERVICE:NAME=VALUE",
        help="a setting for one service of the stack (repeatable), to try a change",
    )
    parser.add_argument("--json", help="write the figures (and every latency) here")
    args = parser.parse_args(argv)
    duration = 5.0 if args.quick else args.duration
    services = ("api", "ingest", "router", "sender-webhook") if args.minimal else SERVICE_NAMES
    env = service_env(args.env)
    started = time.monotonic()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    summaries = run(args.rates, duration, warmup_s=args.warmup, services=services, service_env=env)
    print(report(summaries))
    for s in summaries:
        if s["rate"] >= 500:
            print(verdict(s))
    print(
        f"took {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"phases": summaries, "load": os.getloadavg()}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
