"""`make bench-footprint`: every service's resident memory when idle (B9).

The whole local stack (`herald_devstack.free_stack`, every service of `herald-dev up`) on free
ports in a temporary home. Once every service is ready, the stack idles for a few seconds (no
traffic), then each service process's `VmRSS` is read from /proc, three times a second apart
(the last reading counts; the spread is printed). For reference, the same reading of a bare
`python` that imports only aiohttp's server and aiokafka, the floor any of these services
stands on.

Target: ≤ 60 MiB per service (floor 80 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from harness import progress
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.stack import SERVICE_NAMES, Stack

TARGET_MIB, FLOOR_MIB = 60.0, 80.0
FLOOR_PROGRAM = "import aiohttp.web, aiokafka, time; print('ready', flush=True); time.sleep(60)"


def rss_mib(pid: int) -> float:
    """A process's resident set (VmRSS), MiB; NaN when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def floor_rss() -> float:
    """The RSS of a bare python with aiohttp.web and aiokafka imported."""
    proc = subprocess.Popen([sys.executable, "-c", FLOOR_PROGRAM], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def idle_rss(stack: Stack, *, idle_s: float = 5.0, readings: int = 3) -> dict[str, Any]:
    """Each running service's RSS after `idle_s` of no traffic: the last of `readings` a second
    apart, with their min and max."""
    time.sleep(idle_s)
    pids = {
        name: pid
        for spec in stack.services
        for name in [spec.name]
        if (pid := stack.process(name).pid()) is not None
    }
    seen: dict[str, list[float]] = {name: [] for name in pids}
    for index in range(readings):
        if index:
            time.sleep(1)
        for name, pid in pids.items():
            seen[name].append(rss_mib(pid))
    services = {
        name: {"rss_mib": values[-1], "min": min(values), "max": max(values)}
        for name, values in seen.items()
    }
    return {"services": services, "floor_mib": floor_rss()}


def grade(mib: float) -> str:
    if mib <= TARGET_MIB:
        return "met"
    return "floor met" if mib <= FLOOR_MIB else "missed"


def report(result: dict[str, Any]) -> str:
    lines = [f"{'service':<20} {'idle RSS':>9} {'readings':>15}  target {TARGET_MIB:.0f} MiB"]
    lines.append("-" * len(lines[0]))
    for name, s in result["services"].items():
        lines.append(
            f"{name:<20} {s['rss_mib']:>5.1f} MiB {s['min']:>6.1f}-{s['max']:<6.1f}  "
            f"{grade(s['rss_mib'])}"
        )
    values = [s["rss_mib"] for s in result["services"].values()]
    if values:
        lines.append(
            f"{len(values)} processes, {sum(values):.0f} MiB in all; the largest "
            f"{max(values):.1f} MiB; a bare python with aiohttp.web + aiokafka: "
            f"{result['floor_mib']:.1f} MiB"
        )
    return "\n".join(lines)


def run(services: Sequence[str] = SERVICE_NAMES, idle_s: float = 5.0) -> dict[str, Any]:
    progress(f"starting the local stack ({len(services)} services) on free ports")
    with stack_on_free_ports(services, prefix="herald-bench-rss-") as stack:
        progress(f"idle for {idle_s:g} s, then reading every service's RSS")
        return idle_rss(stack, idle_s=idle_s)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idling first")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs", flush=True)
    result = run(idle_s=args.idle)
    print(report(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
