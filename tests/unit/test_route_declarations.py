"""One declaration per route: what the app registers is exactly what `herald_api.routes`
declares, each once, with the declared handler; a second declaration or a route mounted by
hand is noticed. A route whose path names an app, an owner or a user declares the scope the
access middleware checks (`PathScope`), or is listed here with the reason it does not."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, cast

import pytest
from aiohttp import web
from herald_api.app import build_app
from herald_api.http.context import ApiContext
from herald_api.http.declare import Auth, PathScope, Route, path_params, register, shared_answers
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
    assert len(ROUTES) == 67


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


# Routes whose path names a resource they are not scoped to, and why; each is checked by hand.
UNSCOPED = {
    "PUT /v1/apps/{app}": "creates the app: the token is judged against the app as stored and"
    " as the body's owner_id would leave it",
    "GET /v1/owners/{owner}/events/stream": "an app token of one of the owner's apps may stream"
    " it too, narrowed to its app",
    "POST /v1/owners/{owner}/events/stream/token": "whoever may stream the owner gets a stream"
    " token, an app token of one of its apps included",
}


def label(route: Route) -> str:
    return f"{route.method} {route.path}"


def test_every_route_naming_an_app_is_scoped_to_it():
    named = [r for r in ROUTES if "app" in path_params(r.path) and label(r) not in UNSCOPED]
    assert len(named) == 26
    assert {label(r): r.scope for r in named if r.scope is not PathScope.APP} == {}


def test_every_route_naming_an_owner_is_scoped_to_it():
    named = [r for r in ROUTES if "owner" in path_params(r.path) and label(r) not in UNSCOPED]
    assert {label(r): r.scope for r in named} == {
        **{label(r): PathScope.OWNER for r in named if r.path.startswith("/v2/notifications")},
        "GET /v1/owners/{owner}": PathScope.OWNER,
        "GET /v1/owners/{owner}/integrations/{provider}/authorize": PathScope.OWNER,
        "GET /v1/owners/{owner}/integrations": PathScope.OWNER,
        "DELETE /v1/owners/{owner}/integrations/{id}": PathScope.OWNER,
        # registered or not: the PUT registers it; an owner's audit log may precede it
        "PUT /v1/owners/{owner}": PathScope.OWNER_ID,
        "GET /v1/owners/{owner}/audit-log": PathScope.OWNER_ID,
    }
    assert sum(r.path.startswith("/v2/notifications/") for r in named) == 8


def test_every_route_naming_a_user_is_scoped_to_it_or_admin_only():
    named = [r for r in ROUTES if "user" in path_params(r.path)]
    assert {label(r): (r.auth, r.scope) for r in named} == {
        "PUT /v1/users/{user}": (Auth.ADMIN, None),
        "GET /v1/users/{user}": (Auth.ADMIN, None),
        "GET /v1/users/{user}/account_notifications": (Auth.BEARER, PathScope.USER),
        "PATCH /v1/users/{user}/account_notifications": (Auth.BEARER, PathScope.USER),
        "POST /v1/users/{user}/account_notifications/webhook/test": (
            Auth.BEARER,
            PathScope.USER,
        ),
    }


def test_the_unscoped_exceptions_are_real_bearer_routes():
    declared = {label(r): r for r in ROUTES}
    for name in UNSCOPED:
        assert (declared[name].auth, declared[name].scope) == (Auth.BEARER, None), name


def test_a_scoped_route_names_its_resource_in_its_path_and_takes_any_token():
    for route in (r for r in ROUTES if r.scope is not None):
        assert route.scope.param in path_params(route.path), label(route)
        assert route.auth is Auth.BEARER, label(route)
    get_app = next(r for r in ROUTES if label(r) == "GET /v1/apps/{app}")
    for wrong in (
        dataclasses.replace(get_app, scope=PathScope.OWNER),
        dataclasses.replace(get_app, auth=Auth.PUBLIC),
        dataclasses.replace(get_app, auth=Auth.ADMIN, resource="app"),
    ):
        with pytest.raises(ValueError, match="scope is a bearer route's"):
            register(web.Application(), (wrong,))


def test_the_404_answer_says_which_scope_applies():
    by_label = {label(r): r for r in ROUTES}
    described = {
        name: shared_answers(by_label[name])[404].description
        for name in (
            "GET /v1/apps/{app}/notifiers",
            "GET /v2/notifications/webhooks/{owner}",
            "GET /v1/owners/{owner}/audit-log",
            "GET /v1/users/{user}/account_notifications",
            "GET /v1/notifiers/{id}/secret",
        )
    }
    assert "an app the token may not see" in described["GET /v1/apps/{app}/notifiers"]
    assert "or one not registered" in described["GET /v2/notifications/webhooks/{owner}"]
    assert described["GET /v1/owners/{owner}/audit-log"].startswith("Outside the token's scope")
    assert "a user whose account" in described["GET /v1/users/{user}/account_notifications"]
    assert described["GET /v1/notifiers/{id}/secret"] == "Unknown, or outside the token's scope"
