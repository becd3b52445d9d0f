"""The API reference as one HTML page (GET /docs), rendered on the server from the OpenAPI
document: no scripts, no CDN. Jinja2 in a sandboxed, autoescaping environment, because the
document carries free text (descriptions, examples).

`reference_view` turns the document into plain rows and examples (pure); the template only
lays them out.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

REF_PREFIX = "#/components/schemas/"
EXAMPLE_STRINGS = {
    "date-time": "2026-11-23T14:36:05.123Z",
    "email": "ada@example.com",
    "uri": "https://example.com",
}
MAX_DEPTH = 6
_CODE_SPAN = re.compile(r"`([^`]+)`")


@functools.cache
def _environment() -> SandboxedEnvironment:
    """The template environment, built (and the template compiled) once per process, on the
    first request for the page: jinja2 is imported only then, so an API that never serves
    /docs never loads it."""
    from jinja2 import PackageLoader, StrictUndefined  # lazy, see above
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=PackageLoader("herald_api", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["prose"] = prose
    return env


def render_reference(document: Mapping[str, Any]) -> str:
    """The reference page of an OpenAPI document. Pure (reads the packaged template)."""
    template = _environment().get_template("reference.html.j2")
    return template.render(view=reference_view(document))


def prose(text: str) -> Markup:
    """Escaped text whose `backquoted` spans become <code>. Pure."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))  # noqa: S704 - escaped


def reference_view(document: Mapping[str, Any]) -> dict[str, Any]:
    """What the page shows: operations grouped by tag, then every schema. Pure."""
    schemas: Mapping[str, Any] = document.get("components", {}).get("schemas", {})
    groups: dict[str, list[dict[str, Any]]] = {t["name"]: [] for t in document.get("tags", [])}
    for path, methods in document["paths"].items():
        for method, spec in methods.items():
            view = _operation_view(path, method, spec, schemas)
            groups.setdefault(spec.get("tags", ["other"])[0], []).append(view)
    descriptions = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    return {
        "info": document["info"],
        "servers": [s["url"] for s in document.get("servers", [])],
        "groups": [
            {"name": name, "description": descriptions.get(name, ""), "operations": ops}
            for name, ops in groups.items()
            if ops
        ],
        "schemas": [
            {
                "name": name,
                "description": schema.get("description", ""),
                "rows": rows(schema),
                "constraints": constraints(schema),
            }
            for name, schema in schemas.items()
        ],
        "security": document.get("components", {}).get("securitySchemes", {}),
    }


def _operation_view(
    path: str, method: str, spec: Mapping[str, Any], schemas: Mapping[str, Any]
) -> dict[str, Any]:
    body = spec.get("requestBody")
    return {
        "anchor": spec["operationId"],
        "method": method.upper(),
        "path": path,
        "summary": spec.get("summary", ""),
        "description": spec.get("description", ""),
        "security": [" + ".join(s) for s in spec.get("security", [])] or ["public"],
        "parameters": [
            {
                "name": p["name"],
                "in": p["in"],
                "required": p.get("required", False),
                "type": type_tokens(p["schema"]),
                "description": p.get("description", ""),
                "constraints": constraints(p["schema"]),
            }
            for p in spec.get("parameters", [])
        ],
        "body": _content_view(body.get("content", {}), schemas) if body else None,
        "body_required": bool(body and body.get("required")),
        "responses": [
            {
                "status": status,
                "description": answer.get("description", ""),
                "headers": list(answer.get("headers", {})),
                "content": _content_view(answer.get("content", {}), schemas),
            }
            for status, answer in spec["responses"].items()
        ],
    }


def _content_view(content: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any] | None:
    for media_type, entry in content.items():
        schema = entry.get("schema", {})
        resolved = resolve(schema, schemas)
        shows_json = media_type.endswith("json") and resolved.get("type") == "object"
        return {
            "media_type": media_type,
            "type": type_tokens(schema),
            "rows": rows(resolved) if shows_json else [],
            "example": json.dumps(example_of(schema, schemas), indent=2, ensure_ascii=False)
            if shows_json
            else None,
        }
    return None


def resolve(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a `$ref` into the components (one step). Pure."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF_PREFIX):
        found: Mapping[str, Any] = schemas.get(ref[len(REF_PREFIX) :], {})
        return found
    return schema


def rows(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per property of an object schema. Pure."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": type_tokens(prop),
            "required": name in required,
            "description": prop.get("description", ""),
            "constraints": constraints(prop),
            "deprecated": prop.get("deprecated", False),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def type_tokens(schema: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """A schema's type as text pieces, each linked to its component when it has one. Pure."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return [{"text": name, "href": f"#schema-{name}"}]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            tokens: list[dict[str, str | None]] = []
            for option in schema[key]:
                if tokens:
                    tokens.append({"text": " | ", "href": None})
                tokens.extend(type_tokens(option))
            return tokens
    kind = schema.get("type", "any")
    if kind == "array":
        return [*type_tokens(schema.get("items", {})), {"text": "[]", "href": None}]
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        inner = type_tokens(schema["additionalProperties"])
        return [{"text": "map of ", "href": None}, *inner]
    text = f"{kind} ({schema['format']})" if "format" in schema else str(kind)
    return [{"text": text, "href": None}]


def constraints(schema: Mapping[str, Any]) -> list[str]:
    """Readable constraints of a schema: enum, pattern, bounds, default. Pure."""
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(json.dumps(v) for v in schema["enum"]))
    if "const" in schema:
        found.append(f"always {json.dumps(schema['const'])}")
    for key, label in (
        ("pattern", "pattern"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minProperties", "min members"),
    ):
        if key in schema:
            found.append(f"{label} {schema[key]}")
    if "default" in schema and schema["default"] is not None:
        found.append(f"default {json.dumps(schema['default'])}")
    return found


def example_of(schema: Mapping[str, Any], schemas: Mapping[str, Any], depth: int = 0) -> Any:
    """A plausible instance of a schema, from its examples, defaults and types. Pure."""
    if depth > MAX_DEPTH:
        return None
    schema = resolve(schema, schemas)
    for key in ("examples", "example", "const", "enum"):
        if key in schema:
            value = schema[key]
            return value[0] if key in ("examples", "enum") and value else value
    if "default" in schema and schema["default"] not in (None, {}, []):
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example_of(options[0], schemas, depth + 1)
    return _example_by_type(schema, schemas, depth)


def _example_by_type(schema: Mapping[str, Any], schemas: Mapping[str, Any], depth: int) -> Any:
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        shown = {
            n: p
            for n, p in properties.items()
            if n in required or depth < 2 or "examples" in p or "example" in p
        }
        return {
            name: example_of(prop, schemas, depth + 1)
            for name, prop in shown.items()
            if not prop.get("deprecated") and "Read-only" not in prop.get("description", "")
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, depth + 1)]
    if kind == "string":
        return EXAMPLE_STRINGS.get(schema.get("format", ""), "string")
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return None
