"""Supervised background tasks: a service whose loop dies must say so, not idle silently.

Two kinds of task:

- `keep_running(factory, name, stop)`: a loop that must outlive faults (the outbox relay, the
  consumers, the database probe). When it raises, or returns before `stop` is set, it is logged
  (`task_restarting`), counted (`herald_task_restarts_total{task}`) and started again from
  `factory` after a backoff: 0.5 s, doubling to 30 s, back to 0.5 s after a run of a minute.
  A database or a broker that comes back is picked up without restarting the process.
  An error that says retrying cannot help (a true `fatal` attribute, as
  `herald_kafka.connection.KafkaConnectFailed` has for a TLS or SASL failure: a wrong password,
  an untrusted CA) is not retried: the task fails like a task run once.
- `start(coro, name)`: a task run once. Its failure is kept in `failure`, which `/livez`
  reports (500), so that the orchestrator restarts the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter

log = structlog.get_logger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, Any]]

STOP_GRACE_S = 10.0  # how long `join` lets tasks finish their work after the stop event


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting a failed task again."""

    initial_s: float = 0.5
    max_s: float = 30.0
    healthy_s: float = 60.0  # a run at least this long starts the delays over

    def after(self, previous_s: float | None, ran_s: float) -> float:
        """The delay after a run of `ran_s` seconds; `previous_s` is the last delay. Pure."""
        if previous_s is None or ran_s >= self.healthy_s:
            return self.initial_s
        return min(previous_s * 2, self.max_s)


def is_fatal(error: BaseException) -> bool:
    """Whether `error` says that starting again cannot help (its `fatal` attribute). Pure."""
    return getattr(error, "fatal", False) is True


class TaskSupervisor:
    """Starts named tasks, restarts the ones that must keep running, and reports the rest."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        backoff: Backoff = Backoff(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self._backoff = backoff
        self._clock = clock
        self.failure: str | None = None
        self.restarts: dict[str, int] = {}
        self._restarts_total = (
            Counter(
                "herald_task_restarts",
                "Background tasks started again after they failed or ended early",
                ["task"],
                registry=registry,
            )
            if registry is not None
            else None
        )

    def start(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._on_done)
        self._tasks.append(task)
        return task

    def keep_running(
        self, factory: TaskFactory, name: str, stop: asyncio.Event
    ) -> asyncio.Task[Any]:
        """Run `factory()` until `stop` is set, starting it again whenever it fails."""
        return self.start(self._restarting(factory, name, stop), name)

    async def _restarting(self, factory: TaskFactory, name: str, stop: asyncio.Event) -> None:
        delay: float | None = None
        while not stop.is_set():
            started = self._clock()
            try:
                await factory()
                if stop.is_set():
                    return
                error = "ended before the service stopped"
            except Exception as exc:
                if is_fatal(exc):
                    raise  # `_on_done` keeps it as the failure `/livez` reports
                error = f"{type(exc).__name__}: {exc}"
                log.warning("task_failed", task=name, error=error[:500], exc_info=exc)
            delay = self._backoff.after(delay, self._clock() - started)
            self.restarts[name] = self.restarts.get(name, 0) + 1
            if self._restarts_total is not None:
                self._restarts_total.labels(name).inc()
            log.warning("task_restarting", task=name, error=error[:500], in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

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

    async def join(self, grace_s: float = STOP_GRACE_S) -> None:
        """Wait for every task to finish (after the stop event was set); re-raise nothing.

        A task still running after `grace_s` is cancelled and logged (`task_cancelled_at_stop`):
        a loop blocked on a broker that is down (aiokafka's `getmany` waits for a group
        assignment without a timeout, an unacknowledged send waits for its request timeout)
        must not keep the process from stopping. What it had not committed is read again by the
        next consumer of its group; the outbox rows it had not marked sent are published again.
        """
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace_s)
        for task in pending:
            log.warning("task_cancelled_at_stop", task=task.get_name(), grace_s=grace_s)
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
