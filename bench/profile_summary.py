"""Summarise a py-spy profile in collapsed-stack form (`py-spy record --format raw`).

    uv run python bench/profile_summary.py var/profiles/router.raw --under herald_router

Only the samples whose stack passes through a frame of `--under` (a path fragment) count, so
the raw baseline that shares the benchmark's process stays out of the router's figures. Prints
the top functions by self time and by inclusive time, as shares of those samples.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

FRAME = re.compile(r"(?P<function>.*) \((?P<file>.*?):\d+\)$")


def frame_name(frame: str) -> str:
    """`function (package/module.py)` for a py-spy frame `function (path:line)`. Pure."""
    match = FRAME.match(frame)
    if match is None:
        return frame
    path = match["file"].split("site-packages/")[-1].split("/src/")[-1]
    return f"{match['function']} ({path})"


def summarise(lines: Iterable[str], under: str) -> tuple[int, Counter[str], Counter[str]]:
    """(samples counted, self time by function, inclusive time by function). Pure."""
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any(under in frame for frame in frames):
            continue
        n = int(count)
        total += n
        own[frame_name(frames[-1])] += n
        for name in {frame_name(frame) for frame in frames}:
            inclusive[name] += n
    return total, own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy --format raw output")
    parser.add_argument("--under", required=True, help="count only stacks through this path")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    args = parser.parse_args()
    total, own, inclusive = summarise(args.profile.read_text().splitlines(), args.under)
    if not total:
        raise SystemExit(f"no sample passes through {args.under!r} in {args.profile}")
    print(f"{total} samples through {args.under}")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"--- {title}")
        for name, n in counter.most_common(args.top):
            print(f"{100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
