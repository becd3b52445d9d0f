"""The catalog over HTTP, public like Scalingo's (docs/scalingo-compat.md §4).

GET /v1/notification_platforms[?page&per_page]   {"notification_platforms": [...], "meta": ...}
GET /v1/notification_platforms/search?name=slack {"notification_platforms": [...]}
GET /v1/event_types                              {"event_types": [...]}        (no meta:
GET /v1/event_categories                         {"event_categories": [...]}    the Go client
                                                                                decodes every
                                                                                member as a list)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from herald_core.catalog import CATALOG

from herald_api.http import wire_models as w
from herald_api.http.context import context
from herald_api.http.declare import PAGE, Auth, Param, Route, ok_answer
from herald_api.http.web import json_response, page_of
from herald_api.model.platforms import PLATFORMS, Platform, available_event_ids, logo_url

PUBLIC_PATHS = frozenset(
    {
        "/v1/notification_platforms",
        "/v1/notification_platforms/search",
        "/v1/event_types",
        "/v1/event_categories",
    }
)


def platform_json(platform: Platform, public_url: str) -> dict[str, Any]:
    return {
        "id": platform.id,
        "name": platform.name,
        "display_name": platform.display_name,
        "logo_url": logo_url(public_url, platform),
        "description": platform.description,
        "available_event_ids": list(available_event_ids(platform.id)),
    }


def event_types_json() -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "category_id": t.category,
            "name": t.id,
            "display_name": t.display_name,
            "description": t.description,
            "template": t.template,
            "family": t.family.value,
            "severity": t.severity.value,
            "critical": t.critical,
        }
        for t in CATALOG.types()
        if t.id not in CATALOG.audit_only_ids()
    ]


def event_categories_json() -> list[dict[str, Any]]:
    return [
        {"id": c.id, "name": c.id, "display_name": c.name, "position": c.position}
        for c in CATALOG.categories()
    ]


async def list_platforms(request: web.Request) -> web.Response:
    ctx = context(request)
    page = page_of(request.query, default_size=len(PLATFORMS), max_size=ctx.settings.max_per_page)
    chosen = PLATFORMS[page.offset : page.offset + page.size]
    return json_response(
        {
            "notification_platforms": [platform_json(p, ctx.settings.public_url) for p in chosen],
            "meta": page.meta(len(PLATFORMS)),
        }
    )


async def search_platforms(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    found = [
        platform_json(p, context(request).settings.public_url) for p in PLATFORMS if p.name == name
    ]
    return json_response({"notification_platforms": found})


async def list_event_types(_: web.Request) -> web.Response:
    return json_response({"event_types": event_types_json()})


async def list_event_categories(_: web.Request) -> web.Response:
    return json_response({"event_categories": event_categories_json()})


ROUTES = (
    Route(
        "GET",
        "/v1/notification_platforms",
        "List notification platforms",
        "catalog",
        {200: ok_answer(w.NotificationPlatformList)},
        auth=Auth.PUBLIC,
        params=PAGE,
        handler=list_platforms,
    ),
    Route(
        "GET",
        "/v1/notification_platforms/search",
        "Find platforms by exact name",
        "catalog",
        {200: ok_answer(w.NotificationPlatformSearch, "The matching platforms (maybe none)")},
        auth=Auth.PUBLIC,
        params=(Param("name", "query", "The platform name", {"type": "string"}, False, "slack"),),
        handler=search_platforms,
    ),
    Route(
        "GET",
        "/v1/event_types",
        "List event types",
        "catalog",
        {200: ok_answer(w.EventTypeList)},
        auth=Auth.PUBLIC,
        description="No `meta`: Scalingo's Go client decodes every member as a list.",
        handler=list_event_types,
    ),
    Route(
        "GET",
        "/v1/event_categories",
        "List event categories",
        "catalog",
        {200: ok_answer(w.EventCategoryList)},
        auth=Auth.PUBLIC,
        description="No `meta`, like `/v1/event_types`.",
        handler=list_event_categories,
    ),
)
