"""What every handler needs: settings, the pool, the clock, and the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from aiohttp import web

from herald_api.http.auth import Principal
from herald_api.http.web import ApiProblem
from herald_api.settings import ApiSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiContext:
    settings: ApiSettings
    pool: asyncpg.Pool
    clock: Callable[[], datetime] = utc_now


CONTEXT = web.AppKey("herald_api_context", ApiContext)
PRINCIPAL = web.RequestKey("herald_principal", Principal)


def context(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]


def principal(request: web.Request) -> Principal:
    found: Principal | None = request.get(PRINCIPAL)
    if found is None:
        raise ApiProblem(401, "a valid bearer token is required", kind="unauthorized")
    return found
