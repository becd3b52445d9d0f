"""Herald's benchmarks: `make bench`, or `uv run python bench/run.py --help`.

Every benchmark times Herald and a baseline in the same run, on the same input, interleaved, and
prints both median throughputs and the median of the per-sample ratios Herald/baseline. Machines
are noisy and differ: compare ratios, not absolute figures. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import Figure, current_rss_mib, peak_rss_mib, progress, table
from herald_core.logging import configure

Benchmark = Callable[[int, int], list[Figure]]
NAMES = ("intake", "routing", "pipeline")
DEFAULT_EVENTS, QUICK_EVENTS = 5000, 1000
DEFAULT_REPEATS, QUICK_REPEATS = 5, 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=(
            "Run Herald's benchmarks. Each one times Herald and a baseline on the same input in "
            "this run, and prints their median throughputs and the median ratio Herald/baseline "
            "of samples taken side by side (1.00 = as fast as the baseline, 0.50 = half as "
            "fast). Compare ratios between runs and machines, never absolute figures."
        ),
        epilog=(
            "benchmarks: intake (parse_event vs json.loads + envelope), routing (route over 20 "
            "notifiers vs a naive id match; also routing.select and routing.answers_to), "
            "pipeline (the real RouterService on a throwaway Kafka broker vs a bare "
            "consume-produce-commit copy; also pipeline.spread). "
            "Examples: `bench/run.py --quick`, `bench/run.py --only routing --events 20000`, "
            "`bench/run.py --json out.json`."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"fewer events ({QUICK_EVENTS}) and samples ({QUICK_REPEATS}); skips the broker "
        "benchmark (about 5 s instead of 1.5 to 2 min)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=NAMES,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--events",
        type=_positive,
        metavar="N",
        help=f"events per input set (default {DEFAULT_EVENTS}, {QUICK_EVENTS} with --quick): "
        "intake and routing cycle through them, pipeline feeds them as one backlog per sample "
        "(twice as many for pipeline.spread)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive,
        metavar="R",
        help=f"timed samples per side, after the warm-up; the median is reported "
        f"(default {DEFAULT_REPEATS}, {QUICK_REPEATS} with --quick)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="OUT", help="also write every figure and sample to OUT"
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _benchmark(name: str) -> Benchmark:
    """Import lazily: the pure benchmarks must not pay for aiokafka and the services."""
    if name == "pipeline":
        from pipeline import bench_pipeline

        return bench_pipeline
    from micro import bench_intake, bench_routing

    return {"intake": bench_intake, "routing": bench_routing}[name]


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }


def run(
    args: argparse.Namespace,
    figures: list[Figure],
    failures: list[str],
    memory: dict[str, float],
) -> None:
    """Run the selected benchmarks in order, appending to `figures` and `failures` as they end.

    `memory` gets the process's peak RSS (MiB) after each benchmark, under `after_<name>`.
    """
    repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    for name in dict.fromkeys(args.only or NAMES):
        if name == "pipeline" and args.quick:
            print(
                "pipeline: skipped (--quick): it starts a real Kafka broker and takes 1 to 2 "
                "minutes; run without --quick to include it\n",
                flush=True,
            )
            continue
        events = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
        started = time.perf_counter()
        progress(f"{name}: start")
        try:
            figures.extend(_benchmark(name)(events, repeats))
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            progress(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            continue
        memory[f"after_{name}"] = peak_rss_mib()
        progress(
            f"{name}: done in {time.perf_counter() - started:.1f}s, "
            f"peak RSS {memory[f'after_{name}']:.0f} MiB"
        )


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every `finally` stops its broker.

    As a SIGINT when one is handled: inside `asyncio.run` that cancels the main task, a clean
    unwind of a second or two. A KeyboardInterrupt raised here instead lands in whatever
    callback the loop runs, and unwinding from there can wait out a 30 s Kafka request timeout.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # keep the order
    signal.signal(signal.SIGTERM, _on_sigterm)
    configure(json=False, level="warning")
    # While a broker starts, aiokafka logs every refused connection at ERROR; failures that
    # matter surface as exceptions with their own message.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    machine = _machine()
    print(
        f"Herald benchmarks: Python {machine['python']}, {machine['cpus']} CPUs, "
        f"{machine['system']}, load {machine['load_1m']:.2f}"
        f"{' (quick)' if args.quick else ''}; ratio = Herald / baseline throughput, "
        "median of side-by-side samples\n",
        flush=True,
    )
    if machine["load_1m"] > (machine["cpus"] or 1):
        print(
            f"warning: the machine is busy (load {machine['load_1m']:.1f} on {machine['cpus']} "
            "CPUs): other processes take turns with this one, ratios drift and spreads grow; "
            "rerun when it is quieter before comparing\n",
            flush=True,
        )
    memory = {"start": peak_rss_mib()}
    figures: list[Figure] = []
    failures: list[str] = []
    started = time.perf_counter()
    try:
        run(args, figures, failures, memory)
    except KeyboardInterrupt:
        print("\ninterrupted (any broker started was stopped); figures so far:")
        print(table(figures) if figures else "none")
        return 130
    elapsed = time.perf_counter() - started
    if figures:
        print(table(figures))
    peaks = ", ".join(f"{k.replace('_', ' ')} {v:.0f}" for k, v in memory.items())
    print(
        f"\npeak RSS of this process (MiB, getrusage): {peaks}; "
        f"RSS now {current_rss_mib():.0f} MiB. Total {elapsed:.0f}s."
    )
    for failure in failures:
        print(f"FAILED {failure}")
    if args.json is not None:
        document = {
            "machine": machine,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "peak_rss_mib": memory,
            "elapsed_s": elapsed,
            "figures": [f.as_json() for f in figures],
            "failures": failures,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
