"""What the chaos scenarios observe beside the ledger: a process's memory, samples over time,
the attempts of each delivery."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


def attempts_by_delivery(arrivals: Sequence[Any]) -> dict[str | None, list[Any]]:
    """The arrivals of each delivery (by `webhook-id`), oldest first."""
    found: dict[str | None, list[Any]] = {}
    for arrival in sorted(arrivals, key=lambda a: a.at):
        found.setdefault(arrival.webhook_id, []).append(arrival)
    return found


def rss_mib(pid: int) -> float | None:
    """The resident memory of process `pid` (VmRSS of /proc/<pid>/status), or None if gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def sample_every(
    every_s: float, for_s: float, take: Callable[[], Awaitable[Any]]
) -> list[tuple[float, Any]]:
    """`take()` every `every_s` for `for_s`: [(seconds since the start, what it returned)]."""
    started = time.monotonic()
    samples: list[tuple[float, Any]] = []
    while (elapsed := time.monotonic() - started) < for_s:
        samples.append((elapsed, await take()))
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - started - elapsed)))
    return samples
