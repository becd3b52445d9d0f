"""What feeds the ledger from the broker and the database, and how a run knows it has settled.

dead_letters(bootstrap, topic)   every record of a DLQ so far, as `DeadLetter`s (delivery id
                                 from `x-delivery-id`, reason from `x-dlq-reason`, event and
                                 notifier ids from the delivery in the value)
history(database_url, ids)       the recorder's `deliveries` rows of some notifiers: their
                                 statuses by delivery id
LagWatch                         samples every watched consumer group's lag from the broker
                                 (`herald_kafka.lag`), keeps the largest total, and says
                                 when the pipeline is quiet: every lag zero, twice in a row,
                                 with nothing new arriving in between
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from herald_core import headers as h
from herald_core.settings import KafkaSettings
from herald_kafka import KafkaError, Record
from herald_kafka.lag import consumer_lags

from herald_testing.ledger import DeadLetter
from herald_testing.topics import records_now

SAMPLE_TIMEOUT_S = 5.0
"""How long one lag sample may take: the Kafka clients' own request timeout. aiokafka closes
what it opened when a request times out, but not when the call is cancelled halfway (a
bootstrap connection is left to the garbage collector, whose ResourceWarning then fails
whichever test runs at that moment); the `wait_for` around a sample, four times longer, is
only a backstop."""


def dead_letter_of(record: Record) -> DeadLetter:
    """A DLQ record as the ledger sees it; a value that is not a delivery keeps None ids."""
    try:
        value: Any = json.loads(record.value or b"")
    except ValueError:
        value = None
    event = value.get("event") if isinstance(value, dict) else None
    notifier = value.get("notifier") if isinstance(value, dict) else None
    return DeadLetter(
        delivery_id=h.header(list(record.headers), h.DELIVERY_ID) or "",
        event_id=event.get("id") if isinstance(event, dict) else None,
        notifier_id=notifier.get("id") if isinstance(notifier, dict) else None,
        reason=h.header(list(record.headers), h.DLQ_REASON),
        at=record.timestamp / 1000,
    )


async def dead_letters(bootstrap_servers: str, topic: str) -> list[DeadLetter]:
    """Every record of `topic` written so far, read to the end offsets seen at the start."""
    return [dead_letter_of(r) for r in await records_now(bootstrap_servers, topic, _every)]


def _every(_: Record) -> bool:
    return True


async def history(database_url: str, notifier_ids: Sequence[str]) -> dict[str, list[str]]:
    """The history rows (`deliveries`) of `notifier_ids`: their statuses by delivery id."""
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT id, status FROM deliveries WHERE notifier_id = ANY($1::text[])",
            list(notifier_ids),
        )
    finally:
        await connection.close()
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["id"], []).append(row["status"])
    return found


@dataclass
class LagWatch:
    """Samples the lag of `groups` (group id → its topics) from the broker."""

    kafka: KafkaSettings
    groups: Mapping[str, Sequence[str]]
    max_total: int | None = None
    last: dict[str, int] = field(default_factory=dict)
    failures: int = 0

    async def sample(self) -> dict[str, int] | None:
        """Each group's lag now, or None when the broker did not answer in time."""
        try:
            quick = self.kafka.model_copy(
                update={"request_timeout_ms": round(SAMPLE_TIMEOUT_S * 1000)}
            )
            lags = await asyncio.wait_for(consumer_lags(quick, self.groups), 4 * SAMPLE_TIMEOUT_S)
        except (TimeoutError, KafkaError, OSError, LookupError):
            self.failures += 1
            return None
        total = sum(lags.values())
        self.max_total = total if self.max_total is None else max(self.max_total, total)
        self.last = lags
        return lags

    async def watch(self, stop: asyncio.Event, every_s: float = 0.5) -> None:
        """Sample until `stop` is set (a background task during a scenario)."""
        while not stop.is_set():
            started = time.monotonic()
            await self.sample()
            pause = max(0.0, every_s - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def quiet(
        self, arrivals: Callable[[], int], *, timeout_s: float, every_s: float = 0.5
    ) -> bool:
        """Wait until every lag is zero twice in a row with no new arrival in between.

        Returns False when `timeout_s` passed first (the last lags are in `last`).
        """
        deadline = time.monotonic() + timeout_s
        streak, seen = 0, arrivals()
        while time.monotonic() < deadline:
            lags = await self.sample()
            now_seen = arrivals()
            calm = lags is not None and not any(lags.values()) and now_seen == seen
            streak, seen = (streak + 1 if calm else 0), now_seen
            if streak >= 2:
                return True
            await asyncio.sleep(every_s)
        return False
