"""Waiting for one delivery's result: what `POST …/notifiers/{id}/test` answers with.

`ResultWaiters` follows `notify.delivery-results` with a consumer of no group: every partition
assigned, positioned at the end when the API starts (before it serves a request), so it reads
only results written after start-up. A handler registers a waiter for a delivery id *before* it
produces the delivery, then awaits it; the follower hands the first result whose key is that id
to the waiter. Records nobody waits for are skipped without being parsed.

The number of waiters is bounded (`max_waiters`): past it `wait_for` raises `TooManyWaiters`,
and the handler answers 503 instead of piling up requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from herald_core.deliveries import DeliveryResult
from herald_core.settings import KafkaSettings
from herald_core.topics import DELIVERY_RESULTS
from herald_kafka import KafkaError
from herald_kafka.reader import AssignedReader
from pydantic import ValidationError

log = structlog.get_logger(__name__)


class TooManyWaiters(Exception):
    """Every waiting slot is taken."""


class ResultWaiters:
    """Delivery id → the future of its first result; fed by `run`."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        max_waiters: int = 100,
        poll_timeout_ms: int = 200,
    ) -> None:
        self._settings = settings
        self._max_waiters = max_waiters
        self._poll_timeout_ms = poll_timeout_ms
        self._waiters: dict[str, asyncio.Future[DeliveryResult]] = {}
        self._consumer: AssignedReader | None = None
        self.seen = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def start(self) -> None:
        """Assign every partition of the results topic and position each at its end.

        Raises:
            aiokafka.errors.KafkaError: when the broker cannot be reached.
            LookupError: when the topic does not exist.
        """
        reader = AssignedReader(
            self._settings,
            [DELIVERY_RESULTS],
            start="end",
            client_id=f"{self._settings.client_id}-results",
            auto_offset_reset="latest",
        )
        await reader.start()
        self._consumer = reader
        log.info("delivery_results_following", partitions=len(reader.partitions))

    async def stop(self) -> None:
        """Stop following; every waiter still waiting is cancelled."""
        for future in self._waiters.values():
            future.cancel()
        self._waiters.clear()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self, stop: asyncio.Event) -> None:
        """Hand results to their waiters until `stop` is set. `start()` must have been awaited."""
        assert self._consumer is not None, "start() first"
        while not stop.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            except KafkaError as error:  # the client reconnects by itself; do not spin
                log.warning("delivery_results_fetch_failed", error=str(error)[:300])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1)
                continue
            for records in batches.values():
                for record in records:
                    self.seen += 1
                    self.dispatch(record.key, record.value)

    def dispatch(self, key: bytes | None, value: bytes | None) -> None:
        """Resolve the waiter of the result `key`/`value`, if any waits for it."""
        if not self._waiters or key is None:
            return
        future = self._waiters.get(key.decode("utf-8", "replace"))
        if future is None or future.done():
            return
        try:
            result = DeliveryResult.model_validate_json(value or b"")
        except ValidationError as error:
            log.warning("delivery_result_unreadable", error=str(error)[:300])
            return
        future.set_result(result)

    @contextlib.asynccontextmanager
    async def wait_for(self, delivery_id: str) -> AsyncIterator[asyncio.Future[DeliveryResult]]:
        """A future of the first result of `delivery_id`, registered for the block's duration.

        Raises:
            TooManyWaiters: when `max_waiters` waiters are registered already.
            RuntimeError: when not started, or the same id is awaited twice.
        """
        if self._consumer is None:
            raise RuntimeError("the delivery results follower is not running")
        if len(self._waiters) >= self._max_waiters:
            raise TooManyWaiters(f"{self._max_waiters} deliveries are awaited already")
        if delivery_id in self._waiters:
            raise RuntimeError(f"delivery {delivery_id} is awaited already")
        future: asyncio.Future[DeliveryResult] = asyncio.get_running_loop().create_future()
        self._waiters[delivery_id] = future
        try:
            yield future
        finally:
            self._waiters.pop(delivery_id, None)
            future.cancel()


RESULT_WAITERS = web.AppKey("herald_result_waiters", ResultWaiters)
