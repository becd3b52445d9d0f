"""faust-streaming's Kafka consumer, with fixes that keep each partition's records in order.

    use_ordered_consumer(app)   make an unstarted `faust.App` build `OrderedConsumer`
    OrderedConsumer             faust's aiokafka `Consumer` with the fixes below; it also
                                knows where each partition starts in a generation
                                (`start_offset`), which `OffsetGaps` checks the first record
                                against (herald_runtime.faust_service)
    OrderedConsumerThread       its consumer thread
    start_offsets(app)          `OrderedConsumer.start_offset` of an app, for `OffsetGaps`

Unlike the rest of herald-runtime this module imports faust: only the faust service (derive)
imports it, and it depends on faust-streaming; herald-runtime itself does not.

Herald's tables (derive's crash counts; the alerter's states, while it ran on faust) assume
that faust hands each partition's records to the agent in offset order, none left out, and
that the committed offset never passes a record that was not handled. faust-streaming 0.15.3
breaks this after a rebalance, when it has recovered the tables. These are workarounds of its
behaviour (docs/derive.md, *Two or more workers*, *Records in order*):

1. **Source partitions resumed before the seek.** At the end of a recovery faust resumes the
   source partitions, then seeks them to the committed offsets, then resumes the flow, which
   empties the agents' queues. Records fetched in between are dropped: those queued are
   cleared, and the fetch loop, finishing its batch after the seek, marks them as read, so
   faust also drops them when they are fetched again; where nothing is committed the seek does
   not even move. The agent then goes on far after them. Here the source partitions are held
   paused until the flow is resumed after the seek: nothing is fetched for them before.
2. **Fetching for partitions faust does not want.** faust hands its live set of active
   partitions to the consumer thread and changes it meanwhile; aiokafka reads an empty set as
   "every partition" and moves the positions of the paused ones past records that faust then
   drops. `_getmany` here passes a copy taken when faust asked, and fetches nothing for an
   empty set.
3. **No seek back where nothing is committed.** aiokafka's `seek_to_committed` leaves a
   partition without a committed offset (or committed at 0) where it is. Here a source
   partition without one is sought to its first offset when the group starts at the earliest
   offset (`consumer_auto_offset_reset="earliest"`, Herald's default).
4. **Acknowledgements from the previous generation.** A record fetched before a rebalance and
   skipped or finished after it was still acknowledged, and faust added its offset to the new
   generation's handled offsets: a commit could pass records this worker has not handled.
   `ack` here ignores a record of an older generation; it is read again from the committed
   offset anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Set
from typing import Any, cast

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from faust.types import TP, Message

IDLE_S = 0.1
"""How long a fetch waits when faust wants no partition (faust itself then waits 1 s)."""


class OrderedConsumerThread(AIOKafkaConsumerThread):
    """The aiokafka consumer thread; partitions never committed are read again from the start."""

    async def seek_to_committed(self) -> Mapping[TP, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int]
        starts: dict[TP, int]
        committed, starts = await self.call_thread(self._seek_to_start, consumer)
        cast(OrderedConsumer, self.consumer).note_starts(starts)
        return committed

    async def _seek_to_start(self, consumer: Any) -> tuple[Mapping[TP, int | None], dict[TP, int]]:
        """On the consumer thread: seek the aiokafka `consumer`'s partitions to where this
        generation starts (fix 3). Returns the committed offsets (faust's view, None where there
        is none) and the start of each partition whose start is known."""
        committed: Mapping[TP, int | None] = await consumer.seek_to_committed()
        starts = {tp: offset for tp, offset in committed.items() if offset}
        never = [
            tp
            for tp, offset in committed.items()
            if not offset and not self.consumer._is_changelog_tp(tp)
        ]
        if never and self.app.conf.consumer_auto_offset_reset == "earliest":
            first: Mapping[TP, int] = await consumer.beginning_offsets(never)
            for tp, offset in first.items():
                consumer.seek(tp, offset)
            starts.update(first)
        return committed, starts


class OrderedConsumer(Consumer):
    """faust's aiokafka consumer with the fixes of this module."""

    #: (generation, offset) of the first record of each partition, since the latest seek.
    starts: dict[TP, tuple[int, int]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.starts = {}
        self._held: set[TP] = set()  # source partitions to resume after the seek
        self._sought = False  # whether the seek to the committed offsets was done since
        super().__init__(*args, **kwargs)

    def note_starts(self, starts: Mapping[TP, int]) -> None:
        """Remember where each partition starts in the current generation."""
        generation = self.app.consumer_generation_id
        self.starts = {tp: (generation, offset) for tp, offset in starts.items()}

    def start_offset(self, topic: str, partition: int, generation: int) -> int | None:
        """The offset `partition` of `topic` starts at in `generation`, if known."""
        start = self.starts.get(TP(topic, partition))
        return start[1] if start is not None and start[0] == generation else None

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        """Resume changelog partitions now, source partitions once the flow resumes after the
        next seek to the committed offsets (fix 1)."""
        wanted = set(tps)
        sources = {tp for tp in wanted if not self._is_changelog_tp(tp)}
        self._held |= sources
        self._sought = False
        super().resume_partitions(wanted - sources)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        self._sought = True

    def resume_flow(self) -> None:
        super().resume_flow()
        if self._sought and self._held:
            held, self._held = self._held, set()
            super().resume_partitions(held)

    async def on_partitions_revoked(self, revoked: Set[TP]) -> None:
        self._held = set()
        self._sought = False
        await super().on_partitions_revoked(revoked)

    def on_buffer_drop(self, tp: TP) -> None:
        if tp in self._held or tp in self._paused_partitions:
            self._buffered_partitions.discard(tp)  # it stays paused
            return
        super().on_buffer_drop(tp)

    def _new_consumer_thread(self) -> OrderedConsumerThread:
        return OrderedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(
        self,
        active_partitions: Set[TP] | None,
        timeout: float,  # noqa: ASYNC109 - faust's signature
    ) -> Any:
        # A copy: faust changes its set while the consumer thread fetches (fix 2).
        wanted = None if active_partitions is None else set(active_partitions)
        if wanted is not None and not wanted:
            await asyncio.sleep(min(timeout, IDLE_S))
            return {}
        return await self._thread.getmany(wanted, timeout)

    def ack(self, message: Message) -> bool:
        if message.generation_id != self.app.consumer_generation_id:
            message.acked = True
            self._unacked_messages.discard(message)
            return False
        return bool(super().ack(message))


def use_ordered_consumer(app: Any) -> None:
    """Make the unstarted faust `app` build an `OrderedConsumer` (its transport's factory)."""
    app.transport.Consumer = OrderedConsumer


def start_offsets(app: Any) -> Callable[[str, int, int], int | None]:
    """`OrderedConsumer.start_offset` of `app`'s consumer, looked up when called (faust creates
    the consumer when it starts)."""

    def start_offset(topic: str, partition: int, generation: int) -> int | None:
        return cast(OrderedConsumer, app.consumer).start_offset(topic, partition, generation)

    return start_offset
