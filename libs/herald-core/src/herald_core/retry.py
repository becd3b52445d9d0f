"""Where a failed delivery goes next: a retry tier or the dead-letter queue. Pure.

    permanent error                   → DeadLetter(error.reason)
    retryable, attempt n ≤ len(tiers) → RetryHop(tiers[n-1], now + delay)
    retryable, Retry-After given      → the first tier at or after n-1 whose delay ≥ Retry-After
                                        (none: the last tier, and never before Retry-After)
    retryable, attempt n > len(tiers) → DeadLetter(EXHAUSTED)

The retry state travels in record headers, never in memory: `x-attempt` is the
number of attempts made so far, `x-due-at` the epoch milliseconds before which the record must
not be attempted again, `x-first-failed-at` an RFC 3339 time, `x-original-*` the record's place
on the channel's deliveries topic, `x-recipients-done` the recipients a delivery to several
(e-mail) already reached. `RetryState` reads them.

Progress over several recipients (`recipients_left`, `recipients_done_after`):

    x-recipients-done absent or malformed  → every recipient is left (a duplicate mail rather
                                              than a lost one)
    x-recipients-done "0,2", 3 recipients   → only recipient 1 is attempted
    that attempt fails having delivered 1   → nothing is left; a failure with none delivered
                                              keeps "0,2"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from herald_core import headers as h
from herald_core.errors import DeliveryError, FailureReason


@dataclass(frozen=True)
class RetryTier:
    """One retry tier: its name (`10s`, `1m`, …, the topic suffix) and its delay."""

    name: str
    delay_s: float


@dataclass(frozen=True)
class RetryHop:
    """Try again from `tier`'s topic, not before `due_at`."""

    tier: RetryTier
    due_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """Give up: the delivery goes to the channel's DLQ with `reason`."""

    reason: FailureReason
    detail: str


def retry_tiers_of(names: Sequence[str], delays_s: Sequence[float]) -> tuple[RetryTier, ...]:
    """Pair tier names (from the topic file) with delays (from settings). Pure.

    Raises:
        ValueError: when the counts differ or a delay is negative.
    """
    if len(names) != len(delays_s):
        raise ValueError(
            f"retry_delays_s has {len(delays_s)} delays but the topic file declares "
            f"{len(names)} retry tiers {list(names)}"
        )
    if any(d < 0 for d in delays_s):
        raise ValueError(f"retry delays must be ≥ 0, not {list(delays_s)}")
    return tuple(RetryTier(n, float(d)) for n, d in zip(names, delays_s, strict=True))


def next_hop(
    attempt: int, error: DeliveryError, tiers: Sequence[RetryTier], now: datetime
) -> RetryHop | DeadLetter:
    """Decide what follows failed attempt number `attempt` (≥ 1). Pure.

    Raises:
        ValueError: when `attempt` < 1.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, not {attempt}")
    if not error.retryable:
        return DeadLetter(error.reason, error.detail)
    index = attempt - 1
    if index >= len(tiers):
        return DeadLetter(
            FailureReason.EXHAUSTED,
            f"gave up after {attempt} attempts; last: {error.reason}: {error.detail}",
        )
    tier = tiers[index]
    wait = tier.delay_s
    if error.retry_after is not None:
        later = [t for t in tiers[index:] if t.delay_s >= error.retry_after]
        tier = later[0] if later else tiers[-1]
        wait = max(tier.delay_s, error.retry_after)
    return RetryHop(tier, now + timedelta(seconds=wait))


@dataclass(frozen=True)
class RetryState:
    """What the headers of a delivery record say about its past attempts."""

    attempts: int
    """Attempts made before this record was read (0 on the deliveries topic)."""
    first_failed_at: str | None
    source: tuple[str, int, int]
    """Topic, partition and offset on the channel's deliveries topic."""
    recipients_done: frozenset[int] = frozenset()
    """Indices into the delivery's recipients that earlier attempts delivered to."""
    retries_from: int = 0
    """The attempt after which the retry schedule started over (`x-retries-from`; 0: never)."""

    @property
    def step(self) -> int:
        """The next attempt's place in the retry schedule (≥ 1): its number, counted from where
        the schedule last started over."""
        return max(1, self.attempts + 1 - self.retries_from)

    @classmethod
    def of(cls, headers: Sequence[tuple[str, bytes]], here: tuple[str, int, int]) -> RetryState:
        """Read the state from a record's `headers`; `here` is where the record was read. Pure.

        Missing or malformed headers read as a first attempt from `here`.
        """
        listed = list(headers)
        attempts = h.count(listed, h.ATTEMPT)
        topic = h.header(listed, h.ORIGINAL_TOPIC)
        partition = h.header(listed, h.ORIGINAL_PARTITION)
        offset = h.header(listed, h.ORIGINAL_OFFSET)
        source = here
        if topic and partition and offset and partition.isdigit() and offset.isdigit():
            source = (topic, int(partition), int(offset))
        done = _indices(h.header(listed, h.RECIPIENTS_DONE))
        retries_from = min(attempts, h.count(listed, h.RETRIES_FROM))
        return cls(attempts, h.header(listed, h.FIRST_FAILED_AT), source, done, retries_from)


def _indices(value: str | None) -> frozenset[int]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if not all(item.isdigit() and len(item) <= 6 for item in items):
        return frozenset()
    return frozenset(int(item) for item in items)


def recipients_left(count: int, done: frozenset[int]) -> tuple[int, ...]:
    """The indices of a delivery's `count` recipients not yet delivered to, in order. Pure."""
    return tuple(i for i in range(count) if i not in done)


def recipients_done_after(
    left: Sequence[int], done: frozenset[int], delivered: Sequence[int]
) -> frozenset[int]:
    """`done` plus what an attempt over the recipients `left` delivered. Pure.

    `delivered` indexes into `left` (the recipients the attempt was given); indices outside it
    are ignored.
    """
    return done | {left[i] for i in delivered if 0 <= i < len(left)}


def recipients_done_value(done: frozenset[int]) -> bytes:
    """`done` as the `x-recipients-done` header value, `0,2`. Pure."""
    return ",".join(str(i) for i in sorted(done)).encode()


def due_at_ms(headers: Sequence[tuple[str, bytes]]) -> int | None:
    """The `x-due-at` header as epoch milliseconds, or None when absent or malformed. Pure."""
    value = h.header(list(headers), h.DUE_AT)
    return int(value) if value is not None and value.isdigit() else None


def retry_wait_s(headers: Sequence[tuple[str, bytes]], written_ms: int | None) -> float | None:
    """How long a retry record's writer meant it to wait: `x-due-at` minus `written_ms` (the
    record's timestamp, its creation time by the same writer's clock), in seconds, at least 0;
    None when either is missing. A duration, so it holds whatever the writer's clock said. Pure.
    """
    due_ms = due_at_ms(headers)
    if due_ms is None or written_ms is None or written_ms < 0:
        return None
    return max(0.0, (due_ms - written_ms) / 1000)


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as whole epoch milliseconds (rounded up: never early). Pure."""
    micros = int(moment.timestamp() * 1_000_000)
    return -(-micros // 1000)
