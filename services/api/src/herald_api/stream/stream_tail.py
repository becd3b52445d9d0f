"""One stream's reader of `notify.events` (`stream_api`, "Design"): a Kafka consumer of its
own, no group, every partition assigned and positioned at the cursor or at the end; it queues
the events its filter lets through, in order, and gives up on a client whose queue stays full
("Backpressure")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import structlog
from herald_core.envelope import Event
from herald_core.settings import KafkaSettings
from herald_core.topics import EVENTS
from herald_kafka import KafkaError, Record, TopicPartition
from herald_kafka.reader import AssignedReader, Bounds
from pydantic import ValidationError

from herald_api.stream.stream_cursor import encode_cursor
from herald_api.stream.stream_cursor import start_offsets as plan_start
from herald_api.stream.stream_filter import StreamFilter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Item:
    """One event to send, with the cursor that resumes right after it."""

    cursor: str
    body: bytes


class Reader(Protocol):
    """What a tail reads with: an `AssignedReader` (tests script one)."""

    async def getmany(self, *, timeout_ms: int) -> dict[TopicPartition, list[Record]]: ...


class EventTail:
    """One connection's reader of `notify.events`: from its start offsets, filtered, in order."""

    def __init__(self, reader: Reader, positions: dict[int, int]) -> None:
        self._reader = reader
        self.positions = positions  # partition → next offset handled (sent, queued or skipped)
        self.dropped = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, settings: KafkaSettings, cursor: dict[int, int] | None
    ) -> AsyncIterator[EventTail]:
        """A tail positioned at `cursor`, or at the end of every partition.

        Raises:
            CursorError, CursorExpired: as `stream_cursor.start_offsets`.
            aiokafka.errors.KafkaError: when the broker cannot be reached.
            LookupError: when the topic does not exist.
        """

        def plan(bounds: Mapping[TopicPartition, Bounds]) -> dict[TopicPartition, int]:
            starts = plan_start(
                cursor,
                {tp.partition: b.beginning for tp, b in bounds.items()},
                {tp.partition: b.end for tp, b in bounds.items()},
            )
            return {tp: starts[tp.partition] for tp in bounds}

        reader = AssignedReader(
            settings,
            [EVENTS],
            start=plan,
            client_id=f"{settings.client_id}-stream",
            auto_offset_reset="earliest",  # only if retention overtakes a resumed stream
            max_poll_records=500,
        )
        async with reader:
            yield cls(reader, {tp.partition: offset for tp, offset in reader.starts.items()})

    @property
    def cursor(self) -> str:
        return encode_cursor(self.positions)

    async def pump(
        self, stream: StreamFilter, queue: asyncio.Queue[Item], patience_s: float
    ) -> None:
        """Queue every matching event, in order, for ever; return when the client is dropped.

        A record advances `positions` only once it is queued (or skipped), so a cursor taken
        when the queue is empty covers exactly what was sent.
        """
        while True:
            try:
                batches = await self._reader.getmany(timeout_ms=1000)
            except KafkaError as error:  # the client reconnects by itself; do not spin
                log.warning("event_stream_fetch_failed", error=str(error)[:300])
                await asyncio.sleep(1)
                continue
            for tp, records in sorted(batches.items(), key=lambda item: item[0].partition):
                for record in records:
                    item = self._matching(stream, record.value)
                    if item is not None:
                        positions = {**self.positions, tp.partition: record.offset + 1}
                        queued = Item(encode_cursor(positions), item)
                        if queue.full():
                            try:
                                await asyncio.wait_for(queue.put(queued), patience_s)
                            except TimeoutError:
                                self.dropped = True
                                return
                        else:
                            queue.put_nowait(queued)
                    self.positions[tp.partition] = record.offset + 1

    @staticmethod
    def _matching(stream: StreamFilter, value: bytes | None) -> bytes | None:
        if not value or stream.may_skip(value):
            return None
        try:
            event = Event.model_validate_json(value)
        except ValidationError:
            return None  # ingest validated what is on notify.events; not ours to judge
        return event.to_json() if stream.matches(event) else None
