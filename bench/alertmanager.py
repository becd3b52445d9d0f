"""`make bench-alertmanager`: the whole local stack against Prometheus Alertmanager (B12).

The same burst through both, on this machine, in one run, to one local receiver:

    herald        the local stack as `herald-dev up` starts it (on free ports in a temporary
                  home); 20 apps, each with one webhook notifier to its own path on the
                  receiver (/hook/0 … /hook/19); N distinct app_deployed events posted to
                  ingest in batches of 100, 8 requests at a time.
    alertmanager  v0.35.0, built by deploy/local/build-alertmanager.sh into the tools folder;
                  one webhook receiver (/am on the same receiver), `group_by: ['...']` (every
                  alert its own group), `group_wait: 0s`; N distinct alerts posted to
                  /api/v2/alerts in batches of 100, 8 requests at a time.

Each side's figure: deliveries/s, N over the time from the burst's first request to the last
webhook's arrival, and the latency of each item from its batch's request to its arrival
(p50, p99). Samples go H A then A H; the ratio (Herald / Alertmanager deliveries/s) is the
median of the per-pair ratios. Target ≥ 1.0x, floor 0.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from e2e import Receiver, add_webhook_apps, deployed, post_event, quantile, receiver, until_routed
from harness import (
    Figure,
    Samples,
    progress,
    service_env,
    stop_process,
    table,
    wait_ready,
    write_figures,
)
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.processes import free_port
from herald_devstack.stack import SERVICE_NAMES, Stack

ROOT = Path(__file__).resolve().parent.parent
TARGET, FLOOR = 1.0, 0.5
APPS = 20
BATCH, PARALLEL = 100, 8
DRAIN_TIMEOUT_S = 180.0

CONFIG = """\
route:
  receiver: bench
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 24h
receivers:
  - name: bench
    webhook_configs:
      - url: {url}
        send_resolved: false
