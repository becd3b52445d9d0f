"""The shape of a consumed record, as Herald reads it (aiokafka ships no types)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Record(Protocol):
    """The fields of an aiokafka `ConsumerRecord` that Herald reads."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
