"""The OpenAPI 3.1 document of the API, built from the route declarations (`herald_api.routes`,
see `http.declare`) with `model_json_schema` of their pydantic models.

GET /openapi.json   the document (public)
GET /docs           the same, rendered for people by `reference_page` (public)
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Sequence
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from herald_api.http import wire_models as w
from herald_api.http.declare import (
    JSON,
    PATH_PARAMS,
    RESPONSE_HEADERS,
    Answer,
    Auth,
    Param,
    Route,
    path_params,
    shared_answers,
)
from herald_api.http.reference_page import render_reference
from herald_api.http.web import json_response

TAGS = {
    "integrations": "Convox's organisation integrations (Slack, Discord over OAuth) and audit log",
    "tokens": "Scalingo's token exchange: an API token for a short-lived JWT",
    "catalog": "Platforms, event types and categories (public, like Scalingo's)",
    "apps": "Apps and their collaborators, as the PaaS registers them",
    "owners": "Organisations and accounts, and their members",
    "users": "Users, for their contact details",
    "notifiers": "Scalingo's notifiers API, plus Herald's presets",
    "alerts": "Scalingo's metric alerts: thresholds that notify the notifiers they list",
    "clevercloud": "Clever Cloud's organisation notifications: webhook and e-mail hooks",
    "routing": "Explain the router's decisions",
    "notifications": "Scalingo's legacy notifications API (deployment events only)",
    "account_notifications": "Cloud 66's account notifications: per-type, per-channel toggles",
    "deliveries": "Delivery history: every attempt, as the senders reported it",
    "health": "Probes and metrics",
    "events": "The live event stream of an owner",
    "reference": "This document",
}

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]


SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API token (hrld_…) or JWT",
        "description": "A Herald API token, or a JWT from POST /v1/tokens/exchange",
    },
    "streamToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "A stream token from POST /v1/owners/{owner}/events/stream/token, valid"
        " five minutes for that owner's stream: for browsers, whose EventSource and WebSocket"
        " cannot send Authorization",
    },
    "basicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "Empty user name, the API token as password (the token exchange)",
    },
}
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.PUBLIC: [],
    Auth.BEARER: [{"bearerAuth": []}],
    Auth.ADMIN: [{"bearerAuth": []}],
    Auth.BASIC: [{"basicAuth": []}, {"bearerAuth": []}],
}


@functools.cache
def _schema_of(model: type[BaseModel], mode: Mode) -> dict[str, Any]:
    """A model's JSON Schema, worked out once (most answers share a few models). Pure."""
    return model.model_json_schema(ref_template=REF, mode=mode)


class Components:
    """The `components/schemas` being collected; a name means one schema only."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, str]:
        schema = copy.deepcopy(_schema_of(model, mode))
        for name, definition in schema.pop("$defs", {}).items():
            self._add(name, definition)
        self._add(model.__name__, schema)
        return {"$ref": REF.format(model=model.__name__)}

    def _add(self, name: str, schema: Any) -> None:
        if self.schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name!r}")


def _parameter(param: Param) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": param.name,
        "in": param.location,
        "description": param.description,
        "required": param.required,
        "schema": dict(param.schema),
    }
    if param.example is not None:
        spec["example"] = param.example
    return spec


def _content(answer: Answer, components: Components) -> dict[str, Any]:
    if answer.model is None:
        return {answer.media_type: {"schema": {"type": "string"}}}
    return {answer.media_type: {"schema": components.ref(answer.model, "serialization")}}


def _response(answer: Answer, components: Components) -> dict[str, Any]:
    spec: dict[str, Any] = {"description": answer.description}
    if answer.model is not None or answer.media_type != JSON:
        spec["content"] = _content(answer, components)
    if answer.headers:
        spec["headers"] = {
            name: {"description": RESPONSE_HEADERS[name], "schema": {"type": "string"}}
            for name in answer.headers
        }
    return spec


def operation(route: Route, components: Components) -> dict[str, Any]:
    """The OpenAPI operation object of one route. Pure, but for collecting components."""
    answers = {**shared_answers(route), **route.answers}
    params = [PATH_PARAMS[name] for name in path_params(route.path)] + list(route.params)
    spec: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "tags": [route.tag],
        "security": SECURITY[route.auth] + ([{"streamToken": []}] if route.query_token else []),
        "parameters": [_parameter(p) for p in params],
        "responses": {
            str(status): _response(answers[status], components) for status in sorted(answers)
        },
    }
    if route.description:
        spec["description"] = route.description
    if route.body is not None:
        spec["requestBody"] = {
            "required": route.body_read and route.body_required,
            "content": {JSON: {"schema": components.ref(route.body, "validation")}},
        }
    return spec


def _operation_id(route: Route) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", route.path.lower().replace("/v1/", "/")).strip("_")
    return f"{route.method.lower()}_{words}"


def build_document(public_url: str, routes: Sequence[Route]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `routes`. Pure.

    Raises:
        ValueError: when two different schemas share a name.
    """
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald config API",
            "version": "1",
            "description": "Notifiers, apps, owners and users of Herald. The notifier,"
            " platform, event type and token calls follow Scalingo's API, so Scalingo's"
            " clients work unchanged (docs/scalingo-compat.md).",
        },
        "servers": [{"url": public_url.rstrip("/")}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


class Reference:
    """The document of a route list and its page, each built on first use: an API that is never
    asked for its reference pays nothing at start-up."""

    def __init__(self, public_url: str, routes: Sequence[Route]) -> None:
        self._public_url = public_url
        self._routes = routes

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        return build_document(self._public_url, self._routes)

    @functools.cached_property
    def page(self) -> str:
        return render_reference(self.document)


REFERENCE = web.AppKey("herald_reference", Reference)


def prepare(app: web.Application, public_url: str, routes: Sequence[Route]) -> None:
    """Serve the document of `routes` and its page (`get_document`, `get_reference`)."""
    app[REFERENCE] = Reference(public_url, routes)


async def get_document(request: web.Request) -> web.Response:
    return json_response(request.app[REFERENCE].document)


async def get_reference(request: web.Request) -> web.Response:
    return web.Response(text=request.app[REFERENCE].page, content_type="text/html")


ROUTES = (
    Route(
        "GET",
        "/openapi.json",
        "This OpenAPI document",
        "reference",
        {200: Answer("The OpenAPI 3.1 document", w.AnyObject)},
        auth=Auth.PUBLIC,
        handler=get_document,
    ),
    Route(
        "GET",
        "/docs",
        "This reference, as a web page",
        "reference",
        {200: Answer("An HTML page", None, "text/html")},
        auth=Auth.PUBLIC,
        handler=get_reference,
    ),
)