"""


def build_alertmanager() -> Path:
    """The Alertmanager binary, built once into the tools folder (a few minutes cold)."""
    script = ROOT / "deploy" / "local" / "build-alertmanager.sh"
    out = subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


class Alertmanager:
    """An Alertmanager process (no cluster) on a free port, its data in `home`."""

    def __init__(self, binary: Path, home: Path, webhook_url: str) -> None:
        self.port = free_port()
        config = home / "alertmanager.yml"
        config.write_text(CONFIG.format(url=webhook_url))
        self.log = (home / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(binary),
                f"--config.file={config}",
                f"--storage.path={home / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            wait_ready(f"{self.url}/-/ready", self.proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(
                f"alertmanager did not start (see {home / 'alertmanager.log'})"
            ) from exc

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


def alerts(name: str, start: int, count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "labels": {
                "alertname": "BenchAlert",
                "id": f"e2e-{name}-{seq}",
                "app": f"app-{seq % APPS}",
            },
            "annotations": {"summary": "a bench alert"},
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
        }
        for seq in range(start, start + count)
    ]


async def burst(
    http: aiohttp.ClientSession,
    rx: Receiver,
    name: str,
    count: int,
    post: Callable[[int, int], Awaitable[int]],
) -> dict[str, Any]:
    """Post `count` items in batches (`post(start, n)` → HTTP status), PARALLEL at once; wait
    until the receiver got them all; deliveries/s and latencies."""
    before = await rx.count(http)
    posted: dict[int, float] = {}
    limit = asyncio.Semaphore(PARALLEL)

    async def batch(start: int) -> None:
        n = min(BATCH, count - start)
        async with limit:
            at = time.time()
            status = await post(start, n)
            if status >= 300:
                raise RuntimeError(f"{name}: batch at {start} answered {status}")
            for seq in range(start, start + n):
                posted[seq] = at

    started = time.time()
    await asyncio.gather(*(batch(s) for s in range(0, count, BATCH)))
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while await rx.count(http) - before < count and time.monotonic() < deadline:  # noqa: ASYNC110 - another process counts
        await asyncio.sleep(0.1)
    arrivals: dict[int, float] = {}
    for phase, seq, arrival, _path in await rx.results(http, before):
        if phase == name:
            arrivals.setdefault(seq, arrival)
    latencies = sorted(arrivals[s] - posted[s] for s in arrivals)
    last = max(arrivals.values()) if arrivals else time.time()
    return {
        "received": len(arrivals),
        "missing": count - len(arrivals),
        "seconds": last - started,
        "rate": len(arrivals) / (last - started),
        "p50": quantile(latencies, 0.5),
        "p99": quantile(latencies, 0.99),
        "max": latencies[-1] if latencies else float("nan"),
    }


async def measure(stack: Stack, binary: Path, home: Path, args: argparse.Namespace) -> Figure:
    timeout = aiohttp.ClientTimeout(total=60)
    with receiver([]) as rx:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            urls = [rx.url("127.0.0.1", f"hook/{i}") for i in range(APPS)]
            apps = await add_webhook_apps(http, stack, urls, prefix="am-app")
            progress("waiting for the router to route to every notifier")
            await until_routed(http, stack, rx, apps)
            am = Alertmanager(binary, home, rx.url("127.0.0.1", "am"))
            try:

                def herald(name: str) -> Callable[[int, int], Awaitable[int]]:
                    def post(start: int, n: int) -> Awaitable[int]:
                        events = [
                            deployed(f"e2e-{name}-{s}", apps[s % len(apps)])
                            for s in range(start, start + n)
                        ]
                        return post_event(http, stack, events)

                    return post

                def alertmanager(name: str) -> Callable[[int, int], Awaitable[int]]:
                    async def post(start: int, n: int) -> int:
                        async with http.post(
                            f"{am.url}/api/v2/alerts", json=alerts(name, start, n)
                        ) as response:
                            await response.read()
                            return response.status

                    return post

                runs: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
                sides = (herald, alertmanager)
                progress(f"warm-up bursts of {BATCH} each")
                for side in sides:
                    await burst(
                        http,
                        rx,
                        f"warm{side.__name__[:2]}",
                        BATCH,
                        side(f"warm{side.__name__[:2]}"),
                    )
                for r in range(args.repeats):
                    for index in (0, 1) if r % 2 == 0 else (1, 0):
                        name = f"{'h' if index == 0 else 'a'}{r}"
                        progress(f"burst of {args.events} through {sides[index].__name__}")
                        result = await burst(http, rx, name, args.events, sides[index](name))
                        progress(
                            f"  {result['received']} in {result['seconds']:.1f} s "
                            f"({result['rate']:.0f}/s), p50 {result['p50'] * 1000:.0f} ms, "
                            f"p99 {result['p99'] * 1000:.0f} ms"
                        )
                        runs[index].append(result)
            finally:
                am.stop()
    samples = Samples(tuple(x["rate"] for x in runs[0]), tuple(x["rate"] for x in runs[1]))
    figure = Figure(
        "vs.alertmanager",
        "deliveries/s",
        samples,
        f"the whole stack: {args.events} events via ingest (batches of {BATCH}) → 20 webhook "
        "notifiers on one receiver",
        f"Alertmanager v0.35.0: {args.events} alerts via /api/v2/alerts → one webhook "
        "receiver, group_by ['...'], group_wait 0s",
        "",
        {"herald_runs": runs[0], "alertmanager_runs": runs[1], "events": args.events},
    )
    grade = (
        "met" if figure.ratio >= TARGET else ("floor met" if figure.ratio >= FLOOR else "missed")
    )
    return Figure(
        figure.name,
        figure.unit,
        figure.samples,
        figure.herald_label,
        figure.baseline_label,
        f"Herald delivers the burst at {figure.ratio:.2f}x Alertmanager's rate (target ≥ "
        f"{TARGET}x, floor {FLOOR}x: {grade}); p50/p99 latency Herald "
        f"{_ms(runs[0], 'p50')}/{_ms(runs[0], 'p99')}, Alertmanager "
        f"{_ms(runs[1], 'p50')}/{_ms(runs[1], 'p99')}",
        figure.extra,
    )


def _ms(runs: Sequence[dict[str, Any]], key: str) -> str:
    values = sorted(r[key] for r in runs)
    return f"{values[len(values) // 2] * 1000:.0f} ms" if values else "-"


def run(args: argparse.Namespace) -> list[Figure]:
    progress("building (or finding) Alertmanager in the tools folder")
    binary = build_alertmanager()
    progress(f"starting the local stack ({len(SERVICE_NAMES)} services) on free ports")
    with (
        tempfile.TemporaryDirectory(prefix="herald-bench-am-") as tmp,
        stack_on_free_ports(
            SERVICE_NAMES, prefix="herald-bench-am-stack-", service_env=args.service_env
        ) as stack,
    ):
        return [asyncio.run(measure(stack, binary, Path(tmp), args))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2, help="samples per side")
    parser.add_argument("--quick", action="store_true", help="1 sample of 1 000 per side")
    parser.add_argument("--json", help="write the figure here")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="SERVICE:NAME=VALUE",
        help="a setting for one service of the stack (repeatable), e.g. "
        "sender-webhook:HERALD_SENDER_HOST_RATE_PER_S=100000 to lift the per-host politeness "
        "limit that Alertmanager does not have",
    )
    args = parser.parse_args(argv)
    args.service_env = service_env(args.env)
    if args.quick:
        args.events, args.repeats = 1000, 1
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    figures = run(args)
    print(table(figures))
    write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
