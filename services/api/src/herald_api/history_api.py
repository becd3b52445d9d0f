"""Delivery history, as the recorder (services/recorder) wrote it:

GET /v1/apps/{app}/deliveries        200 {"deliveries": [...], "next_cursor": "…" | null}
GET /v1/apps/{app}/deliveries/{id}   200 {"delivery": {..., "attempts": [...]}}

The list is newest first, by the time of a delivery's first attempt and then its id, and pages
with a keyset cursor: `next_cursor` is an opaque token (base64url of the last item's time and
id), so a page never skips or repeats an item while new deliveries arrive. Filters:
`notifier_id`, `status`, `event_type`, `since` (inclusive) and `until` (exclusive), both RFC 3339
times of the first attempt. An app the token may not see is a 404, like the notifiers API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from herald_core.deliveries import AttemptOutcome

from herald_api.context import context
from herald_api.directory_api import visible_app
from herald_api.web import invalid, json_response, not_found, storable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
TEXT_FILTERS = ("notifier_id", "event_type")
TEXT_FILTER_MAX = 200

SUMMARY_COLUMNS = (
    "id, app_id, owner_id, event_id, event_type, notifier_id, channel, status, status_code,"
    " reason, attempt_count, latest_attempt, first_attempt_at, last_attempt_at"
)
ATTEMPT_COLUMNS = "attempt, outcome, status_code, duration_ms, reason, detail, response_excerpt, at"


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last item's first-attempt time and id."""

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
        at_text, delivery_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeError, TypeError, ValueError, RecursionError):
        raise ValueError("not a cursor this API gave") from None
    if at.tzinfo is None or not isinstance(delivery_id, str) or not storable(delivery_id):
        raise ValueError("not a cursor this API gave")
    return Cursor(at, delivery_id)


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


@dataclass(frozen=True)
class HistoryQuery:
    """The list's filters, page size and cursor."""

    notifier_id: str | None = None
    status: AttemptOutcome | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: int = DEFAULT_LIMIT


def _limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return min(value, MAX_LIMIT)


def _text(raw: str) -> str:
    if not storable(raw) or len(raw) > TEXT_FILTER_MAX:
        raise ValueError(f"must be at most {TEXT_FILTER_MAX} characters, without NUL")
    return raw


def _status(raw: str) -> AttemptOutcome:
    try:
        return AttemptOutcome(raw)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(o.value for o in AttemptOutcome)}") from None


_PARSERS: dict[str, Any] = {
    "notifier_id": _text,
    "event_type": _text,
    "status": _status,
    "since": parse_time,
    "until": parse_time,
    "cursor": decode_cursor,
}


def parse_history_query(query: Mapping[str, str]) -> HistoryQuery:
    """The list's parameters. Pure.

    Raises:
        ApiProblem: 422 naming every bad parameter.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, parse in _PARSERS.items():
        raw = query.get(name)
        if raw in (None, ""):
            continue
        try:
            values[name] = parse(raw)
        except ValueError as error:
            errors[name] = [str(error)]
    try:
        values["limit"] = _limit(query.get("limit"))
    except ValueError as error:
        errors["limit"] = [str(error)]
    if errors:
        raise invalid(errors)
    return HistoryQuery(**values)


def list_sql(app_id: str, query: HistoryQuery) -> tuple[str, list[Any]]:
    """The SELECT of one page (plus one row, to know whether another page follows). Pure."""
    args: list[Any] = [app_id]
    where = ["app_id = $1"]
    conditions = (
        ("notifier_id = {}", query.notifier_id),
        ("event_type = {}", query.event_type),
        ("status = {}", query.status.value if query.status else None),
        ("first_attempt_at >= {}", query.since),
        ("first_attempt_at < {}", query.until),
    )
    for template, value in conditions:
        if value is not None:
            args.append(value)
            where.append(template.format(f"${len(args)}"))
    if query.cursor is not None:
        args += [query.cursor.at, query.cursor.id]
        where.append(f"(first_attempt_at, id) < (${len(args) - 1}, ${len(args)})")
    args.append(query.limit + 1)
    sql = (
        f"SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE {' AND '.join(where)}"  # noqa: S608 - placeholders only
        f" ORDER BY first_attempt_at DESC, id DESC LIMIT ${len(args)}"
    )
    return sql, args


def summary_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery as answered. Pure."""
    return {
        "id": row["id"],
        "app_id": row["app_id"],
        "owner_id": row["owner_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "notifier_id": row["notifier_id"],
        "channel": row["channel"],
        "status": row["status"],
        "status_code": row["status_code"],
        "reason": row["reason"],
        "attempt_count": row["attempt_count"],
        "latest_attempt": row["latest_attempt"],
        "first_attempt_at": row["first_attempt_at"].isoformat(),
        "last_attempt_at": row["last_attempt_at"].isoformat(),
    }


def attempt_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """One attempt as answered. Pure."""
    return {
        "attempt": row["attempt"],
        "outcome": row["outcome"],
        "status_code": row["status_code"],
        "duration_ms": row["duration_ms"],
        "reason": row["reason"],
        "detail": row["detail"],
        "response_excerpt": row["response_excerpt"],
        "at": row["at"].isoformat(),
    }


async def list_deliveries(request: web.Request) -> web.Response:
    query = parse_history_query(request.query)
    async with context(request).pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        sql, args = list_sql(app.id, query)
        rows = await connection.fetch(sql, *args)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    cursor = encode_cursor(Cursor(page[-1]["first_attempt_at"], page[-1]["id"])) if more else None
    return json_response({"deliveries": [summary_json(r) for r in page], "next_cursor": cursor})


async def _delivery_of(
    connection: asyncpg.Connection, app_id: str, delivery_id: str
) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    row = (
        await connection.fetchrow(
            f"SELECT {SUMMARY_COLUMNS} FROM deliveries WHERE id = $1 AND app_id = $2",  # noqa: S608 - constant
            delivery_id,
            app_id,
        )
        if storable(delivery_id)
        else None
    )
    if row is None:
        raise not_found(f"delivery {delivery_id}")
    attempts = await connection.fetch(
        f"SELECT {ATTEMPT_COLUMNS} FROM delivery_attempts"  # noqa: S608 - constant
        " WHERE delivery_id = $1 ORDER BY attempt",
        delivery_id,
    )
    return row, attempts


async def get_delivery(request: web.Request) -> web.Response:
    async with context(request).pool.acquire() as connection:
        app = await visible_app(connection, request, request.match_info["app"])
        # One snapshot: the recorder may be adding an attempt between the two reads.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            row, attempts = await _delivery_of(connection, app.id, request.match_info["id"])
    delivery = {**summary_json(row), "attempts": [attempt_json(a) for a in attempts]}
    return json_response({"delivery": delivery})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/apps/{app}/deliveries", list_deliveries)
    app.router.add_get("/v1/apps/{app}/deliveries/{id}", get_delivery)
