"""The live stream's resume cursors: round trip, malformed input, and where a stream starts."""

from __future__ import annotations

import base64
import json

import pytest
from herald_api.stream.stream_cursor import (
    CURSOR_VERSION,
    MAX_CURSOR_LENGTH,
    CursorError,
    CursorExpired,
    decode_cursor,
    encode_cursor,
    start_offsets,
)


def raw_cursor(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def versioned(document: object) -> str:
    return raw_cursor(bytes([CURSOR_VERSION]) + json.dumps(document).encode())


@pytest.mark.parametrize(
    "positions",
    [{}, {0: 0}, {0: 12, 1: 7}, {i: i * 1_000_003 for i in range(64)}, {5: 2**62}],
)
def test_a_cursor_round_trips(positions):
    cursor = encode_cursor(positions)
    assert decode_cursor(cursor) == positions
    assert "=" not in cursor
    assert cursor.isascii()


def test_the_cursor_is_compact_versioned_json_in_base64url():
    cursor = encode_cursor({1: 7, 0: 12})
    payload = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert payload == b'\x01{"0":12,"1":7}'
    assert cursor == "AXsiMCI6MTIsIjEiOjd9"  # the module docstring's example


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor!",
        "%%%",
        "A" * (MAX_CURSOR_LENGTH + 1),
        "é",
        raw_cursor(b""),
        raw_cursor(b'\x02{"0":1}'),  # an unknown version
        raw_cursor(b'{"0":1}'),  # no version byte
        raw_cursor(b"\x01not json"),
        versioned([1, 2]),
        versioned({"a": 1}),
        versioned({"-1": 1}),
        versioned({"0": -1}),
        versioned({"0": 1.5}),
        versioned({"0": True}),
        versioned({"0": "1"}),
        versioned({"0": None}),
        versioned({"1234567890": 1}),
        versioned({str(i): 0 for i in range(2000)}),
    ],
)
def test_a_malformed_cursor_is_refused(text):
    with pytest.raises(CursorError) as caught:
        decode_cursor(text)
    assert not isinstance(caught.value, CursorExpired)


BEGIN = {0: 5, 1: 0, 2: 100}
END = {0: 50, 1: 9, 2: 100}


def test_without_a_cursor_a_stream_starts_at_the_end():
    assert start_offsets(None, BEGIN, END) == END


def test_with_a_cursor_a_stream_starts_at_its_offsets():
    assert start_offsets({0: 5, 1: 9, 2: 100}, BEGIN, END) == {0: 5, 1: 9, 2: 100}
    assert start_offsets({0: 20, 1: 3, 2: 100}, BEGIN, END) == {0: 20, 1: 3, 2: 100}


def test_a_partition_the_cursor_does_not_name_is_read_from_its_beginning():
    assert start_offsets({0: 20}, BEGIN, END) == {0: 20, 1: 0, 2: 100}


def test_a_cursor_below_the_log_start_has_expired():
    with pytest.raises(CursorExpired, match="retention"):
        start_offsets({0: 4, 1: 0, 2: 100}, BEGIN, END)


def test_a_cursor_beyond_the_log_end_has_expired():
    with pytest.raises(CursorExpired, match="recreated"):
        start_offsets({0: 51}, BEGIN, END)


def test_a_cursor_naming_an_unknown_partition_is_malformed():
    with pytest.raises(CursorError, match=r"\[7\]") as caught:
        start_offsets({0: 5, 7: 1}, BEGIN, END)
    assert not isinstance(caught.value, CursorExpired)
