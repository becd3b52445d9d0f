"""Convox's audit log (seed 003): the audit-only events of an owner, never forwarded.

GET /v1/owners/{owner}/audit-log   200 {"entries": [...], "next_cursor": "…" | null}

The recorder's audit consumer (herald_recorder.audit) writes every audit-only event of
`notify.events` (the budget-configuration and override events) to `audit_log`; this lists an
owner's, newest first by the event's time then id, in keyset pages like the delivery history
(`history_api`: an opaque `next_cursor`, no skip or repeat while entries arrive). Filters: `app`
(the app's id or name), `type` (an event type id), `since` (inclusive) and `until` (exclusive),
RFC 3339 times of the event; `limit` per page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from herald_api.context import context, principal
from herald_api.history_api import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    decode_cursor,
    encode_cursor,
    parse_time,
)
from herald_api.web import invalid, json_response, not_found, storable

TEXT_MAX = 200
COLUMNS = "event_id, owner_id, app_id, app_name, rack, event_type, actor, created_at, event"


@dataclass(frozen=True)
class AuditQuery:
    app: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: Cursor | None = None
    limit: int = DEFAULT_LIMIT


def _text(raw: str) -> str:
    if not storable(raw) or len(raw) > TEXT_MAX:
        raise ValueError(f"must be at most {TEXT_MAX} characters, without NUL")
    return raw


def _limit(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("must be a whole number") from None
    if value < 1:
        raise ValueError("must be at least 1")
    return min(value, MAX_LIMIT)


_PARSERS: dict[str, Any] = {
    "app": _text,
    "type": _text,
    "since": parse_time,
    "until": parse_time,
    "cursor": decode_cursor,
    "limit": _limit,
}


def parse_audit_query(query: Mapping[str, str]) -> AuditQuery:
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
    if errors:
        raise invalid(errors)
    return AuditQuery(**values)


def audit_sql(owner_id: str, query: AuditQuery) -> tuple[str, list[Any]]:
    """The SELECT of one page, plus one row to know whether another follows. Pure."""
    args: list[Any] = [owner_id]
    where = ["owner_id = $1"]
    if query.app is not None:
        args.append(query.app)
        where.append(f"(app_id = ${len(args)} OR app_name = ${len(args)})")
    conditions = (
        ("event_type = {}", query.type),
        ("created_at >= {}", query.since),
        ("created_at < {}", query.until),
    )
    for template, value in conditions:
        if value is not None:
            args.append(value)
            where.append(template.format(f"${len(args)}"))
    if query.cursor is not None:
        args += [query.cursor.at, query.cursor.id]
        where.append(f"(created_at, event_id) < (${len(args) - 1}, ${len(args)})")
    args.append(query.limit + 1)
    sql = (
        f"SELECT {COLUMNS} FROM audit_log WHERE {' AND '.join(where)}"  # noqa: S608 - placeholders only
        f" ORDER BY created_at DESC, event_id DESC LIMIT ${len(args)}"
    )
    return sql, args


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
    owner_id = request.match_info["owner"]
    if not storable(owner_id) or not principal(request).may_see_owner(owner_id):
        raise not_found(f"owner {owner_id}")
    query = parse_audit_query(request.query)
    sql, args = audit_sql(owner_id, query)
    rows = await context(request).pool.fetch(sql, *args)
    page = rows[: query.limit]
    more = len(rows) > query.limit
    cursor = encode_cursor(Cursor(page[-1]["created_at"], page[-1]["event_id"])) if more else None
    return json_response({"entries": [entry_json(r) for r in page], "next_cursor": cursor})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/owners/{owner}/audit-log", list_audit_log)
