"""Timing, figures and the printed table: what every benchmark shares.

Machines are noisy (two shared cores here), so a benchmark never compares two separate runs:
it times Herald and its baseline on the same input in the same sample, finely interleaved, and
reports per sample the ratio of their throughputs. A figure's ratio is the median of those
per-sample ratios; its Herald and baseline figures are the medians of each side's throughputs.
Only ratios are meant to be compared between machines or runs.
"""

from __future__ import annotations

import gc
import json
import math
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
AsyncPass = Callable[[], Awaitable[tuple[int, float]]]


@dataclass(frozen=True)
class Samples:
    """Per-sample throughputs (items/s) of both sides, sample i of each taken side by side."""

    herald: tuple[float, ...]
    baseline: tuple[float, ...]

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(h / b for h, b in zip(self.herald, self.baseline, strict=True))


@dataclass(frozen=True)
class Figure:
    """One benchmark's outcome: Herald's and the baseline's throughputs, and their ratio."""

    name: str
    unit: str
    samples: Samples
    herald_label: str
    baseline_label: str
    meaning: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def herald(self) -> float:
        """The median of Herald's samples (items/s)."""
        return statistics.median(self.samples.herald)

    @property
    def baseline(self) -> float:
        """The median of the baseline's samples (items/s)."""
        return statistics.median(self.samples.baseline)

    @property
    def ratio(self) -> float:
        """Median of the per-sample Herald/baseline ratios: 1.0 is as fast, 0.5 half as fast."""
        return statistics.median(self.samples.ratios)

    @property
    def spread(self) -> float:
        """(max - min) / median of the per-sample ratios: how far to trust `ratio`."""
        ratios = self.samples.ratios
        return (max(ratios) - min(ratios)) / self.ratio if self.ratio else math.nan

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "herald": self.herald,
            "baseline": self.baseline,
            "ratio": self.ratio,
            "spread": self.spread,
            "herald_label": self.herald_label,
            "baseline_label": self.baseline_label,
            "herald_samples": list(self.samples.herald),
            "baseline_samples": list(self.samples.baseline),
            "ratio_samples": list(self.samples.ratios),
            "meaning": self.meaning,
            **self.extra,
        }


def progress(message: str) -> None:
    """A progress line on stderr, so stdout keeps only the results."""
    print(f"  .. {message}", file=sys.stderr, flush=True)


def compare(
    inputs: Sequence[T],
    herald: Callable[[Sequence[T]], object],
    baseline: Callable[[Sequence[T]], object],
    *,
    repeats: int,
    slice_s: float = 0.002,
    side_time_s: float = 0.2,
) -> Samples:
    """Time `repeats` samples of both sides over `inputs`, after an untimed warm-up walk each.

    A sample alternates the sides in slices of about `slice_s` each (a side's next chunk of
    `inputs`, sized from the warm-up to take that long; Herald's chunks hold fewer items when
    Herald is slower), until each side has run for about `side_time_s`. A slow spell of the
    machine then lands on either side in proportion to its time, and each side spends long
    enough under the clock for the spells to average out.
    """
    sides = (herald, baseline)
    chunks = [_chunks(inputs, side, slice_s) for side in sides]
    rounds = max(1, math.ceil(side_time_s / slice_s))
    runs: tuple[list[float], list[float]] = ([], [])
    cursor = [0, 0]  # each side walks on through `inputs` from one sample to the next
    for _ in range(repeats):
        gc.collect()
        spent, done = [0.0, 0.0], [0, 0]
        for r in range(rounds):
            for side in (0, 1) if r % 2 == 0 else (1, 0):
                part = chunks[side][cursor[side] % len(chunks[side])]
                cursor[side] += 1
                started = time.perf_counter()
                sides[side](part)
                spent[side] += time.perf_counter() - started
                done[side] += len(part)
        for side in (0, 1):
            runs[side].append(done[side] / spent[side])
    return Samples(tuple(runs[0]), tuple(runs[1]))


def _chunks(
    inputs: Sequence[T], run: Callable[[Sequence[T]], object], slice_s: float
) -> list[Sequence[T]]:
    """`inputs` cut into chunks that `run` handles in about `slice_s`, after a warm-up walk."""
    started = time.perf_counter()
    run(inputs)
    per_item = (time.perf_counter() - started) / len(inputs)
    size = max(1, min(len(inputs), round(slice_s / max(per_item, 1e-9))))
    return [inputs[i : i + size] for i in range(0, len(inputs), size)]


async def compare_async(herald: AsyncPass, baseline: AsyncPass, *, repeats: int) -> Samples:
    """`compare` for coroutines that time themselves and return (items, seconds).

    Samples go in pairs, H B then B H, …; there is no warm-up here (the caller knows what
    warming up a service means).
    """
    runs: tuple[list[float], list[float]] = ([], [])
    sides = (herald, baseline)
    for r in range(repeats):
        for side in (0, 1) if r % 2 == 0 else (1, 0):
            gc.collect()
            items, elapsed = await sides[side]()
            runs[side].append(items / elapsed)
    return Samples(tuple(runs[0]), tuple(runs[1]))


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """The resident set size now, from /proc (0.0 where there is no /proc)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * resource.getpagesize() / (1024 * 1024)


def human(value: float) -> str:
    """3 significant figures with a k/M suffix: 41234.5 → '41.2k'."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    """The results, one row per figure and its meaning underneath."""
    header = f"{'benchmark':<20} {'herald':>13} {'baseline':>13} {'ratio':>7} {'spread':>7}"
    lines = [header, "-" * len(header)]
    for f in figures:
        lines.append(
            f"{f.name:<20} {human(f.herald) + ' ' + f.unit:>13} "
            f"{human(f.baseline) + ' ' + f.unit:>13} {f.ratio:>7.3g} {f.spread:>6.0%}"
        )
        lines.append(f"  herald:   {f.herald_label}")
        lines.append(f"  baseline: {f.baseline_label}")
        lines.append(f"  meaning:  {f.meaning}")
    return "\n".join(lines)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM `proc`, then SIGKILL it if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def write_figures(path: str | None, figures: list[Figure]) -> None:
    """Every figure as JSON into `path`, when one was given (`--json`)."""
    if path:
        with open(path, "w") as out:
            json.dump([f.as_json() for f in figures], out)


def service_env(items: list[str]) -> dict[str, dict[str, str]]:
    """`--env SERVICE:NAME=VALUE` arguments as service → {name: value}."""
    env: dict[str, dict[str, str]] = {}
    for item in items:
        service, _, assignment = item.partition(":")
        name, _, value = assignment.partition("=")
        env.setdefault(service, {})[name] = value
    return env


def wait_ready(url: str, proc: subprocess.Popen[Any], timeout_s: float = 60) -> None:
    """Poll `url` until it answers 200; fail when `proc` exits or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} was not ready in {timeout_s} s")
