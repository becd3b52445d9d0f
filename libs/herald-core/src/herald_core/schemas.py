"""JSON Schemas generated from the event catalog, and the drift check.

    uv run python -m herald_core.schemas generate [--out DIR]   # write the files
    uv run python -m herald_core.schemas check [--out DIR]      # exit 1, listing drifted files

Files, under the project's `schemas/` unless `--out` says otherwise:

    event.v1.schema.json             the envelope; `type` is one of the catalog's types, and each
                                     type's `type_data` must match its schema (relative `$ref`)
    events/<id>.v1.schema.json       one per type's `type_data` (`:` in an id becomes `_`)
    catalog.v1.json                  the catalog as data: types, categories, aliases, groups
    metric_point.v1.schema.json      a `platform.metrics` value (herald_core.alerts.MetricPoint)
    app_alerts.v1.schema.json        a `notify.config.alerts` value (herald_core.alerts.AppAlerts)

`render` is pure: the same catalog always gives byte-identical text (sorted keys, two-space
indent, trailing newline). Only `generate` and `check` touch the file system, and only those
files (plus stale `events/*.v1.schema.json`, which `generate` removes).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from herald_core.alerts import AppAlerts, MetricPoint
from herald_core.catalog import CATALOG, Catalog, EventType
from herald_core.envelope import Event

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FILE = "event.v1.schema.json"
CATALOG_FILE = "catalog.v1.json"
METRIC_POINT_FILE = "metric_point.v1.schema.json"
APP_ALERTS_FILE = "app_alerts.v1.schema.json"
EVENTS_DIR = "events"
_SUFFIX = ".v1.schema.json"


def default_schema_dir() -> Path:
    """`schemas/` of the checkout this package is installed from."""
    return Path(__file__).resolve().parents[4] / "schemas"


def schema_file_name(type_id: str) -> str:
    """The file name of a type's type_data schema (`app:promote:completed` → `app_promote_…`).

    Pure. Raises ValueError for an id that would not make a safe file name.
    """
    name = type_id.replace(":", "_")
    if not name or name.startswith(".") or any(c in name for c in '/\\<>"|?* '):
        raise ValueError(f"event type id {type_id!r} does not make a safe file name")
    return name + _SUFFIX


def type_data_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of one type's `type_data`. Pure."""
    schema = event_type.type_data_model.model_json_schema(mode="validation")
    schema.update(
        {
            "$schema": DIALECT,
            "title": f"type_data of {event_type.id}",
            "description": f"{event_type.display_name}: {event_type.description}",
        }
    )
    return schema


def envelope_schema(catalog: Catalog) -> dict[str, Any]:
    """The JSON Schema of the envelope on `notify.events`, typed by the catalog. Pure."""
    schema = Event.model_json_schema(mode="validation")
    ids = [t.id for t in catalog.types()]
    schema["properties"]["type"] = {
        "description": "An event type id of the catalog (catalog.v1.json)",
        "enum": ids,
        "type": "string",
    }
    subject = [
        {"properties": {key: {"minLength": 1, "type": "string"}}, "required": [key]}
        for key in ("app_id", "owner_id")
    ]
    by_type = [
        {
            "if": {"properties": {"type": {"const": type_id}}, "required": ["type"]},
            "then": {
                "properties": {"type_data": {"$ref": f"{EVENTS_DIR}/{schema_file_name(type_id)}"}}
            },
        }
        for type_id in ids
    ]
    schema.update(
        {
            "$schema": DIALECT,
            "title": "Herald event",
            "description": "One event on notify.events; app_id or owner_id is set",
            "allOf": [{"anyOf": subject}, *by_type],
        }
    )
    return schema


