"""`make bench-ingest`: ingest's `POST /v1/events` against a bare aiohttp handler, requests/s.

One throwaway Kafka 4 broker (`herald_testing.infra.LocalInfra`), and two servers, each its own
process, taking turns under the same load:

    herald    `python -m herald_ingest` as deployed (producer token, the platform.events
              consumer running): authenticate, parse and validate the event (catalog, type_data),
              dedup, build the record (CloudEvents headers, traceparent), produce with acks=all,
              answer 202 once acknowledged.
    baseline  an aiohttp handler that reads the body, `json.loads` it, and produces the same
              record (the body as the value, keyed by app id, the same ce_* headers) with
              Herald's idempotent producer (acks=all, linger 5 ms), answering 202 once
              acknowledged.

The load is `bench/loadgen.py` in its own process: 64 keep-alive connections, one single-event
request outstanding on each (closed loop), for a few seconds per sample; every event has a
distinct id. Samples go in pairs, H B then B H; the ratio is the median of the per-pair ratios.
Each server's CPU time per answered request (user + system, from /proc) is reported beside:
on a shared machine it moves less than the rates do (not measured under `--profile`).
Targets: ≥ 3 000 requests/s and ≥ 0.7x the baseline (floor 1 500/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

from harness import Figure, compare_async, progress, table, wait_ready, write_figures
from herald_core.settings import KafkaSettings
from herald_devstack.processes import free_port
from herald_kafka.topics import apply_file
from herald_testing.infra import LocalInfra

TARGET_RPS, TARGET_RATIO, FLOOR_RPS = 3000.0, 0.7, 1500.0
TOKEN = "bench-ingest-token-0123456789abcdef"
BENCH = Path(__file__).resolve().parent

BARE = textwrap.dedent(
    r"""
    import asyncio, json, sys
    from aiohttp import web
    from herald_core.settings import KafkaSettings
    from herald_kafka.connection import start_client
    from herald_kafka.producer import idempotent_producer

    bootstrap, port = sys.argv[1], int(sys.argv[2])

    async def main():
        producer = idempotent_producer(KafkaSettings(bootstrap_servers=bootstrap))
        await start_client(producer, KafkaSettings(bootstrap_servers=bootstrap))

        async def post(request):
            body = await request.read()
            event = json.loads(body)
            headers = [
                ("ce_specversion", b"1.0"),
                ("ce_id", event["id"].encode()),
                ("ce_type", event["type"].encode()),
                ("ce_source", event["source"].encode()),
                ("ce_time", event["created_at"].encode()),
                ("content-type", b"application/json"),
            ]
            future = await producer.send(
                "notify.events", value=body, key=event["app_id"].encode(), headers=headers
            )
            await future
            return web.json_response({"status": "accepted", "id": event["id"]}, status=202)

        app = web.Application()
        app.router.add_post("/v1/events", post)
        app.router.add_get("/readyz", lambda request: web.Response(text="ok"))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def bodies(count: int, prefix: str) -> list[str]:
    """`count` distinct app_deployed events over 48 apps, as JSON text."""
    return [
        json.dumps(
            {
                "id": f"{prefix}-{i}",
                "type": "app_deployed",
                "created_at": "2026-11-23T10:00:00Z",
                "source": "deployer",
                "app_id": f"app-{i % 48}",
                "owner_id": "acme",
                "type_data": {
                    "deployment_id": f"d{i}",
                    "pusher": "jo",
                    "git_ref": "abc123",
                    "status": "success",
                    "duration": 40,
                },
            }
        )
        for i in range(count)
    ]


