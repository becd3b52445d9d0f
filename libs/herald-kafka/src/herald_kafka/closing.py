"""Closing a consumer even when the broker is away.

aiokafka's `AIOKafkaConsumer.stop()` awaits the fetcher's pending requests; one that failed
while the broker was away (`NodeNotReadyError`, or the `CancelledError` of the pending fetch
it cancels) raises out of `stop()` before the client's
connections are closed, and the consumer is already marked closed, so a second `stop()` does
nothing. A service stopping during a broker outage then left sockets open and, worse, skipped
whatever its shutdown did next (the API's database pool and producer). `close_consumer` logs
that error and closes the client itself: the one place Herald reaches into aiokafka's client.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer

log = structlog.get_logger(__name__)


async def close_consumer(consumer: AIOKafkaConsumer) -> None:
    """Stop `consumer` and close its connections, whatever the broker does meanwhile."""
    try:
        await consumer.stop()
    except asyncio.CancelledError as error:
        # the fetcher's leftover, or we are being cancelled (a stop that outlived its grace):
        # either way the connections are closed, and our own cancellation goes on
        await _close_client(consumer, error)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
    except Exception as error:  # the broker's errors, or what a pending fetch left behind
        await _close_client(consumer, error)


async def _close_client(consumer: AIOKafkaConsumer, error: BaseException) -> None:
    """What `stop()` skipped when a pending fetch's error (or its cancellation) escaped."""
    log.warning("consumer_stop_failed", error=f"{type(error).__name__}: {error}"[:300])
    await consumer._client.close()
