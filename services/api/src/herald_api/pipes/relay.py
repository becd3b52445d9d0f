"""The outbox relay: publishes committed outbox rows to Kafka, in order, without loss.

One relay runs per database (a session-level advisory lock elects it; the others wait), so rows
are produced in id order by one idempotent producer. A key's changes are serialised by that
key's row lock in Postgres, so id order is commit order for every key. Rows are marked sent only
after the broker acknowledged them: a crash in between publishes them again on restart, which
the compacted topics and the deterministic delivery ids absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

import asyncpg
import structlog
from herald_core.metrics import ApiMetrics
from herald_kafka import AIOKafkaProducer
from herald_kafka.producer import OutgoingRecord, send_all

from herald_api.store.outbox import NOTIFY_CHANNEL

log = structlog.get_logger(__name__)

_LEADER_LOCK = 0x48455242  # "HERB": the relay's leadership lock
SENT_RETENTION = timedelta(days=7)


async def outbox_backlog(connection: asyncpg.Connection) -> tuple[int, float]:
    """The outbox rows not yet published, and the age in seconds of the oldest (0 if none)."""
    row = await connection.fetchrow(
        "SELECT count(*) AS pending,"
        " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_s"
        " FROM outbox WHERE sent_at IS NULL"
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["pending"]), max(0.0, float(row["oldest_s"]))


def _record(row: asyncpg.Record) -> OutgoingRecord:
    headers = [(k, v.encode()) for k, v in json.loads(row["headers"])]
    return OutgoingRecord(row["topic"], row["value"], row["key"], headers)


STOP_WAIT_S = 2.0  # how long a batch in flight at stop may still wait for its acks


class OutboxRelay:
    """Publishes pending outbox rows while it holds the leader lock."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch: int = 500,
        poll_s: float = 1.0,
    ) -> None:
        self._pool = pool
        self._producer = producer
        self._batch = batch
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self.published = 0
        self.leader = False
        self.metrics: ApiMetrics | None = None

    async def publish_pending(self, connection: asyncpg.Connection) -> int:
        """Publish one batch of pending rows in id order; return how many were published."""
        rows = await connection.fetch(
            "SELECT id, topic, key, value, headers FROM outbox WHERE sent_at IS NULL "
            "ORDER BY id LIMIT $1",
            self._batch,
        )
        if not rows:
            return 0
        await send_all(self._producer, [_record(r) for r in rows])
        await connection.execute(
            "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )
        self.published += len(rows)
        if self.metrics is not None:
            self.metrics.outbox_published.inc(len(rows))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for leadership, then publish until `stop` is set."""
        async with self._pool.acquire() as connection:
            while not stop.is_set():
                if await connection.fetchval("SELECT pg_try_advisory_lock($1)", _LEADER_LOCK):
                    break
                await _wait(stop, self._poll_s * 5)
            if stop.is_set():
                return
            self.leader = True
            log.info("outbox_relay_leading")
            await connection.add_listener(NOTIFY_CHANNEL, self._notified)
            try:
                await self._loop(connection, stop)
            finally:
                self.leader = False
                with contextlib.suppress(Exception):
                    await connection.remove_listener(NOTIFY_CHANNEL, self._notified)
                    await connection.execute("SELECT pg_advisory_unlock($1)", _LEADER_LOCK)

    async def _loop(self, connection: asyncpg.Connection, stop: asyncio.Event) -> None:
        sweeps = 0
        while not stop.is_set():
            self._wake.clear()
            published = await self._publish_unless_stopped(connection, stop)
            if published is None:
                return
            if published == self._batch:
                continue  # more are waiting: no pause
            sweeps += 1
            if self.metrics is not None:
                pending, oldest_s = await outbox_backlog(connection)
                self.metrics.outbox_pending.set(pending)
                self.metrics.outbox_oldest.set(oldest_s)
            if sweeps % 600 == 1:
                await connection.execute(
                    "DELETE FROM outbox WHERE sent_at < now() - $1::interval", SENT_RETENTION
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_any(stop), self._poll_s)

    async def _publish_unless_stopped(
        self, connection: asyncpg.Connection, stop: asyncio.Event
    ) -> int | None:
        """`publish_pending`; when `stop` comes meanwhile, the batch gets `STOP_WAIT_S` more to
        be acknowledged, then is given up (None): its rows stay pending and the next leader
        publishes them (at least once), instead of a broker that is down holding the stop."""
        publishing = asyncio.ensure_future(self.publish_pending(connection))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((publishing, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if publishing.done():
            return publishing.result()
        try:
            return await asyncio.wait_for(publishing, STOP_WAIT_S)
        except TimeoutError:
            log.warning("outbox_publish_abandoned_at_stop", wait_s=STOP_WAIT_S)
            return None

    async def _wait_any(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _notified(self, *_: object) -> None:
        self._wake.set()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
