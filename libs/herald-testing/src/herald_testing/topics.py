"""Read a topic from the beginning until a record matches: for DLQ and result assertions."""

from __future__ import annotations

import time
from collections.abc import Callable

from herald_core.settings import KafkaSettings
from herald_kafka import Record
from herald_kafka import consumer as group
from herald_kafka.reader import AssignedReader


def _reader(bootstrap_servers: str, topic: str) -> AssignedReader:
    return AssignedReader(KafkaSettings(bootstrap_servers=bootstrap_servers), [topic])


async def find_record(
    bootstrap_servers: str,
    topic: str,
    match: Callable[[Record], bool],
    *,
    timeout_s: float = 20.0,
) -> Record:
    """The first record of `topic` (any partition) for which `match` is true.

    Raises:
        AssertionError: when none arrives within `timeout_s`.
    """
    async with _reader(bootstrap_servers, topic) as reader:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=200)).values():
                for record in records:
                    if match(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout_s}s")


async def records_now(
    bootstrap_servers: str, topic: str, match: Callable[[Record], bool]
) -> list[Record]:
    """Every record of `topic` (all partitions) written so far for which `match` is true.

    No time window: the read stops at the end offsets seen when it starts. For "nothing was
    written" checks, once something written after it (a result, a sentinel) was seen.
    """
    found: list[Record] = []
    async with _reader(bootstrap_servers, topic) as reader:
        async for records in reader.read_until_end():
            found.extend(r for r in records if match(r))
    return found


def headers_of(record: Record) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers}


async def records_for_key(
    bootstrap_servers: str,
    topic: str,
    key: bytes,
    count: int,
    *,
    timeout_s: float = 20.0,
) -> list[Record]:
    """The first `count` records of `topic` with `key`, in offset order (one key, one partition).

    Raises:
        AssertionError: when fewer arrive within `timeout_s`.
    """
    found: list[Record] = []
    async with _reader(bootstrap_servers, topic) as reader:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(found) < count:
            for records in (await reader.getmany(timeout_ms=200)).values():
                found.extend(r for r in records if r.key == key)
    if len(found) < count:
        raise AssertionError(f"{len(found)} of {count} records for key {key!r} on {topic}")
    return sorted(found, key=lambda r: r.offset)[:count]


async def commit_at_end(bootstrap_servers: str, group_id: str, topics: list[str]) -> None:
    """Commit `group_id`'s offsets at the current end of `topics`, so that a consumer of that
    group starts after what earlier tests left there (several tests share a channel's topics)."""
    await group.commit_at_end(KafkaSettings(bootstrap_servers=bootstrap_servers), group_id, topics)
