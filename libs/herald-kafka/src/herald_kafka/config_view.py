"""A materialised in-memory view of compacted topics ("Config is a stream", docs/decisions.md).

At start the view reads every partition of its topics from the beginning and notes the end
offsets it saw; it is `ready` once it has read up to them, and then follows new records.
A record with a value sets its key; a tombstone (value None) deletes it; records apply in offset
order within a partition, and a key always lives in one partition, so updates to one key apply
in order. A value the decoder refuses is logged and skipped: the previous value stays.

No consumer group: every instance reads everything (unlike faust's GlobalTable: docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from typing import Generic, TypeVar

import structlog
from aiokafka import TopicPartition
from herald_core.settings import KafkaSettings

from herald_kafka.reader import AssignedReader

log = structlog.get_logger(__name__)

V = TypeVar("V")
Decoder = Callable[[bytes], V]
ChangeListener = Callable[[str, str, V | None, V | None], None]


class MaterializedView(Generic[V]):
    """Key → decoded value for each of several compacted topics, kept current."""

    def __init__(
        self,
        settings: KafkaSettings,
        decoders: Mapping[str, Decoder[V]],
        *,
        on_change: ChangeListener[V] | None = None,
        poll_timeout_ms: int = 200,
        kept: Collection[str] | None = None,
    ) -> None:
        """`kept`: the topics whose values the view holds (`table`); by default all. A topic
        left out is only passed on to `on_change` (with `old` always None), for a listener
        that indexes the values itself: a million notifiers are then held once, not twice."""
        self._settings = settings
        self._decoders = dict(decoders)
        self._on_change = on_change
        self._poll_timeout_ms = poll_timeout_ms
        self._tables: dict[str, dict[str, V]] = {
            topic: {} for topic in decoders if kept is None or topic in kept
        }
        self._passed_on: dict[str, V] = {}  # stands in for a table not kept: always empty
        self._ready = asyncio.Event()
        self._end_offsets: dict[TopicPartition, int] = {}
        self._consumer: AssignedReader | None = None
        self.applied = 0
        self.rejected = 0
        self._next_offsets: dict[TopicPartition, int] = {}
        self.lag = 0
        self._started_at: float | None = None
        self._caught_up_at: float | None = None

    @property
    def ready(self) -> bool:
        """True once every partition was read up to the end offset seen at start."""
        return self._ready.is_set()

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        """Wait until caught up. Raises TimeoutError after `timeout_s`."""
        await asyncio.wait_for(self._ready.wait(), timeout_s)

    def table(self, topic: str) -> Mapping[str, V]:
        """The current key → value mapping of one topic (a live, read-only view)."""
        return self._tables[topic]

    async def start(self) -> None:
        """Assign every partition, rewind, and note the end offsets to catch up to.

        Raises:
            LookupError: when a topic does not exist (run `herald-topics apply`).
        """
        reader = AssignedReader(
            self._settings,
            list(self._decoders),
            start="beginning",
            client_id=f"{self._settings.client_id}-view",
        )
        await reader.start()
        self._consumer = reader
        self._started_at = time.monotonic()
        self._end_offsets = {tp: bounds.end for tp, bounds in reader.bounds.items()}
        await self._check_caught_up()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self, stop: asyncio.Event) -> None:
        """Apply records until `stop` is set. `start()` must have been awaited."""
        assert self._consumer is not None, "start() first"
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=self._poll_timeout_ms)
            for tp, records in batches.items():
                for record in records:
                    self._apply(tp.topic, record.key, record.value)
                if records:
                    self._next_offsets[tp] = records[-1].offset + 1
            self.lag = self._measure_lag()
            if not self.ready:
                await self._check_caught_up()
            if self.ready and self.lag == 0:
                self._caught_up_at = time.monotonic()

    def staleness_s(self, now: float) -> float:
        """Seconds (monotonic `now`) since the view last had applied every record the brokers
        had as of its last fetch; since its start if it never has, 0 before it starts.

        A view that keeps up reads about its poll timeout; one falling behind, or whose
        `run` stopped, grows by a second a second.
        """
        since = self._caught_up_at or self._started_at
        return 0.0 if since is None else max(0.0, now - since)

    def _apply(self, topic: str, raw_key: bytes | None, raw_value: bytes | None) -> None:
        if raw_key is None:
            self.rejected += 1
            log.warning("config_record_without_key", topic=topic)
            return
        key = raw_key.decode("utf-8", "replace")
        table = self._tables.get(topic, self._passed_on)
        old = table.get(key)
        if raw_value is None:
            table.pop(key, None)
            new = None
        else:
            try:
                new = self._decoders[topic](raw_value)
            except Exception as exc:  # a bad config record must not stop the view
                self.rejected += 1
                log.warning("config_record_rejected", topic=topic, key=key, error=str(exc)[:300])
                return
            if table is not self._passed_on:
                table[key] = new
        self.applied += 1
        if self._on_change is not None:
            self._on_change(topic, key, old, new)

    def _measure_lag(self) -> int:
        """Records the brokers have that the view has not applied yet (from the last fetches)."""
        assert self._consumer is not None
        behind = 0
        for tp in self._end_offsets:
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                behind += max(0, highwater - self._next_offsets.get(tp, 0))
        return behind

    async def _check_caught_up(self) -> None:
        assert self._consumer is not None
        for tp, end in self._end_offsets.items():
            if await self._consumer.position(tp) < end:
                return
        if not self.ready:
            log.info("config_view_ready", records=self.applied, rejected=self.rejected)
        self._ready.set()
