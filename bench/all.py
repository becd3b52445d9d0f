"""`make bench`: every benchmark, one after the other, each against its baseline; then one
summary, a JSON file and PNG plots.

    uv run python bench/all.py                  # everything (about 30 to 45 min on 2 cores)
    uv run python bench/all.py --quick          # each in its quick form (about 10 to 15 min)
    uv run python bench/all.py --only e2e ingest
    uv run python bench/all.py --out var/bench/latest --plots docs/plots

Each benchmark runs as its own process (`bench/<name>.py`, which starts and stops what it
needs), its output kept in `<out>/<name>.log` and its figures in `<out>/<name>.json`. Progress
(which benchmark, how long so far) goes to stderr; the summary to stdout. A benchmark that
fails is reported and the others still run (exit status 1). Plots (matplotlib): router
throughput against fan-out, the config view's catch-up and memory against notifier count, and
the end-to-end latency distribution at each rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ("--quick",)
    json_flag: bool = True
    minutes: str = ""


BENCHES = (
    Bench("micro", "run.py", minutes="2"),
    Bench("router", "router.py", minutes="6-10"),
    Bench(
        "sender",
        "sender.py",
        quick=("--deliveries", "1000", "--mails", "200", "--repeats", "2"),
        minutes="2",
    ),
    Bench("alerter", "alerter.py", json_flag=False, minutes="3-5"),
    Bench("ingest", "ingest.py", minutes="2"),
    Bench("e2e", "e2e.py", minutes="3"),
    Bench("footprint", "footprint.py", quick=(), minutes="1.5"),
    Bench("alertmanager", "alertmanager.py", minutes="4 (+ a cold build)"),
)

TARGETS = {
    "B1 router / raw at fan-out 1": ">= 0.8x (floor 0.6x)",
    "B2 CPU per delivery f100 / f10": "<= 1.1x (floor 1.3x)",
    "B3 view, 1M notifiers": "<= 15 s, <= 500 MiB (floor 30 s, 1 GiB)",
    "B4 e2e at 500/s": "p50 <= 20 ms, p99 <= 100 ms (floor 50, 250 ms)",
    "B5 webhook sender / raw": ">= 0.7x (floor 0.6x)",
    "B7 e-mail / raw": ">= 0.7x (floor 0.5x)",
    "B8 alerter, 10 000 rules": ">= 50 000 points/s and 0.1x (floor 20 000/s)",
    "B9 idle RSS per service": "<= 60 MiB (floor 80 MiB)",
    "B11 ingest HTTP": ">= 3 000 req/s and 0.7x (floor 1 500/s)",
    "B12 stack / Alertmanager": ">= 1.0x (floor 0.5x)",
}


def progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def run_one(bench: Bench, out: Path, quick: bool) -> tuple[int, float]:
    argv = [sys.executable, str(BENCH / bench.script), *bench.args]
    if quick:
        argv += bench.quick
    if bench.json_flag:
        argv += ["--json", str(out / f"{bench.name}.json")]
    started = time.monotonic()
    with (out / f"{bench.name}.log").open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(15)
            if proc.poll() is None:
                progress(f"{bench.name}: {time.monotonic() - started:.0f} s so far")
    return proc.returncode, time.monotonic() - started


def load(out: Path, name: str) -> Any:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def figures_of(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        return list(document.get("figures", []))
    return []


def summary(out: Path) -> list[str]:
    """One line per figure of every JSON in `out`, then the e2e, footprint and view rows."""
    lines = [f"{'benchmark':<28} {'herald':>14} {'baseline':>14} {'ratio':>7} {'spread':>7}"]
    lines.append("-" * len(lines[0]))
    for bench in BENCHES:
        document = load(out, bench.name)
        for f in figures_of(document):
            lines.append(
                f"{bench.name + ':' + f['name']:<28} {human(f['herald']) + ' ' + f['unit']:>14} "
                f"{human(f['baseline']) + ' ' + f['unit']:>14} {f['ratio']:>7.3g} "
                f"{f['spread']:>6.0%}"
            )
        if bench.name == "router" and isinstance(document, dict):
            for view in document.get("views", []):
                lines.append(f"router:view {json.dumps(_view_row(view))}")
        if bench.name == "e2e" and isinstance(document, dict):
            for phase in document.get("phases", []):
                lines.append(
                    f"e2e:{phase['name']:<24} sent {phase['sent_rate']:.0f}/s, received "
                    f"{phase['delivered_rate']:.0f}/s, p50 {ms(phase['p50'])}, p90 "
                    f"{ms(phase['p90'])}, p99 {ms(phase['p99'])}, max {ms(phase['max'])}, "
                    f"missing {phase['missing']}"
                )
        if bench.name == "footprint" and isinstance(document, dict):
            services = document.get("services", {})
            if services:
                worst = max(services.items(), key=lambda kv: kv[1]["rss_mib"])
                lines.append(
                    f"footprint: {len(services)} services, largest {worst[0]} "
                    f"{worst[1]['rss_mib']:.1f} MiB, median "
                    f"{sorted(s['rss_mib'] for s in services.values())[len(services) // 2]:.1f}"
                    f" MiB; bare python + aiohttp + aiokafka {document['floor_mib']:.1f} MiB"
                )
    lines.append("")
    lines.append("targets (docs/benchmarks.md, Targets):")
    lines.extend(f"  {k:<34} {v}" for k, v in TARGETS.items())
    return lines


def _view_row(view: dict[str, Any]) -> dict[str, Any]:
    keys = ("notifiers", "catch_up_s", "rss_before_mib", "rss_ready_mib", "per_notifier_kib")
    return {k: view[k] for k in keys if k in view}


def human(value: float) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def ms(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value * 1000:.0f} ms"


# --- plots ---------------------------------------------------------------------------------
def plots(out: Path, target: Path) -> list[Path]:
    """Draw what the JSON files in `out` allow into `target`; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        path = target / name
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    router = load(out, "router")
    throughput = [f for f in figures_of(router) if "fanout" in f]
    if throughput:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for case, marker in (("one-app", "o"), ("spread", "s")):
            points = sorted(
                (f["fanout"], f["herald"] * f["fanout"], f["baseline"] * f["fanout"])
                for f in throughput
                if f["name"].endswith(case)
            )
            if points:
                xs = [p[0] for p in points]
                ax.plot(xs, [p[1] for p in points], marker=marker, label=f"router, {case}")
                ax.plot(
                    xs,
                    [p[2] for p in points],
                    marker=marker,
                    ls="--",
                    label=f"raw aiokafka, {case}",
                )
        ax.set_xscale("log")
        ax.set_xlabel("fan-out (deliveries per event)")
        ax.set_ylabel("deliveries/s")
        ax.set_title("Router throughput against fan-out")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        save(fig, "router-fanout.png")
    views = router.get("views", []) if isinstance(router, dict) else []
    if views and all("notifiers" in v for v in views):
        fig, ax = plt.subplots(figsize=(6.4, 4))
        xs = [v["notifiers"] for v in views]
        ax.plot(
            xs, [v.get("catch_up_s", math.nan) for v in views], marker="o", label="catch-up (s)"
        )
        ax.set_xscale("log")
        ax.set_xlabel("notifiers in the config view")
        ax.set_ylabel("catch-up, s")
        ax2 = ax.twinx()
        ax2.plot(
            xs,
            [v.get("rss_ready_mib", math.nan) for v in views],
            marker="s",
            color="C1",
            label="RSS at ready (MiB)",
        )
        ax2.set_ylabel("RSS at ready, MiB")
        ax.set_title("Router config view against notifier count")
        fig.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
        save(fig, "view-notifiers.png")
    e2e = load(out, "e2e")
    phases = e2e.get("phases", []) if isinstance(e2e, dict) else []
    if phases:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        for phase in phases:
            lat = sorted(x * 1000 for x in phase.get("latencies", []))
            if lat:
                ys = [(i + 1) / len(lat) for i in range(len(lat))]
                p99 = lat[max(0, math.ceil(0.99 * len(lat)) - 1)]
                ax.plot(lat, ys, label=f"{phase['rate']:.0f} events/s (p99 {p99:.0f} ms)")
        ax.axvline(20, color="grey", ls=":", lw=1)
        ax.axvline(100, color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("latency, ingest request due → webhook received (ms); targets 20 / 100 ms")
        ax.set_ylabel("fraction of events")
        ax.set_title("End-to-end latency on the local stack (open loop)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        save(fig, "e2e-latency.png")
    footprint = load(out, "footprint")
    if isinstance(footprint, dict) and footprint.get("services"):
        services = footprint["services"]
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        names = list(services)
        ax.barh(names, [services[n]["rss_mib"] for n in names])
        ax.axvline(60, color="grey", ls="--", lw=1, label="target 60 MiB")
        ax.axvline(80, color="grey", ls=":", lw=1, label="floor 80 MiB")
        ax.set_xlabel("idle RSS, MiB")
        ax.set_title("Idle resident memory per service")
        ax.legend(fontsize=8)
        save(fig, "idle-rss.png")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's quick form")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES])
    parser.add_argument("--out", type=Path, default=Path("var/bench/latest"))
    parser.add_argument("--plots", type=Path, help="where the PNGs go (default: --out)")
    parser.add_argument("--report", action="store_true", help="no runs: summarise --out again")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    failures = []
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    started = time.monotonic()
    if not args.report:
        for index, bench in enumerate(chosen, 1):
            progress(
                f"[{index}/{len(chosen)}] {bench.name} (bench/{bench.script}, ~{bench.minutes} min)"
            )
            code, elapsed = run_one(bench, args.out, args.quick)
            progress(f"[{index}/{len(chosen)}] {bench.name}: exit {code} after {elapsed:.0f} s")
            if code != 0:
                failures.append(
                    f"{bench.name} (exit {code}; see {args.out / (bench.name + '.log')})"
                )
            if not bench.json_flag:  # its table is in its log
                tail = (args.out / f"{bench.name}.log").read_text().splitlines()[-25:]
                print("\n".join([f"--- {bench.name} (from its log)", *tail]))
    print("\n".join(summary(args.out)))
    written = plots(args.out, args.plots or args.out)
    for path in written:
        print(f"plot: {path}")
    print(f"took {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