def start_ingest(
    bootstrap: str, port: int, log: Path, profile: str | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HERALD_INGEST_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "HERALD_INGEST_HTTP__PORT": str(port),
        "HERALD_INGEST_AUTH__TOKENS": json.dumps([TOKEN]),
        "HERALD_INGEST_LOG__JSON": "true",
    }
    argv = [sys.executable, "-m", "herald_ingest"]
    if profile:  # py-spy (the dev group's) samples the service; stopped with it
        spy = Path(sys.executable).parent / "py-spy"
        argv = [
            str(spy),
            "record",
            "--format",
            "raw",
            "-o",
            profile,
            "--rate",
            "250",
            "--nonblocking",
            "--",
            *argv,
        ]
    return subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def start_bare(bootstrap: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", BARE, bootstrap, str(port)])


def cpu_seconds(pid: int) -> float:
    """The user + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Load:
    """Runs loadgen.py against a port with fresh event ids each sample; with `pids` (port →
    server pid) it adds up each server's CPU time and answered requests."""

    def __init__(
        self, workdir: Path, connections: int, seconds: float, pids: dict[int, int] | None = None
    ) -> None:
        self.workdir, self.connections, self.seconds = workdir, connections, seconds
        self.round = 0
        self.pids = pids or {}
        self.cpu: dict[int, list[float]] = {port: [0.0, 0.0] for port in self.pids}

    def cpu_us_per_request(self, port: int) -> float | None:
        cpu_s, requests = self.cpu.get(port, (0.0, 0.0))
        return cpu_s / requests * 1e6 if requests else None

    async def __call__(self, port: int) -> tuple[int, float]:
        self.round += 1
        path = self.workdir / f"bodies-{self.round}.json"
        # enough distinct ids for the sample at up to 20k requests/s
        path.write_text(json.dumps(bodies(int(20_000 * self.seconds), f"ev{self.round}")))
        pid = self.pids.get(port)
        cpu_before = cpu_seconds(pid) if pid is not None else 0.0
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BENCH / "loadgen.py"),
            "127.0.0.1",
            str(port),
            "/v1/events",
            str(path),
            "--connections",
            str(self.connections),
            "--seconds",
            str(self.seconds),
            "--header",
            f"Authorization:Bearer {TOKEN}",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        if pid is not None:
            self.cpu[port][0] += cpu_seconds(pid) - cpu_before
        path.unlink()
        result = json.loads(out)
        accepted = int(result["statuses"].get("202", 0))
        if accepted != result["requests"]:
            raise RuntimeError(f"not every request was accepted: {result['statuses']}")
        if pid is not None:
            self.cpu[port][1] += accepted
        return accepted, float(result["seconds"])


async def measure(bootstrap: str, args: argparse.Namespace, workdir: Path) -> Figure:
    herald_port, bare_port = free_port(), free_port()
    procs = [
        start_ingest(bootstrap, herald_port, workdir / "ingest.log", args.profile),
        start_bare(bootstrap, bare_port),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{herald_port}/readyz", procs[0])
        wait_ready(f"http://127.0.0.1:{bare_port}/readyz", procs[1])
        pids = {} if args.profile else {herald_port: procs[0].pid, bare_port: procs[1].pid}
        load = Load(workdir, args.connections, args.seconds, pids)
        progress("warm-up, one short sample each")
        warm = Load(workdir, args.connections, 1.0)
        await warm(herald_port)
        await warm(bare_port)
        progress(f"{args.repeats} samples of {args.seconds:g} s per side")
        samples = await compare_async(
            lambda: load(herald_port), lambda: load(bare_port), repeats=args.repeats
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    cpu = {"herald": load.cpu_us_per_request(herald_port)}
    cpu["baseline"] = load.cpu_us_per_request(bare_port)
    figure = Figure(
        "ingest.http",
        "req/s",
        samples,
        "python -m herald_ingest: token, parse + catalog validation, dedup, record, acks=all, 202",
        "bare aiohttp handler: json.loads, the same record (body, key, ce_* headers), acks=all",
        "",
    )
    return Figure(
        figure.name,
        figure.unit,
        figure.samples,
        figure.herald_label,
        figure.baseline_label,
        f"ingest answers {figure.herald:.0f} single-event requests/s at {figure.ratio:.0%} of the "
        f"bare handler's rate (target ≥ {TARGET_RPS:.0f}/s and ≥ {TARGET_RATIO}x, floor "
        f"{FLOOR_RPS:.0f}/s): {grade(figure)}",
        {"connections": args.connections, "seconds": args.seconds, "cpu_us_per_request": cpu},
    )


def grade(figure: Figure) -> str:
    if figure.herald >= TARGET_RPS and figure.ratio >= TARGET_RATIO:
        return "target met"
    return "floor met" if figure.herald >= FLOOR_RPS else "missed"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=4, help="samples per side")
    parser.add_argument("--seconds", type=float, default=5.0, help="per sample")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="2 samples of 3 s")
    parser.add_argument("--json", help="write the figure here")
    parser.add_argument("--profile", help="record ingest under py-spy into this raw file")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.seconds = 2, 3.0
    return args


def run(args: argparse.Namespace) -> list[Figure]:
    infra = LocalInfra.create()
    try:
        progress("starting a throwaway broker")
        infra.start_kafka()
        progress(f"broker ready in {infra.timings['kafka_ready_s']:.1f}s")
        asyncio.run(apply_file(KafkaSettings(bootstrap_servers=infra.bootstrap_servers)))
        with tempfile.TemporaryDirectory(prefix="herald-bench-ingest-") as tmp:
            return [asyncio.run(measure(infra.bootstrap_servers, args, Path(tmp)))]
    finally:
        infra.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    figures = run(args)
    print(table(figures))
    for figure in figures:
        cpu = figure.extra.get("cpu_us_per_request") or {}
        if cpu.get("herald") and cpu.get("baseline"):
            print(
                f"  cpu per request: herald {cpu['herald']:.0f} µs, baseline"
                f" {cpu['baseline']:.0f} µs ({cpu['herald'] / cpu['baseline']:.2f}x)"
            )
    write_figures(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
