"""Assigned readers: every partition of some topics, no consumer group, no commits.

    open   → learn every partition of the topics (the consumer's metadata, else the admin
             client's description of the cluster, polled until each partition has a leader or
             the deadline passes) → assign them all → note each partition's bounds (beginning
             and end offsets) → seek each to its start
    read   → `getmany` (as aiokafka's), or `read_until_end` (every record below the end offsets
             noted at open, then stop)
    close  → stop the consumer (an async context manager; `start`/`stop` for a long-lived one)

Where a reader starts (`StartAt`): "beginning" (the low watermark), "end" (only what is written
after open), a mapping of partition → offset (a partition it leaves out starts at its
beginning), or a function of the bounds returning such a mapping (a resumed stream checks its
cursor against the bounds there, and may raise). `start_offsets` is that rule, pure.

An assigned reader is what the live event stream, the delivery-results waiter, the config view,
the DLQ tools and the tests' topic assertions read with. Nothing here touches aiokafka's
private attributes: partitions come from `partitions_for_topic`, or from
`AIOKafkaAdminClient.describe_topics()` when the consumer has no metadata for a topic yet.
The description asks for every topic (never for one by name), so a missing topic is never
auto-created by the broker: it is a `LookupError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from herald_core.settings import KafkaSettings

from herald_kafka.admin import admin_client
from herald_kafka.closing import close_consumer
from herald_kafka.connection import client_options, start_client
from herald_kafka.records import Record

METADATA_TIMEOUT_S = 10.0
METADATA_POLL_S = 0.2


@dataclass(frozen=True, slots=True)
class Bounds:
    """A partition's offsets when the reader opened: its low watermark and its end offset."""

    beginning: int
    end: int

    @property
    def size(self) -> int:
        """Offsets between the two (records, and transaction markers under read_committed)."""
        return max(0, self.end - self.beginning)


Planner = Callable[[Mapping[TopicPartition, Bounds]], Mapping[TopicPartition, int]]
StartAt = Literal["beginning", "end"] | Mapping[TopicPartition, int] | Planner


def start_offsets(
    start: StartAt, bounds: Mapping[TopicPartition, Bounds]
) -> dict[TopicPartition, int]:
    """Where each partition of `bounds` starts reading. Pure.

    Raises:
        ValueError: when a given offset names a partition the reader does not read.
        Whatever a planner raises (a cursor that retention overtook, say).
    """
    if start == "beginning":
        return {tp: b.beginning for tp, b in bounds.items()}
    if start == "end":
        return {tp: b.end for tp, b in bounds.items()}
    planned = start(bounds) if callable(start) else start
    unknown = set(planned) - set(bounds)
    if unknown:
        names = sorted(f"{tp.topic}:{tp.partition}" for tp in unknown)
        raise ValueError(f"offsets for partitions the reader does not read: {names}")
    return {tp: planned.get(tp, b.beginning) for tp, b in bounds.items()}


def described_partitions(
    described: Sequence[Mapping[str, Any]], topics: Sequence[str]
) -> dict[str, list[int]] | None:
    """The partition ids of each of `topics` in a `describe_topics()` answer. Pure.

    Returns None while a topic or one of its partitions reports an error (a topic being created:
    no leader yet), so the caller asks again.

    Raises:
        LookupError: when a topic is not in the answer (it does not exist).
    """
    by_name = {str(t["topic"]): t for t in described}
    found: dict[str, list[int]] = {}
    for topic in topics:
        entry = by_name.get(topic)
        if entry is None:
            raise LookupError(f"topic {topic} does not exist (run `herald-topics apply`)")
        partitions = entry["partitions"]
        if entry["error_code"] != 0 or not partitions:
            return None
        if any(p["error_code"] != 0 for p in partitions):
            return None
        found[topic] = sorted(int(p["partition"]) for p in partitions)
    return found


async def topic_partitions(
    consumer: AIOKafkaConsumer,
    settings: KafkaSettings,
    topics: Sequence[str],
    *,
    timeout_s: float = METADATA_TIMEOUT_S,
) -> list[TopicPartition]:
    """Every partition of `topics`, in topic then partition order.

    The consumer's metadata answers when it knows the topics; otherwise the admin client
    describes the cluster, again every `METADATA_POLL_S` until `timeout_s`.

    Raises:
        LookupError: when a topic does not exist, or its partitions have no leader in time.
        aiokafka.errors.KafkaError: when the broker cannot be reached.
    """
    known = {topic: consumer.partitions_for_topic(topic) for topic in topics}
    if all(known.values()):
        return [TopicPartition(t, p) for t in topics for p in sorted(known[t] or ())]
    async with admin_client(settings) as admin:
        deadline = time.monotonic() + timeout_s
        while True:
            found = described_partitions(await admin.describe_topics(), topics)
            if found is not None:
                return [TopicPartition(t, p) for t in topics for p in found[t]]
            if time.monotonic() >= deadline:
                raise LookupError(f"topics {list(topics)} have no leader after {timeout_s:g}s")
            await asyncio.sleep(METADATA_POLL_S)


