"""The reads Clever Cloud's face needs from Postgres: an owner's hooks (its owner-scoped
notifiers carrying `type_data.hook_id`), the ids a hook's `scope` names, and the recent failed
attempts of a hook's notifiers (the recorder's `deliveries` and `delivery_attempts`).

Writes go through `notifier_store`, like every other face's.
"""

from __future__ import annotations

import asyncpg
from herald_core.notifiers import Notifier

from herald_api.model.hooks import MAX_FAILURES, Failure, ScopeFacts, group_hooks

_HOOKS = (
    "SELECT document FROM notifiers WHERE scope = 'owner' AND owner_id = $1"
    " AND document->'type_data'->>'hook_kind' = $2 ORDER BY created_at, id"
)
_HOOKS_FOR_UPDATE = _HOOKS + " FOR UPDATE"


async def owner_hooks(
    connection: asyncpg.Connection, owner_id: str, kind: str, *, lock: bool = False
) -> dict[str, list[Notifier]]:
    """An owner's hooks of one kind (`webhook`, `emailhook`), oldest first, by hook id."""
    rows = await connection.fetch(_HOOKS_FOR_UPDATE if lock else _HOOKS, owner_id, kind)
    return group_hooks((Notifier.model_validate_json(r["document"]) for r in rows), kind)


async def scope_facts(connection: asyncpg.Connection, ids: list[str]) -> ScopeFacts:
    """Which of `ids` are apps (and whose), and which are owners or users."""
    if not ids:
        return ScopeFacts()
    apps = await connection.fetch("SELECT id, owner_id FROM apps WHERE id = ANY($1::text[])", ids)
    principals = await connection.fetch(
        "SELECT id FROM owners WHERE id = ANY($1::text[])"
        " UNION SELECT id FROM users WHERE id = ANY($1::text[])",
        ids,
    )
    return ScopeFacts(
        {r["id"]: r["owner_id"] for r in apps}, frozenset(r["id"] for r in principals)
    )


async def recent_failures(
    connection: asyncpg.Connection, notifier_ids: list[str], *, per_notifier: int = MAX_FAILURES
) -> list[Failure]:
    """The latest failed attempts (retried or dead-lettered) of these notifiers'
    deliveries of the last 30 days, newest first."""
    if not notifier_ids:
        return []
    rows = await connection.fetch(
        "SELECT notifier_id, at, status_code, reason, detail, response_excerpt FROM ("
        " SELECT d.notifier_id, a.at, a.status_code, a.reason, a.detail, a.response_excerpt,"
        "  row_number() OVER (PARTITION BY d.notifier_id ORDER BY a.at DESC) AS n"
        " FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id"
        " WHERE d.notifier_id = ANY($1::text[]) AND a.outcome <> 'delivered'"
        "  AND d.first_attempt_at > now() - interval '30 days'"
        ") recent WHERE n <= $2 ORDER BY at DESC",
        notifier_ids,
        per_notifier,
    )
    return [
        Failure(
            notifier_id=r["notifier_id"],
            at=r["at"],
            status_code=r["status_code"],
            reason=r["reason"],
            detail=r["detail"],
            response_excerpt=r["response_excerpt"],
        )
        for r in rows
    ]
