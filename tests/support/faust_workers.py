"""Two workers of one service on the session broker (tests/integration/test_faust_workers.py).

Each worker is a real `python -m herald_<name>` process with its own health port (and, for
derive, its own faust data directory), in the service's production consumer group (so its
changelogs are the ones deploy/topics.yaml declares). A short session timeout lets the group
notice a killed worker in seconds rather than a minute.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiokafka.partitioner import murmur2
from herald_testing.polling import eventually
from herald_testing.service_process import ServiceProcess

SESSION_TIMEOUT_S = "8"


def worker(name: str, bootstrap: str, home: Path, index: int, **settings: str) -> ServiceProcess:
    """Worker `index` of service `name`: its own port (ServiceProcess), log and, for faust
    (derive), data dir."""
    if name == "derive":
        settings = {"data_dir": str(home / f"{name}-{index}-data"), **settings}
    return ServiceProcess(
        name,
        bootstrap,
        home / f"{name}-{index}.log",
        session_timeout_s=SESSION_TIMEOUT_S,
        **settings,
    )


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives `key` (murmur2, as every client does)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def keys_on_every_partition(prefix: str, per_partition: int, partitions: int) -> list[str]:
    """`per_partition` keys for each of `partitions` partitions, so a test covers every one."""
    found: dict[int, list[str]] = {p: [] for p in range(partitions)}
    n = 0
    while any(len(keys) < per_partition for keys in found.values()):
        key = f"{prefix}-{n}"
        bucket = found[partition_of(key, partitions)]
        if len(bucket) < per_partition:
            bucket.append(key)
        n += 1
    return [key for keys in found.values() for key in keys]


def split(workers: Iterable[ServiceProcess], topic: str) -> list[set[int]]:
    """The active partitions of `topic` held by each worker (empty set if none)."""
    return [w.assigned().get(topic, set()) for w in workers]


async def until_split(
    workers: list[ServiceProcess], topics: list[str], partitions: int, timeout_s: float = 90
) -> list[set[int]]:
    """Wait until every worker is ready and the partitions of each topic are split among them:
    disjoint, none missing, none idle. Returns the first topic's split."""

    def settled() -> bool:
        if not all(w.ready() for w in workers):
            return False
        for topic in topics:
            held = split(workers, topic)
            if any(not h for h in held) or sum(len(h) for h in held) != partitions:
                return False
            if set().union(*held) != set(range(partitions)):
                return False
        return True

    try:
        await eventually(settled, timeout_s=timeout_s, interval_s=0.5, what="partitions split")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}\n{_describe(workers, topics)}") from None
    return split(workers, topics[0])


def _describe(workers: list[ServiceProcess], topics: list[str]) -> str:
    """Each worker's readiness, partitions (active and standby) and log tail: what a split
    that did not happen looked like."""
    parts = []
    for w in workers:
        try:
            ready = w.ready()
            active = {t: sorted(w.assigned().get(t, set())) for t in topics}
            standby = {t: sorted(w.assigned("standby").get(t, set())) for t in topics}
        except (AssertionError, OSError) as unreadable:  # exited, or its port does not answer
            parts.append(f"--- {w.log.name}: {unreadable}\n{w.tail(25)}")
            continue
        parts.append(
            f"--- {w.log.name}: ready={ready} active={active} standby={standby}\n{w.tail(25)}"
        )
    return "\n".join(parts)
