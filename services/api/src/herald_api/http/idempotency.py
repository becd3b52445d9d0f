"""`Idempotency-Key` on POST: the same key and body replay the first answer; another body → 422.

The key is claimed inside the creating transaction (INSERT … ON CONFLICT DO NOTHING), so two
concurrent requests with one key cannot both create: the second waits on the unique index, then
finds the claim and replays the stored answer.
"""

from __future__ import annotations

import hashlib
import json

import asyncpg
from aiohttp import web

from herald_api.http.auth import Principal
from herald_api.http.web import ApiProblem, json_response

HEADER = "Idempotency-Key"


def body_hash(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same. Pure."""
    return hashlib.sha256(b"\x1f".join([method.encode(), path.encode(), body])).hexdigest()


async def claim(
    connection: asyncpg.Connection,
    caller: Principal,
    key: str,
    request: web.Request,
    body: bytes,
    ttl_s: int,
) -> web.Response | None:
    """Claim `key` for this request, or return the answer to replay. Inside a transaction."""
    if not 1 <= len(key) <= 200:
        raise ApiProblem(
            400, "Idempotency-Key must be 1 to 200 characters", kind="invalid-idempotency-key"
        )
    digest = body_hash(request.method, request.path, body)
    await connection.execute(
        "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2"
        " AND created_at < now() - make_interval(secs => $3)",
        caller.token_id,
        key,
        ttl_s,
    )
    claimed = await connection.fetchval(
        "INSERT INTO idempotency_keys (token_id, key, method, path, body_hash, status, response)"
        " VALUES ($1, $2, $3, $4, $5, 0, '') ON CONFLICT DO NOTHING RETURNING true",
        caller.token_id,
        key,
        request.method,
        request.path,
        digest,
    )
    if claimed:
        return None
    row = await connection.fetchrow(
        "SELECT body_hash, status, response, headers FROM idempotency_keys"
        " WHERE token_id = $1 AND key = $2",
        caller.token_id,
        key,
    )
    if row["body_hash"] != digest:
        raise ApiProblem(
            422,
            "this Idempotency-Key was used with a different request",
            kind="idempotency-key-reused",
            errors={HEADER: ["was used with a different request"]},  # Scalingo needs `errors`
        )
    if row["status"] == 0:
        raise ApiProblem(
            409,
            "a request with this Idempotency-Key is still in progress",
            kind="idempotency-key-in-progress",
        )
    response = json_response(json.loads(row["response"]), status=row["status"])
    response.headers.update(json.loads(row["headers"]))
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def remember(
    connection: asyncpg.Connection, caller: Principal, key: str, response: web.Response
) -> None:
    """Store the answer of a claimed key (in the same transaction)."""
    kept = {k: v for k, v in response.headers.items() if k in ("ETag", "Location")}
    assert isinstance(response.body, bytes)
    await connection.execute(
        "UPDATE idempotency_keys SET status = $3, response = $4, headers = $5::jsonb"
        " WHERE token_id = $1 AND key = $2",
        caller.token_id,
        key,
        response.status,
        response.body,
        json.dumps(kept),
    )