class AssignedReader:
    """Every partition of `topics`, no group, positioned at `start`; an async context manager.

    `client_id` defaults to the settings' own; `committed_only` reads with read_committed (the
    end offsets are then the last stable offsets). Further keyword options go to
    `AIOKafkaConsumer` (`max_poll_records`, say). `auto_offset_reset` applies only when a
    position falls out of retention while the reader reads.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        topics: Sequence[str],
        *,
        start: StartAt = "beginning",
        client_id: str | None = None,
        committed_only: bool = False,
        auto_offset_reset: Literal["earliest", "latest"] = "earliest",
        metadata_timeout_s: float = METADATA_TIMEOUT_S,
        **consumer_options: Any,
    ) -> None:
        if isinstance(topics, str):
            raise TypeError("topics is a sequence of topic names, not one name")
        self.topics = list(topics)
        self._settings = settings
        self._start = start
        self._metadata_timeout_s = metadata_timeout_s
        self._consumer = AIOKafkaConsumer(
            **client_options(
                settings,
                client_id=client_id or settings.client_id,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset=auto_offset_reset,
                isolation_level="read_committed" if committed_only else "read_uncommitted",
                **consumer_options,
            )
        )
        self.partitions: list[TopicPartition] = []
        self.bounds: dict[TopicPartition, Bounds] = {}
        self.starts: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> AssignedReader:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start, assign every partition and seek each to its start (what `async with` does).

        Raises:
            LookupError: as `topic_partitions`.
            ValueError and what a planner raises: as `start_offsets`.
            aiokafka.errors.KafkaError: when the broker cannot be reached.
        """
        await start_client(self._consumer, self._settings)
        try:
            self.partitions = await topic_partitions(
                self._consumer, self._settings, self.topics, timeout_s=self._metadata_timeout_s
            )
            self._consumer.assign(self.partitions)
            low = await self._consumer.beginning_offsets(self.partitions)
            high = await self._consumer.end_offsets(self.partitions)
            self.bounds = {tp: Bounds(low[tp], high[tp]) for tp in self.partitions}
            self.starts = start_offsets(self._start, self.bounds)
            for tp, offset in self.starts.items():
                self._consumer.seek(tp, offset)
        except BaseException:
            await close_consumer(self._consumer)
            raise

    async def stop(self) -> None:
        """Stop the consumer (what leaving the `async with` block does)."""
        await close_consumer(self._consumer)

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        """The records fetched since the last call, per partition (all, or only `partitions`).

        Raises:
            aiokafka.errors.KafkaError: when fetching failed (the client reconnects by itself).
        """
        batches: dict[TopicPartition, list[Record]] = await self._consumer.getmany(
            *partitions, timeout_ms=timeout_ms, max_records=max_records
        )
        return batches

    async def position(self, partition: TopicPartition) -> int:
        """The offset of the next record this reader will return from `partition`."""
        offset: int = await self._consumer.position(partition)
        return offset

    def highwater(self, partition: TopicPartition) -> int | None:
        """The partition's end offset as of the last fetch (None before one)."""
        offset: int | None = self._consumer.highwater(partition)
        return offset

    async def end_offsets(self) -> dict[TopicPartition, int]:
        """Every partition's end offset now (the bounds keep those seen at open)."""
        ends: dict[TopicPartition, int] = await self._consumer.end_offsets(self.partitions)
        return ends

    async def caught_up(self, ends: Mapping[TopicPartition, int] | None = None) -> bool:
        """True once every partition's position reached its end (by default: seen at open)."""
        targets = ends if ends is not None else {tp: b.end for tp, b in self.bounds.items()}
        for tp, end in targets.items():
            if await self.position(tp) < end:
                return False
        return True

    async def read_until_end(
        self, ends: Mapping[TopicPartition, int] | None = None, *, timeout_ms: int = 500
    ) -> AsyncGenerator[list[Record], None]:
        """Each fetched batch of records below `ends` (by default the end offsets seen at open).

        Yields one list per partition fetched (possibly empty: records at or past the end are
        left out), and returns once every partition's position reached its end, so a topic that
        grows meanwhile never keeps the reader going.
        """
        targets = ends if ends is not None else {tp: b.end for tp, b in self.bounds.items()}
        pending = {tp for tp, end in targets.items() if self.starts.get(tp, 0) < end}
        while pending:
            batches = await self.getmany(*pending, timeout_ms=timeout_ms)
            for tp, records in batches.items():
                yield [r for r in records if r.offset < targets[tp]]
            for tp in list(pending):
                if await self.position(tp) >= targets[tp]:
                    pending.discard(tp)
