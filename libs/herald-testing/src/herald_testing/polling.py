"""Poll until a condition holds, with a deadline: tests never synchronise with bare sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], T | Awaitable[T]],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns something truthy, and return that.

    Raises:
        AssertionError: when `timeout_s` passes first.
    """
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while True:
        value = probe()
        last = await value if isinstance(value, Awaitable) else value
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s}s (last: {last!r})")
        await asyncio.sleep(interval_s)


def until(probe: Callable[[], T], timeout_s: float, what: str, *, interval_s: float = 0.2) -> T:
    """`eventually` for code without an event loop (a test driving processes): call `probe`
    until it returns something truthy, and return that.

    Raises:
        AssertionError: when `timeout_s` passes first.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s}s (last: {last!r})")
        time.sleep(interval_s)
