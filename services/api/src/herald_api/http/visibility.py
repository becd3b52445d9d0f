"""What a caller may see: an app the token may not see is a 404, never a 403 (`auth`)."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from herald_core.directory import AppEntry

from herald_api.http.context import principal
from herald_api.http.web import not_found, storable
from herald_api.store import directory_store as store


async def visible_app(
    connection: asyncpg.Connection, request: web.Request, app_id: str
) -> AppEntry:
    """The app if it exists and the caller may see it; 404 otherwise (never 403)."""
    app = await store.load_app(connection, app_id) if storable(app_id) else None
    if app is None or not principal(request).may_see_app(app.id, app.owner_id):
        raise not_found(f"app {app_id}")
    return app
