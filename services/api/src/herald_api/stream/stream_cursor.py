"""Resume cursors of the live event stream: opaque to clients, Kafka positions inside.

A cursor names, for every partition of `notify.events`, the offset of the next record the stream
has not handed over yet. Every record below it was either sent or did not match the stream's
filters, so a stream started at a cursor misses nothing that came after the message carrying it.

Wire form: base64url without padding of one version byte (`CURSOR_VERSION`) followed by compact
JSON `{"<partition>": <next offset>, …}`. Clients must treat it as opaque; the version byte lets
the form change without breaking cursors already handed out (an unknown version is rejected).

    encode_cursor({0: 12, 1: 7})       # 'AXsiMCI6MTIsIjEiOjd9'
    decode_cursor('AXsiMCI6MTIsIjEiOjd9')  # {0: 12, 1: 7}
    start_offsets({0: 12}, beginnings={0: 0, 1: 0}, ends={0: 40, 1: 9})  # {0: 12, 1: 0}

Errors: `CursorError` (malformed: the caller answers 400) and its subclass `CursorExpired` (the
positions are no longer in the log, retention deleted them or the topic was recreated: 410).
Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 8192  # characters; thousands of partitions fit
MAX_PARTITIONS = 1024


class CursorError(ValueError):
    """The cursor is not one this API hands out."""


class CursorExpired(CursorError):
    """The cursor names offsets the log no longer holds (or never held)."""


def encode_cursor(positions: Mapping[int, int]) -> str:
    """The opaque cursor of `positions` (partition → next offset). Pure."""
    document = {str(p): positions[p] for p in sorted(positions)}
    payload = bytes([CURSOR_VERSION]) + json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> dict[int, int]:
    """The positions a cursor names. Pure.

    Raises:
        CursorError: when `text` is not a cursor of a known version, or holds anything but
            non-negative partition numbers mapped to non-negative offsets.
    """
    if not text or len(text) > MAX_CURSOR_LENGTH:
        raise CursorError("the cursor is empty or too long")
    if not text.isascii() or not text.replace("-", "").replace("_", "").isalnum():
        raise CursorError("the cursor is not base64url")
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("the cursor is not base64url") from None
    if not payload or payload[0] != CURSOR_VERSION:
        raise CursorError("the cursor has an unknown version")
    try:
        document = json.loads(payload[1:])
    except (ValueError, RecursionError):
        raise CursorError("the cursor does not hold positions") from None
    if not isinstance(document, dict) or len(document) > MAX_PARTITIONS:
        raise CursorError("the cursor does not hold positions")
    positions: dict[int, int] = {}
    for key, offset in document.items():
        if not (key.isascii() and key.isdigit() and len(key) <= 9):
            raise CursorError("the cursor names a partition that is not a number")
        if type(offset) is not int or offset < 0:
            raise CursorError("the cursor holds an offset that is not a whole number")
        positions[int(key)] = offset
    return positions


def start_offsets(
    cursor: Mapping[int, int] | None,
    beginnings: Mapping[int, int],
    ends: Mapping[int, int],
) -> dict[int, int]:
    """Where a stream starts reading each partition. Pure.

    Without a cursor: at the end of every partition (only what happens from now on). With one:
    at its offset; a partition the cursor does not name (added since) from its beginning.

    Raises:
        CursorError: when the cursor names a partition the topic does not have.
        CursorExpired: when an offset is below the partition's log start (retention deleted
            events the client has not seen) or beyond its end (the topic was recreated).
    """
    if cursor is None:
        return dict(ends)
    unknown = sorted(set(cursor) - set(beginnings))
    if unknown:
        raise CursorError(f"the cursor names partitions the topic does not have: {unknown}")
    starts: dict[int, int] = {}
    for partition, beginning in beginnings.items():
        offset = cursor.get(partition, beginning)
        if offset < beginning:
            raise CursorExpired(
                f"partition {partition}: events from offset {offset} were deleted by retention"
                f" (the log starts at {beginning})"
            )
        if offset > ends[partition]:
            raise CursorExpired(
                f"partition {partition}: offset {offset} is beyond the log's end"
                f" ({ends[partition]}); the topic was recreated"
            )
        starts[partition] = offset
    return starts
