"""Convox's audit log: the audit-only events of an owner, never forwarded.

GET /v1/owners/{owner}/audit-log   200 {"entries": [...], "next_cursor": "…" | null}

The recorder's audit consumer (herald_recorder.audit) writes every audit-only event of
`notify.events` (the budget-configuration and override events) to `audit_log`; this lists an
owner's, newest first by the event's time then id, in keyset pages like the delivery history
(`herald_api.http.keyset`: an opaque `next_cursor`, no skip or repeat while entries arrive).
Filters: `app` (the app's id or name), `type` (an event type id), `since` (inclusive) and
`until` (exclusive), RFC 3339 times of the event; `limit` per page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

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
from herald_api.http.scope import scoped_owner_id
from herald_api.http.web import json_response
from herald_api.native.native_wire import AuditLog

COLUMNS = "event_id, owner_id, app_id, app_name, rack, event_type, actor, created_at, event"
KEYSET = Keyset(at="created_at", id="event_id")


@dataclass(frozen=True)
class AuditQuery:
    app: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: int = DEFAULT_LIMIT


_PARSERS: dict[str, Callable[[str], Any]] = {
    "app": parse_text,
    "type": parse_text,
    **PAGE_PARSERS,
}


def parse_audit_query(query: Mapping[str, str]) -> AuditQuery:
    """The list's parameters. Pure.

    Raises:
        ApiProblem: 422 naming every bad parameter.
    """
    return AuditQuery(**parse_params(query, _PARSERS))


def audit_sql(owner_id: str, query: AuditQuery) -> tuple[str, list[Any]]:
    """The SELECT of one page, plus one row to know whether another follows. Pure."""
    filters = (
        ("owner_id = {}", owner_id),
        ("(app_id = {0} OR app_name = {0})", query.app),
        ("event_type = {}", query.type),
        ("created_at >= {}", query.since),
        ("created_at < {}", query.until),
    )
    return KEYSET.page_sql(
        f"SELECT {COLUMNS} FROM audit_log",  # noqa: S608 - constant
        filters,
        query.cursor,
        query.limit,
    )


def entry_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """One audit entry as answered; `event` is the envelope as it was on notify.events. Pure."""
    return {
        "id": row["event_id"],
        "type": row["event_type"],
        "created_at": row["created_at"].isoformat(),
        "owner_id": row["owner_id"],
        "app_id": row["app_id"],
        "app_name": row["app_name"],
        "rack": row["rack"],
        "actor": row["actor"],
        "event": json.loads(row["event"]),
    }


async def list_audit_log(request: web.Request) -> web.Response:
    owner_id = scoped_owner_id(request)  # registered or not: its entries, if any
    query = parse_audit_query(request.query)
    sql, args = audit_sql(owner_id, query)
    rows = await context(request).pool.fetch(sql, *args)
    page, cursor = KEYSET.page(rows, query.limit)
    return json_response({"entries": [entry_json(r) for r in page], "next_cursor": cursor})


AUDIT_FILTERS = (
    Param("app", "query", "Only this app's entries (its id or name)", {"type": "string"}),
    Param("type", "query", "Only this event type", {"type": "string"}, example="app:budget:set"),
    Param("since", "query", "Events at or after this RFC 3339 time", TIME),
    Param("until", "query", "Events before this RFC 3339 time", TIME),
    *KEYSET_PAGE,
)
ROUTES = (
    Route(
        "GET",
        "/v1/owners/{owner}/audit-log",
        "List an owner's audit-only events (recorded, never forwarded), newest first",
        "integrations",
        {200: ok_answer(AuditLog)},
        params=AUDIT_FILTERS,
        description="Convox's budget-configuration and override events. Keyset pages with"
        " `limit` and the opaque `next_cursor`.",
        scope=PathScope.OWNER_ID,
        handler=list_audit_log,
    ),
)
