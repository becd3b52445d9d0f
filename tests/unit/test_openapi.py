"""The OpenAPI document against the aiohttp app it describes, and its rendered page."""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from herald_api.app import build_app
from herald_api.faces.scalingo.notifier_face import notifier_from_create
from herald_api.http import wire_models as w
from herald_api.http.context import ApiContext
from herald_api.http.declare import Auth
from herald_api.http.openapi import build_document
from herald_api.http.reference_page import example_of, render_reference
from herald_api.routes import ROUTES
from herald_api.settings import ApiSettings
from jsonschema_rs import Draft202012Validator, Registry, meta
from prometheus_client import CollectorRegistry

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document("http://127.0.0.1:18080", ROUTES)


@functools.cache
def registered_routes() -> frozenset[tuple[str, str]]:
    """(METHOD, path) of every route the real app registers; HEAD is aiohttp's twin of GET.
    Built once: the app is only looked at."""
    context = ApiContext(ApiSettings(), pool=cast(Any, None))  # no database: nothing runs
    app = build_app(context, CollectorRegistry(), lambda: (True, "ok"), lambda: None)
    return frozenset(
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    )


def documented_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_every_registered_route_is_documented_and_nothing_else(document):
    documented = documented_routes(document)
    registered = registered_routes()
    assert registered - documented == set(), "routes without an OpenAPI entry"
    assert documented - registered == set(), "OpenAPI entries without a route"


def test_a_route_missing_from_the_table_is_noticed():
    short = documented_routes(build_document("http://x", ROUTES[1:]))
    assert registered_routes() - short == {(ROUTES[0].method, ROUTES[0].path)}


def test_the_document_is_openapi_3_1_and_every_ref_resolves(document):
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs - set(schemas) == set()
    for schema in schemas.values():
        meta.validate(schema)


def validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """A validator for one component, its `$ref`s resolved inside the document."""
    registry = Registry([("urn:doc", document)])
    ref = {"$ref": f"urn:doc#/components/schemas/{name}"}
    return Draft202012Validator(ref, registry=registry)


@pytest.mark.parametrize(
    "name",
    [
        "NotifierCreateBody",
        "NotifierPatchBody",
        "AppBody",
        "CollaboratorBody",
        "OwnerBody",
        "UserBody",
        "NotifierAnswer",
        "NotifierList",
        "AppAnswer",
        "EventTypeList",
        "Problem",
        "ValidationProblem",
        "NotFoundProblem",
        "TokenAnswer",
    ],
)
def test_the_examples_the_page_shows_validate_against_their_schema(document, name):
    example = example_of(
        {"$ref": f"#/components/schemas/{name}"}, document["components"]["schemas"]
    )
    errors = [e.message for e in validator(document, name).iter_errors(example)]
    assert errors == [], example


def test_the_documented_create_example_is_a_notifier_the_api_accepts(document):
    example = example_of(
        {"$ref": "#/components/schemas/NotifierCreateBody"}, document["components"]["schemas"]
    )
    notifier = notifier_from_create(
        example["notifier"],
        notifier_id="no-1",
        app_id="app-1",
        owner_id="org-1",
        now=datetime(2026, 1, 1, tzinfo=UTC),
        allow_loopback=False,
    )
    assert notifier.type_data["webhook_url"] == "https://hooks.example.com/herald"


def test_scalingo_shapes_are_in_the_schemas(document):
    schemas = document["components"]["schemas"]
    for listing in ("EventTypeList", "EventCategoryList"):  # no `meta`, docs/scalingo-compat §4.3
        assert schemas[listing]["additionalProperties"] is False
    assert schemas["ValidationProblem"]["properties"]["errors"]["minProperties"] == 1
    assert set(schemas["NotFoundProblem"]["required"]) >= {"error", "resource"}
    assert schemas["NotifierCreate"]["additionalProperties"] is False
    ignored = {"id", "app_id", "type", "created_at", "updated_at"}
    assert ignored <= set(schemas["NotifierCreate"]["properties"])
    assert {"preset", "is_default"} <= set(schemas["Notifier"]["required"])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_operation_documents_its_errors_as_problems(document, route):
    operation = document["paths"][route.path][route.method.lower()]
    answers = operation["responses"]
    for status, answer in answers.items():
        if int(status) >= 400 and route.tag not in ("health",):
            assert list(answer["content"]) == ["application/problem+json"], status
    if route.auth in (Auth.BEARER, Auth.ADMIN):
        assert "401" in answers
        # The stream also opens with a stream token in `?token=` (browsers: no headers).
        query = [{"streamToken": []}] if route.query_token else []
        assert operation["security"] == [{"bearerAuth": []}, *query]
    if route.auth is Auth.PUBLIC:
        assert operation["security"] == []
    if "{" in route.path:
        assert answers["404"]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/NotFoundProblem"
        }
    if "422" in answers:
        schema = answers["422"]["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ValidationProblem"}


def test_the_token_exchange_takes_basic_or_bearer(document):
    operation = document["paths"]["/v1/tokens/exchange"]["post"]
    assert operation["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    assert operation["requestBody"]["required"] is False


def test_lists_are_paginated_and_conditional_headers_documented(document):
    def names(path, method):
        return {p["name"] for p in document["paths"][path][method]["parameters"]}

    assert {"page", "per_page"} <= names("/v1/apps/{app}/notifiers", "get")
    assert {"page", "per_page"} <= names("/v1/notification_platforms", "get")
    assert "Idempotency-Key" in names("/v1/apps/{app}/notifiers", "post")
    assert "If-Match" in names("/v1/apps/{app}/notifiers/{id}", "patch")
    assert "If-Match" in names("/v1/apps/{app}/notifiers/{id}", "delete")


@pytest.fixture(scope="module")
def page(document: dict[str, Any]) -> str:
    return render_reference(document)


def test_the_page_shows_every_operation_and_no_script(document, page):
    unbraced = page.replace("{", "").replace("}", "")
    for path, operations in document["paths"].items():
        for spec in operations.values():
            assert f'id="{spec["operationId"]}"' in page
        assert path.replace("{", "").replace("}", "") in unbraced
    assert "<script" not in page
    assert not re.search(r'(src|href)="https?://', page)  # nothing fetched from elsewhere


def test_the_page_escapes_what_the_document_says(document):
    hostile = copy.deepcopy(document)
    hostile["info"]["description"] = "<img src=x onerror=alert(1)> `<b>code</b>`"
    hostile["paths"]["/livez"]["get"]["summary"] = "<script>alert(1)</script>"
    page = render_reference(hostile)
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in page


def test_models_are_the_components(document):
    for model in (w.Notifier, w.NotifierCreateBody, w.Problem, w.EventTypeList, w.UserAnswer):
        assert model.__name__ in document["components"]["schemas"]
