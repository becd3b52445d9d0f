"""Supervised background tasks: a service whose loop dies must say so, not idle silently."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class TaskSupervisor:
    """Starts named tasks, logs the one that fails, and reports it to `/livez`."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self.failure: str | None = None

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._on_done)
        self._tasks.append(task)
        return task

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.failure = f"{task.get_name()}: {type(error).__name__}: {error}"
            log.error(
                "task_failed",
                task=task.get_name(),
                error_type=type(error).__name__,
                error=str(error),
                exc_info=error,
            )

    @property
    def alive(self) -> bool:
        return self.failure is None

    async def join(self) -> None:
        """Wait for every task to finish (after the stop event was set); re-raise nothing."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
