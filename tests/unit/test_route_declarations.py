"""One declaration per route: what the app registers is exactly what `herald_api.routes`
declares, each once, with the declared handler; a second declaration or a route mounted by
hand is noticed."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, cast

import pytest
from aiohttp import web
from herald_api.app import build_app
from herald_api.http.context import ApiContext
from herald_api.http.declare import Auth, Route, register
from herald_api.routes import ROUTES
from herald_api.settings import ApiSettings
from prometheus_client import CollectorRegistry


def app() -> web.Application:
    context = ApiContext(ApiSettings(), pool=cast(Any, None))  # no database: nothing runs
    return build_app(context, CollectorRegistry(), lambda: (True, "ok"), lambda: None)


@pytest.fixture(scope="module")
def built() -> web.Application:
    """The real app, built once for the tests that only look at it (a build takes 0.3 s: it
    writes the OpenAPI document and its page)."""
    return app()


def registered(application: web.Application) -> list[tuple[str, str, Any]]:
    """(METHOD, path, handler) of every route mounted; HEAD is aiohttp's twin of a GET."""
    return [
        (route.method, route.resource.canonical, route.handler)
        for route in application.router.routes()
        if route.method != "HEAD" and route.resource is not None
    ]


def mismatches(application: web.Application, routes: tuple[Route, ...]) -> dict[str, Any]:
    """What breaks "one declaration per route" between a built app and `routes`. Pure."""
    mounted = registered(application)
    declared = Counter((r.method, r.path) for r in routes)
    mounted_keys = Counter((m, p) for m, p, _ in mounted)
    handlers = {(r.method, r.path): r.handler for r in routes}
    return {
        "declared twice": sorted(k for k, n in declared.items() if n > 1),
        "mounted twice": sorted(k for k, n in mounted_keys.items() if n > 1),
        "undeclared": sorted(set(mounted_keys) - set(declared)),
        "unmounted": sorted(set(declared) - set(mounted_keys)),
        "other handler": sorted(
            (m, p) for m, p, h in mounted if (m, p) in handlers and handlers[(m, p)] is not h
        ),
    }


def test_every_route_has_one_declaration_and_every_declaration_is_mounted(built):
    found = mismatches(built, ROUTES)
    assert all(not what for what in found.values()), found
    assert len(ROUTES) == 66


def test_a_route_mounted_by_hand_is_noticed():
    application = app()

    async def stray(request: web.Request) -> web.Response:
        return web.Response()

    application.router.add_post("/v1/stray", stray)
    assert mismatches(application, ROUTES)["undeclared"] == [("POST", "/v1/stray")]


def test_a_declaration_left_out_is_noticed(built):
    assert mismatches(built, ROUTES[1:])["undeclared"] == [(ROUTES[0].method, ROUTES[0].path)]


def test_a_route_declared_twice_is_refused_at_registration():
    with pytest.raises(ValueError, match="declared twice"):
        register(web.Application(), (*ROUTES, ROUTES[3]))


def test_each_area_declares_its_own_routes_next_to_its_handlers():
    for route in ROUTES:
        assert route.handler.__module__.startswith(("herald_api.", "herald_runtime.health"))
    public = {f"{r.method} {r.path}" for r in ROUTES if r.auth is Auth.PUBLIC}
    assert "POST /v1/unsubscribe/{token}" in public
    assert "GET /v1/apps/{app}/notifiers" not in public


def test_an_admin_route_must_say_what_it_hides():
    admin_routes = [r for r in ROUTES if r.auth is Auth.ADMIN]
    assert {f"{r.method} {r.path}" for r in admin_routes} == {
        "PUT /v1/users/{user}",
        "GET /v1/users/{user}",
        "POST /v1/notifiers/{id}/disable",
    }
    silent = dataclasses.replace(admin_routes[0], resource="")
    with pytest.raises(ValueError, match="hides a resource"):
        register(web.Application(), (silent,))
