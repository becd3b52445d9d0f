"""Where a service runs: `HERALD_ENV`, `development` (the default) or `production`. Pure.

Every service reads it once at start (`herald_runtime.startup.refuse_unsafe_start`). In
production a service refuses to start while one of its settings keeps a development default:
a well-known or short secret, the local admin or ingest token, webhooks allowed on loopback, or
ingest open without authentication. Each service lists its own problems
(`production_problems` in its `production` module) with the helpers below, one sentence each
saying which setting, why, and how to fix it (docs/operations.md, "Running in production").

    environment_of({"HERALD_ENV": "production"})    # Environment.PRODUCTION
    secret_problem("HERALD_API_JWT_SECRET", "change-me", known=KNOWN_SECRETS)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

ENV_VARIABLE = "HERALD_ENV"
MIN_SECRET_LENGTH = 32
"""Characters a production secret or token has at least (`openssl rand -hex 32` gives 64)."""

DEV_ADMIN_TOKEN = "hrld_local-dev-admin-token-not-for-production"  # noqa: S105 - local runs only
"""The admin token the local stack (`herald-dev up`) gives the API; printed by `up`."""
DEV_INGEST_TOKEN = "herald-local-dev-ingest-token-not-for-production"  # noqa: S105 - local only
"""The producer token the local stack gives ingest; its tools send it."""

KNOWN_SECRETS = frozenset(
    {
        DEV_ADMIN_TOKEN,
        DEV_INGEST_TOKEN,
        "herald-local-development-only-change-me",  # ApiSettings.jwt_secret's default
        "herald-dev-unsubscribe-secret-change-me",  # herald_core.unsubscribe.DEV_SECRET
        "hrld_change-me-admin-token",  # .env.example's placeholders (docker-compose.yml)
        "change-me-jwt-secret",
        "change-me-ingest-producer-token",
        "change-me-unsubscribe-secret",
        "hrld_compose-admin-token-change-me",  # docker-compose.yml's former defaults
        "compose-jwt-secret-change-me",
        "compose-ingest-token-change-me",
    }
)
"""Secrets printed in this repository: never a production value, whatever the setting."""

HOW_TO_FIX = "set it to a long random value (e.g. `openssl rand -hex 32`)"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


def environment_of(environ: Mapping[str, str]) -> Environment:
    """The environment `environ` names in HERALD_ENV; development when unset or empty.

    Raises:
        ValueError: any other value, naming the ones allowed (a typo must not mean development).
    """
    value = environ.get(ENV_VARIABLE, "").strip().lower()
    if not value:
        return Environment.DEVELOPMENT
    try:
        return Environment(value)
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ValueError(f"{ENV_VARIABLE}={value!r} is not one of {allowed}") from None


def secret_problem(
    setting: str,
    value: str | None,
    *,
    known: Collection[str] = KNOWN_SECRETS,
    min_length: int = MIN_SECRET_LENGTH,
) -> str | None:
    """Why `value` of `setting` is no production secret, or None when it may be one.

    None for an unset value: whether a setting is required is its caller's question.
    """
    if value is None:
        return None
    if value in known:
        return (
            f"{setting} is a development default published in Herald's repository: anyone can"
            f" use it; {HOW_TO_FIX}"
        )
    if len(value) < min_length:
        return (
            f"{setting} is {len(value)} characters long, too short to resist guessing: give it"
            f" at least {min_length}; {HOW_TO_FIX}"
        )
    return None


def loopback_problem(setting: str) -> str:
    """The problem of `allow_loopback_targets` left on: webhooks may reach the host itself."""
    return (
        f"{setting} is true: notifier URLs may then point at 127.0.0.0/8 and ::1, which lets"
        f" any tenant reach services on Herald's own hosts (server-side request forgery); it is"
        f" for tests and local runs only: unset it or set it to false"
    )
