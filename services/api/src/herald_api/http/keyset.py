"""Keyset pages of a list, newest first: the cursor, the list's parameters, the page query.

A list (the delivery history, the audit log) is ordered by a time column and then an id column,
both descending, and pages with a keyset cursor: `next_cursor` is an opaque token (unpadded
base64url of the last item's time and id), so a page never skips or repeats an item while new ones
arrive. A page's SELECT asks for one row more than the page holds, to know whether another follows.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from herald_api.http.web import invalid, storable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
TEXT_FILTER_MAX = 200

Row = TypeVar("Row", bound=Mapping[str, Any])


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last item's time and id."""

    at: datetime
    id: str


def encode_cursor(cursor: Cursor) -> str:
    """The opaque `next_cursor` token: unpadded base64url of `[time, id]`. Pure."""
    raw = json.dumps([cursor.at.isoformat(), cursor.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    """The cursor a token stands for. Pure.

    Raises:
        ValueError: when the token is not one `encode_cursor` makes.
    """
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        at_text, item_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeError, TypeError, ValueError, RecursionError):
        raise ValueError("not a cursor this API gave") from None
    if at.tzinfo is None or not isinstance(item_id, str) or not storable(item_id):
        raise ValueError("not a cursor this API gave")
    return Cursor(at, item_id)


_SPACED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time with its offset, in UTC. Pure.

    An offset's `+` that reached us as a space (an unencoded `+` in a query string) is read as
    `+`.

    Raises:
        ValueError: when `text` is not such a time.
    """
    try:
        at = datetime.fromisoformat(_SPACED_OFFSET.sub(r"+\1", text.strip()))
        if at.tzinfo is None:
            raise ValueError("no offset")
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError(
            "must be an RFC 3339 time with an offset, e.g. 2026-03-12T16:05:21Z"
        ) from None


def parse_limit(raw: str) -> int:
    """A page size, capped at `MAX_LIMIT`. Pure.

    Raises:
        ValueError: when `raw` is not a whole number of at least 1.
    """
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return min(value, MAX_LIMIT)


def parse_text(raw: str) -> str:
    """A text filter, as it was given. Pure.

    Raises:
        ValueError: when `raw` is longer than `TEXT_FILTER_MAX` or holds a NUL.
    """
    if not storable(raw) or len(raw) > TEXT_FILTER_MAX:
        raise ValueError(f"must be at most {TEXT_FILTER_MAX} characters, without NUL")
    return raw


PAGE_PARSERS: Mapping[str, Callable[[str], Any]] = {
    "since": parse_time,
    "until": parse_time,
    "cursor": decode_cursor,
    "limit": parse_limit,
}
"""What every list takes besides its filters: a range of its time column (`since` inclusive,
`until` exclusive), the previous page's `cursor` and `limit`."""


def parse_params(
    query: Mapping[str, str], parsers: Mapping[str, Callable[[str], Any]]
) -> dict[str, Any]:
    """The parsed value of each parameter of `parsers` that `query` gives, not empty. Pure.

    Raises:
        ApiProblem: 422 naming every bad parameter, in the order of `parsers`.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, parse in parsers.items():
        raw = query.get(name)
        if raw in (None, ""):
            continue
        try:
            values[name] = parse(raw)
        except ValueError as error:
            errors[name] = [str(error)]
    if errors:
        raise invalid(errors)
    return values


@dataclass(frozen=True)
class Keyset:
    """A list's order, newest first: its time column, then its id column to break ties."""

    at: str
    id: str

    def page_sql(
        self,
        select: str,
        filters: Iterable[tuple[str, object]],
        cursor: Cursor | None,
        limit: int,
    ) -> tuple[str, list[Any]]:
        """The SELECT of one page, plus one row to know whether another follows. Pure.

        Args:
            select: `SELECT <columns> FROM <table>`, constant text.
            filters: `(condition, value)`; a condition's `{}` stands for its value's placeholder,
                and a `None` value leaves its condition out. At least one must be kept.
            cursor: where the previous page ended, if any.
            limit: the page's size.
        """
        args: list[Any] = []
        where: list[str] = []
        for template, value in filters:
            if value is not None:
                args.append(value)
                where.append(template.format(f"${len(args)}"))
        if cursor is not None:
            args += [cursor.at, cursor.id]
            where.append(f"({self.at}, {self.id}) < (${len(args) - 1}, ${len(args)})")
        args.append(limit + 1)
        sql = (
            f"{select} WHERE {' AND '.join(where)}"
            f" ORDER BY {self.at} DESC, {self.id} DESC LIMIT ${len(args)}"
        )
        return sql, args

    def page(self, rows: Sequence[Row], limit: int) -> tuple[Sequence[Row], str | None]:
        """The page among the rows `page_sql` fetched, and its `next_cursor` (None on the last
        page). Pure."""
        page = rows[:limit]
        if len(rows) <= limit:
            return page, None
        return page, encode_cursor(Cursor(page[-1][self.at], page[-1][self.id]))
