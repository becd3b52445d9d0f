"""Send events to `platform.events`, which ingest consumes: `AsyncKafkaProducerClient` and its
blocking twin `KafkaProducerClient`.

    settings = KafkaSettings(bootstrap_servers="kafka:9092", client_id="deployer")
    async with AsyncKafkaProducerClient(settings) as producer:
        await producer.send(event)             # returns once the broker acknowledged it
        await producer.send_many(events)

    with KafkaProducerClient(settings) as producer:   # its own event loop, in a thread
        producer.send(event)

The records are the ones Herald itself writes (`herald_kafka.producer.event_record`), on
`platform.events`: the event's JSON as value, keyed by app id (else owner id) so that one app's
events keep their order, and the CloudEvents binary-mode headers `ce_id`, `ce_type`,
`ce_source` (`/herald/<source>`), `ce_time`, `ce_specversion` (and `traceparent` when given).
The producer is Herald's: idempotent (`enable_idempotence`, `acks=all`) with the security
options of `KafkaSettings` (SASL, TLS) applied by `herald_kafka.connection.client_options`.

Ingest validates each record as it validates a POST; one it refuses goes to
`notify.events.dlq` with the reason in its headers (a producer over Kafka gets no answer: check
events with `build_event` first, which applies the same rules).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self, TypeVar

from herald_core.envelope import Event
from herald_core.settings import KafkaSettings
from herald_core.topics import PLATFORM_EVENTS
from herald_kafka import AIOKafkaProducer, KafkaError
from herald_kafka.connection import start_client
from herald_kafka.producer import (
    OutgoingRecord,
    event_record,
    idempotent_producer,
    send_all,
    stop_producer,
)

from herald_client.errors import HeraldClientError, KafkaSendError

T = TypeVar("T")
DEFAULT_SEND_TIMEOUT_S = 30.0


def platform_record(
    event: Event, *, topic: str = PLATFORM_EVENTS, traceparent: str | None = None
) -> OutgoingRecord:
    """The `platform.events` record of `event`: value, key and headers as Herald writes them on
    `notify.events`. Pure."""
    return replace(event_record(event, traceparent), topic=topic)


class AsyncKafkaProducerClient:
    """An idempotent producer writing events to `platform.events`; an async context manager.

    `start` connects (raising `herald_kafka.connection.KafkaConnectFailed`, which says why, when
    the broker cannot be reached), `close` flushes what is pending and disconnects.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        topic: str = PLATFORM_EVENTS,
        send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
        linger_ms: int = 5,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self._send_timeout_s = send_timeout_s
        self._linger_ms = linger_ms
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Connect to the broker (aiokafka binds the producer to the running loop here)."""
        if self._producer is not None:
            return
        producer = idempotent_producer(self.settings, linger_ms=self._linger_ms)
        try:
            await start_client(producer, self.settings)
        except BaseException:
            await stop_producer(producer)
            raise
        self._producer = producer

    async def close(self) -> None:
        """Flush and disconnect (gives up after 10 s with the broker away)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await stop_producer(producer)

    async def send(self, event: Event, *, traceparent: str | None = None) -> None:
        """Write one event; return once the broker acknowledged it (acks=all).

        Raises:
            KafkaSendError: no acknowledgement within `send_timeout_s`, or the broker refused.
        """
        await self._send([platform_record(event, topic=self.topic, traceparent=traceparent)])

    async def send_many(self, events: Sequence[Event]) -> None:
        """Write `events` (batched by the producer); return once every one is acknowledged.

        Raises:
            KafkaSendError: as `send`; some of the events may have been written.
        """
        await self._send([platform_record(e, topic=self.topic) for e in events])

    async def _send(self, records: list[OutgoingRecord]) -> None:
        if self._producer is None:
            raise HeraldClientError("the producer is not started: use `async with` or start()")
        try:
            await asyncio.wait_for(send_all(self._producer, records), self._send_timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise KafkaSendError(
                f"the broker did not acknowledge {len(records)} record(s) on {self.topic}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


class KafkaProducerClient:
    """`AsyncKafkaProducerClient` for blocking code: it runs on an event loop of its own, in a
    daemon thread, and each call waits for its result. Thread-safe; a context manager (or call
    `start` and `close`)."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        topic: str = PLATFORM_EVENTS,
        send_timeout_s: float = DEFAULT_SEND_TIMEOUT_S,
        linger_ms: int = 5,
    ) -> None:
        self._client = AsyncKafkaProducerClient(
            settings, topic=topic, send_timeout_s=send_timeout_s, linger_ms=linger_ms
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the loop thread and connect; as `AsyncKafkaProducerClient.start`."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name="herald-client-kafka", daemon=True
            )
            self._thread.start()
        try:
            self._run(self._client.start())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Flush, disconnect, and stop the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self._client.close())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
            self._loop = self._thread = None

    def send(self, event: Event, *, traceparent: str | None = None) -> None:
        """Write one event and wait for the broker's acknowledgement; raises `KafkaSendError`."""
        self._run(self._client.send(event, traceparent=traceparent))

    def send_many(self, events: Sequence[Event]) -> None:
        """Write events and wait until every one is acknowledged; raises `KafkaSendError`."""
        self._run(self._client.send_many(events))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise HeraldClientError("the producer is not started: use `with` or start()")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
