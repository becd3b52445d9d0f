"""Bearer tokens: stored hashed, scoped to everything (admin), one app, or one owner.

A token scoped to an app or owner sees only its own resources; anything else answers 404, as
if it did not exist (no probing for other tenants' ids). Tokens are shown once, at creation.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

TOKEN_PREFIX = "hrld_"  # noqa: S105 - a prefix, not a secret


class TokenScope(StrEnum):
    ADMIN = "admin"
    APP = "app"
    OWNER = "owner"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as authorisation is concerned."""

    token_id: str
    name: str
    scope: TokenScope
    scope_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.scope is TokenScope.ADMIN

    def may_see_app(self, app_id: str, owner_id: str | None) -> bool:
        """True when the token may read and change this app and what hangs off it."""
        if self.scope is TokenScope.ADMIN:
            return True
        if self.scope is TokenScope.APP:
            return self.scope_id == app_id
        return owner_id is not None and self.scope_id == owner_id

    def may_see_owner(self, owner_id: str) -> bool:
        return self.scope is TokenScope.ADMIN or (
            self.scope is TokenScope.OWNER and self.scope_id == owner_id
        )


def new_token() -> str:
    """A fresh secret token (shown once)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form: SHA-256 of a high-entropy random token (no salt needed). Pure."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_header(value: str | None) -> str | None:
    """`Bearer <t>`, or `Basic base64(:<t>)` as Scalingo clients send API tokens. Pure."""
    if not value:
        return None
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        _, _, password = decoded.partition(":")
        return password or None
    return None


async def create_token(
    connection: asyncpg.Connection,
    name: str,
    scope: TokenScope,
    scope_id: str | None = None,
    *,
    token: str | None = None,
) -> tuple[str, str]:
    """Store a new token; return (token id, the token itself)."""
    if (scope is TokenScope.ADMIN) != (scope_id is None):
        raise ValueError("an admin token has no scope id; app and owner tokens need one")
    token = token or new_token()
    token_id = str(uuid.uuid4())
    await connection.execute(
        "INSERT INTO api_tokens (id, name, token_hash, scope_kind, scope_id)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (token_hash) DO NOTHING",
        token_id,
        name,
        hash_token(token),
        scope.value,
        scope_id,
    )
    return token_id, token


async def revoke_token(connection: asyncpg.Connection, token_id: str) -> bool:
    """Revoke a token; True if it existed and was active."""
    result: str = await connection.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", token_id
    )
    return result.endswith(" 1")


async def find_principal(pool: asyncpg.Pool, token: str) -> Principal | None:
    """The principal of an active token, or None."""
    row = await pool.fetchrow(
        "SELECT id, name, scope_kind, scope_id FROM api_tokens "
        "WHERE token_hash = $1 AND revoked_at IS NULL",
        hash_token(token),
    )
    if row is None:
        return None
    return Principal(row["id"], row["name"], TokenScope(row["scope_kind"]), row["scope_id"])
