"""A dependency probe for `/readyz`: is the database, or the broker, answering right now?

`DependencyProbe.run` calls `check` every `every_s` seconds (each call bounded by the same
time); `misses` failures in a row make `ok` false, one success makes it true again. A service
runs it under `TaskSupervisor.keep_running` and reads `ok` in its ready check, so an
orchestrator stops sending traffic while the dependency is down, and sends it again after.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class DependencyProbe:
    def __init__(
        self,
        name: str,
        check: Callable[[], Awaitable[object]],
        *,
        every_s: float = 2.0,
        misses: int = 3,
    ) -> None:
        self.name = name
        self._check = check
        self._every_s = every_s
        self._misses = misses
        self._failures = 0
        self.ok = True  # until probes say otherwise: the service checked it at start-up

    def observe(self, succeeded: bool) -> None:
        """Count one probe's outcome. Pure but for the log line when `ok` flips."""
        self._failures = 0 if succeeded else self._failures + 1
        ok = self._failures < self._misses
        if ok != self.ok:
            log.warning("dependency_reachable" if ok else "dependency_unreachable", name=self.name)
        self.ok = ok

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._check(), self._every_s)
                self.observe(True)
            except Exception:  # refused, reset, shut down, timed out: all "down"
                self.observe(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._every_s)
