"""Faults on a link through a fault proxy, as the chaos harness runs them beside the load.

    trial.run(fault=broken_for(proxy, blackholed, after_s=2, for_s=15))

`proxy` is a `FaultProxy` (in front of a receiver, on the test's loop) or a
`ThreadedFaultProxy` (in front of the broker, on a loop of its own): anything with the fault
methods below. The link is healed when the fault ends, even when the test fails in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from chaos.harness import Fault, Trial


class Link(Protocol):
    """The fault methods the breakages use (both proxies have them)."""

    async def latency(self, ms: float, jitter_ms: float = 0.0) -> None: ...

    async def reset(self) -> None: ...

    async def blackhole(self) -> None: ...

    async def refuse(self) -> None: ...

    async def heal(self) -> None: ...


L = TypeVar("L", bound=Link)
Breakage = Callable[[L], Awaitable[None]]


def broken_for(proxy: L, breakage: Breakage[L], *, after_s: float, for_s: float) -> Fault:
    """A fault: `breakage` applied to `proxy` from `after_s` into the load for `for_s`, then
    healed."""

    async def fault(trial: Trial) -> None:
        await asyncio.sleep(after_s)
        try:
            await breakage(proxy)
            await asyncio.sleep(for_s)
        finally:
            await proxy.heal()

    return fault


def slow_link(ms: float, jitter_ms: float = 0.0) -> Breakage[Link]:
    """Every chunk `ms` (± `jitter_ms`) late, each way."""

    async def breakage(proxy: Link) -> None:
        await proxy.latency(ms, jitter_ms)

    return breakage


async def blackholed(proxy: Link) -> None:
    await proxy.blackhole()


async def reset(proxy: Link) -> None:
    await proxy.reset()


async def refused(proxy: Link) -> None:
    await proxy.refuse()


async def cut_then_refused(proxy: Link) -> None:
    """Every open connection reset, then new ones refused: nothing listens any more."""
    await proxy.reset()
    await proxy.refuse()
