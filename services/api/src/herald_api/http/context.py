"""What every handler needs: settings, the pool, the clock, and the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ValidationError

from herald_api.http.auth import Principal
from herald_api.http.web import ApiProblem, invalid
from herald_api.settings import ApiSettings

M = TypeVar("M", bound=BaseModel)


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


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """pydantic errors → Scalingo's `errors` member (dotted field path → messages). Pure."""
    errors: dict[str, list[str]] = {}
    for item in error.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in item["loc"]) or "body"
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        errors.setdefault(path, []).append(message)
    return errors


def parse(model: type[M], data: Any) -> M:
    """Validate a request object. Raises ApiProblem 422 listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(field_errors(error)) from None
