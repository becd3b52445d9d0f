"""Postgres in the place of the consumer shell's producer: commit after the history is written.

`run_group` hands each batch's outputs to its producer, awaits every acknowledgement, and only
then commits the batch's offsets (herald_kafka.consumer). The recorder's output is the history,
not a topic, so its handler turns each valid result into one output and the service gives the
shell a `HistorySink` as its producer. `send` queues the result and returns the batch's
acknowledgement; awaiting it writes everything queued in one transaction (`HistoryWriter`).
The offsets of a batch are therefore committed only after the transaction that recorded it.

`HistoryWriter` retries a failed write with a doubling pause for as long as it takes: the
partition waits, since history has nowhere else to go. When the service stops meanwhile it
raises `HistoryUnavailable`, which ends the loop with nothing committed. Rows the database
refuses (a data error) are written one by one, and a row refused on its own is logged, counted
as invalid and skipped, so it cannot hold its partition up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from herald_core.deliveries import DeliveryResult

from herald_recorder import store
from herald_recorder.metrics import RecorderMetrics, ResultOutcome
from herald_recorder.rows import AttemptRow, batch_rows

log = structlog.get_logger(__name__)

# Refused: retrying the same rows cannot help. Checked first: asyncpg's client-side DataError
# is also an InterfaceError.
REFUSED = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    ValueError,
    TypeError,
    OverflowError,
)
# Transient: the database is unreachable, restarting, not migrated yet, …
TRANSIENT = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Write = Callable[[list[DeliveryResult]], Awaitable[None]]


class HistoryUnavailable(Exception):
    """The service stopped while the database could not take a batch; nothing was committed."""


class _Acknowledgement:
    """What every `send` of a batch returns: the same object, so the shell awaits it once."""

    def __init__(self, sink: HistorySink) -> None:
        self._sink = sink

    def __await__(self) -> Generator[Any, None, None]:
        return self._sink.flush().__await__()


class HistorySink:
    """The producer `run_group` is given: `send` queues, the acknowledgement writes."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._queued: list[DeliveryResult] = []
        self._lock = asyncio.Lock()
        self._ack = _Acknowledgement(self)

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: object = None,
    ) -> Awaitable[None]:
        """Queue one result (`value`: the JSON of a recordable `DeliveryResult`)."""
        self._queued.append(DeliveryResult.model_validate_json(value or b""))
        return self._ack

    async def flush(self) -> None:
        """Write everything queued in one transaction; return once it committed."""
        async with self._lock:
            if self._queued:
                batch, self._queued = self._queued, []
                await self._write(batch)


class HistoryWriter:
    """Writes batches of results, retrying until they are in or the service stops."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        metrics: RecorderMetrics,
        stop: asyncio.Event,
        *,
        retry_initial_s: float,
        retry_max_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._stop = stop
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._clock = clock
        self.healthy = True

    async def write(self, results: list[DeliveryResult]) -> None:
        """Record `results`. Raises HistoryUnavailable only when stopping with the database out."""
        rows = batch_rows(results)
        await self._write_rows(rows)
        # Repeats inside the batch never reached the database: they are duplicates too.
        self._metrics.results.labels(ResultOutcome.DUPLICATE.value).inc(len(results) - len(rows))

    async def _write_rows(self, rows: Sequence[AttemptRow]) -> None:
        try:
            recorded = await self._retrying(rows)
        except REFUSED as error:
            if len(rows) > 1:
                for row in rows:
                    await self._write_rows([row])
                return
            self._metrics.results.labels(ResultOutcome.INVALID.value).inc()
            log.warning(
                "result_refused_by_database",
                delivery_id=rows[0][0],
                attempt=rows[0][1],
                error_type=type(error).__name__,
                error=str(error)[:300],
            )
            return
        now = self._clock()
        self._metrics.results.labels(ResultOutcome.RECORDED.value).inc(len(recorded))
        self._metrics.results.labels(ResultOutcome.DUPLICATE.value).inc(len(rows) - len(recorded))
        for attempt in recorded:
            self._metrics.lag.observe(max(0.0, (now - attempt.at).total_seconds()))

    async def _retrying(self, rows: Sequence[AttemptRow]) -> list[store.Recorded]:
        pause = self._retry_initial_s
        while True:
            started = time.perf_counter()
            try:
                recorded = await store.record(self._pool, rows)
            except REFUSED:
                raise
            except TRANSIENT as error:
                self._failed(error, pause)
                if self._stop.is_set():
                    raise HistoryUnavailable(f"{type(error).__name__}: {error}") from error
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)
                pause = min(pause * 2, self._retry_max_s)
                continue
            self._metrics.write_seconds.observe(time.perf_counter() - started)
            if not self.healthy:
                log.info("history_writes_resumed", rows=len(rows))
                self.healthy = True
            return recorded

    def _failed(self, error: BaseException, pause: float) -> None:
        self._metrics.write_failures.inc()
        if self.healthy:  # log the outage once, not every retry (docs/contributing.md)
            log.warning(
                "history_write_failed_retrying",
                error_type=type(error).__name__,
                error=str(error)[:300],
                retry_in_s=pause,
            )
        self.healthy = False
