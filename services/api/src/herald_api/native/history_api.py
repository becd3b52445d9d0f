"""Delivery history, as the recorder (services/recorder) wrote it:

GET /v1/apps/{app}/deliveries        200 {"deliveries": [...], "next_cursor": "…" | null}
GET /v1/apps/{app}/deliveries/{id}   200 {"delivery": {..., "attempts": [...]}}

The list is newest first, by the time of a delivery's first attempt and then its id, in keyset
pages (`herald_api.http.keyset`: an opaque `next_cursor`, no skip or repeat while deliveries
arrive).
Filters: `notifier_id`, `status`, `event_type`, `since` (inclusive) and `until` (exclusive), both
RFC 3339 times of the first attempt. An app the token may not see is a 404, like the notifiers API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiohttp import web
from herald_core.deliveries import AttemptOutcome

from herald_api.http.context import context
from herald_api.http.declare import KEYSET_PAGE, TIME, Param, PathScope, Route, ok_answer
from herald_api.http.keyset import (
    DEFAULT_LIMIT,
    PAGE_PARSERS,
    Cursor,
    Keyset,
    parse_params,
    parse_text,
)
from herald_api.http.scope import scoped_app
from herald_api.http.web import json_response, not_found, storable
from herald_api.native.native_wire import DeliveryAnswer, DeliveryList

SUMMARY_COLUMNS = (
    "id, app_id, owner_id, event_id, event_type, notifier_id, channel, status, status_code,"
    " reason, attempt_count, latest_attempt, first_attempt_at, last_attempt_at"
)
ATTEMPT_COLUMNS = "attempt, outcome, status_code, duration_ms, reason, detail, response_excerpt, at"
KEYSET = Keyset(at="first_attempt_at", id="id")


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


def _status(raw: str) -> AttemptOutcome:
    try:
        return AttemptOutcome(raw)
    except ValueError:
        raise ValueError(f"must be one of {', '.join(o.value for o in AttemptOutcome)}") from None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "notifier_id": parse_text,
    "event_type": parse_text,
    "status": _status,
    **PAGE_PARSERS,
}


def parse_history_query(query: Mapping[str, str]) -> HistoryQuery:
    """The list's parameters. Pure.

    Raises:
        ApiProblem: 422 naming every bad parameter.
    """
    return HistoryQuery(**parse_params(query, _PARSERS))


def list_sql(app_id: str, query: HistoryQuery) -> tuple[str, list[Any]]:
    """The SELECT of one page (plus one row, to know whether another page follows). Pure."""
    filters = (
        ("app_id = {}", app_id),
        ("notifier_id = {}", query.notifier_id),
        ("event_type = {}", query.event_type),
        ("status = {}", query.status.value if query.status else None),
        ("first_attempt_at >= {}", query.since),
        ("first_attempt_at < {}", query.until),
    )
    return KEYSET.page_sql(
        f"SELECT {SUMMARY_COLUMNS} FROM deliveries",  # noqa: S608 - constant
        filters,
        query.cursor,
        query.limit,
    )


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
    sql, args = list_sql(scoped_app(request).id, query)
    rows = await context(request).pool.fetch(sql, *args)
    page, cursor = KEYSET.page(rows, query.limit)
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
    app = scoped_app(request)
    # One snapshot: the recorder may be adding an attempt between the two reads.
    async with (
        context(request).pool.acquire() as connection,
        connection.transaction(isolation="repeatable_read", readonly=True),
    ):
        row, attempts = await _delivery_of(connection, app.id, request.match_info["id"])
    delivery = {**summary_json(row), "attempts": [attempt_json(a) for a in attempts]}
    return json_response({"delivery": delivery})


HISTORY_FILTERS = (
    Param("notifier_id", "query", "Only this notifier's deliveries", {"type": "string"}),
    Param(
        "status",
        "query",
        "Only deliveries whose latest attempt had this outcome",
        {"type": "string", "enum": [o.value for o in AttemptOutcome]},
        example="dead_lettered",
    ),
    Param("event_type", "query", "Only deliveries of this event type", {"type": "string"}),
    Param("since", "query", "First attempt at or after this RFC 3339 time", TIME),
    Param("until", "query", "First attempt before this RFC 3339 time", TIME),
    *KEYSET_PAGE,
)
ROUTES = (
    Route(
        "GET",
        "/v1/apps/{app}/deliveries",
        "List an app's deliveries, newest first",
        "deliveries",
        {200: ok_answer(DeliveryList)},
        params=HISTORY_FILTERS,
        description="Ordered by first attempt time, then id. Pages with `limit` and the opaque "
        "`next_cursor`; a page never skips or repeats a delivery while new ones arrive.",
        scope=PathScope.APP,
        handler=list_deliveries,
    ),
    Route(
        "GET",
        "/v1/apps/{app}/deliveries/{id}",
        "Show a delivery and every attempt",
        "deliveries",
        {200: ok_answer(DeliveryAnswer)},
        description="Each attempt's outcome, status code, duration, failure reason and detail, "
        "and the start of the endpoint's answer when the channel read it.",
        scope=PathScope.APP,
        handler=get_delivery,
    ),
)