def alert_schemas() -> dict[str, dict[str, Any]]:
    """The schemas of the alerter's inputs, by file name. Pure."""
    documents: dict[str, tuple[type[BaseModel], str, str]] = {
        METRIC_POINT_FILE: (MetricPoint, "platform.metrics", "one measurement, keyed by app id"),
        APP_ALERTS_FILE: (
            AppAlerts,
            "notify.config.alerts",
            "every alert rule of one app, keyed by app id (a tombstone when it has none)",
        ),
    }
    found = {}
    for name, (model, topic, what) in documents.items():
        schema = model.model_json_schema(mode="validation")
        schema.update({"$schema": DIALECT, "description": f"A {topic} value: {what}"})
        found[name] = schema
    return found


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain JSON data. Pure."""
    return {
        "version": 1,
        "categories": [
            {"id": c.id, "name": c.name, "position": c.position} for c in catalog.categories()
        ],
        "types": [_type_entry(t) for t in catalog.types()],
        "aliases": [
            {"id": a.id, "type": a.type, "when": a.when.as_data(), "note": a.note}
            for a in catalog.aliases()
        ],
        "groups": [
            {
                "id": g.id,
                "name": g.name,
                "description": g.description,
                "family": str(g.family),
                "members": list(g.members),
                "types": sorted(catalog.expand(g.id)),
            }
            for g in catalog.groups()
        ],
        "legacy_names": dict(catalog.legacy_names()),
    }


def _type_entry(event_type: EventType) -> dict[str, Any]:
    return {
        "id": event_type.id,
        "display_name": event_type.display_name,
        "description": event_type.description,
        "category": event_type.category,
        "family": str(event_type.family),
        "severity": str(event_type.severity),
        "critical": event_type.critical,
        "audit_only": event_type.audit_only,
        "default_email": event_type.default_email,
        "template": event_type.template,
        "type_data_schema": f"{EVENTS_DIR}/{schema_file_name(event_type.id)}",
    }


def render(catalog: Catalog = CATALOG) -> dict[str, str]:
    """Every generated file: relative POSIX path → exact text. Pure and deterministic.

    Raises:
        ValueError: when two type ids would share a schema file name, even on a file system
            that ignores case.
    """
    files = {
        ENVELOPE_FILE: _dump(envelope_schema(catalog)),
        CATALOG_FILE: _dump(catalog_document(catalog)),
        **{name: _dump(schema) for name, schema in alert_schemas().items()},
    }
    for event_type in catalog.types():
        path = f"{EVENTS_DIR}/{schema_file_name(event_type.id)}"
        if path.casefold() in {p.casefold() for p in files}:
            raise ValueError(f"two event types share the schema file {path} (ignoring case)")
        files[path] = _type_data_text(event_type)
    return files


@functools.cache
def _type_data_text(event_type: EventType) -> str:
    """`type_data_schema` as a file's text, worked out once per event type: pydantic builds a
    schema afresh on every call (about a millisecond each, a hundred types), and an event type
    is frozen, its model a class."""
    return _dump(type_data_schema(event_type))


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def drift(out: Path, catalog: Catalog = CATALOG) -> list[str]:
    """The relative paths under `out` that differ from `render` (changed, missing or stale).

    Reads the files; writes nothing.
    """
    return _differing(out, render(catalog))


def generate(out: Path, catalog: Catalog = CATALOG) -> list[str]:
    """Write the generated files that differ under `out`, remove stale type schemas.

    Returns the relative paths it changed. Raises OSError when the files cannot be written.
    """
    expected = render(catalog)
    changed = _differing(out, expected)
    for path in changed:
        target = out / path
        if path not in expected:
            target.unlink()
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(expected[path], encoding="utf-8")
    return changed


def _differing(out: Path, expected: dict[str, str]) -> list[str]:
    differing = [
        path
        for path, text in expected.items()
        if not (out / path).is_file() or (out / path).read_text(encoding="utf-8") != text
    ]
    return sorted(differing + _stale(out, expected))


def _stale(out: Path, expected: dict[str, str]) -> list[str]:
    events = out / EVENTS_DIR
    found = sorted(events.glob(f"*{_SUFFIX}")) if events.is_dir() else []
    return [f"{EVENTS_DIR}/{p.name}" for p in found if f"{EVENTS_DIR}/{p.name}" not in expected]


def main(argv: Sequence[str] | None = None) -> int:
    """`generate` or `check` the schemas; the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m herald_core.schemas", description=__doc__)
    parser.add_argument("command", choices=("generate", "check"))
    parser.add_argument("--out", type=Path, default=None, help="default: the project's schemas/")
    args = parser.parse_args(argv)
    out: Path = args.out or default_schema_dir()
    if args.command == "generate":
        changed = generate(out)
        sys.stdout.write(f"{len(changed)} file(s) written under {out}\n")
        sys.stdout.writelines(f"  {path}\n" for path in changed)
        return 0
    differing = drift(out)
    if differing:
        sys.stderr.write(
            f"{len(differing)} schema file(s) under {out} differ from the catalog; "
            "run `uv run python -m herald_core.schemas generate`:\n"
        )
        sys.stderr.writelines(f"  {path}\n" for path in differing)
        return 1
    sys.stdout.write(f"schemas under {out} match the catalog\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
