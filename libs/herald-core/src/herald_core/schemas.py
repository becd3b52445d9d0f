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
    <record>.v1.schema.json          every other record value Herald writes (`RECORDS`)
    headers/<kind>.v1.schema.json    the headers of each kind of record (herald_core.record_headers)
    asyncapi.yaml                    AsyncAPI 3.0: every topic of deploy/topics.yaml, its messages
                                     pointing at the files above (herald_core.asyncapi)

`render` is pure: the same catalog always gives byte-identical text (sorted keys, two-space
indent, trailing newline). Only `generate` and `check` touch the file system, and only those
files (plus stale `events/` and `headers/` `*.v1.schema.json`, which `generate` removes).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from herald_core import record_headers as rh
from herald_core import topics as t
from herald_core.alerts import AppAlerts, MetricPoint
from herald_core.asyncapi import TopicContract, asyncapi_document
from herald_core.catalog import CATALOG, Catalog, EventType
from herald_core.deliveries import Delivery, DeliveryResult
from herald_core.directory import AppEntry, OwnerEntry
from herald_core.envelope import Event
from herald_core.notifier_commands import DisableNotifier
from herald_core.notifiers import Notifier
from herald_core.thread_state import ThreadRef

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_FILE = "event.v1.schema.json"
CATALOG_FILE = "catalog.v1.json"
METRIC_POINT_FILE = "metric_point.v1.schema.json"
APP_ALERTS_FILE = "app_alerts.v1.schema.json"
EVENTS_DIR = "events"
HEADERS_DIR = "headers"
ASYNCAPI_FILE = "asyncapi.yaml"
NOTIFIER_FILE = "notifier.v1.schema.json"
APP_ENTRY_FILE = "app_entry.v1.schema.json"
OWNER_ENTRY_FILE = "owner_entry.v1.schema.json"
DELIVERY_FILE = "delivery.v1.schema.json"
DELIVERY_RESULT_FILE = "delivery_result.v1.schema.json"
NOTIFIER_COMMAND_FILE = "notifier_command.v1.schema.json"
SLACK_THREAD_FILE = "slack_thread.v1.schema.json"
EVENT_HEADERS_FILE = f"{HEADERS_DIR}/event.v1.schema.json"
DELIVERY_HEADERS_FILE = f"{HEADERS_DIR}/delivery.v1.schema.json"
RETRY_HEADERS_FILE = f"{HEADERS_DIR}/delivery_retry.v1.schema.json"
DELIVERY_DLQ_HEADERS_FILE = f"{HEADERS_DIR}/delivery_dlq.v1.schema.json"
EVENT_DLQ_HEADERS_FILE = f"{HEADERS_DIR}/event_dlq.v1.schema.json"

RECORDS: dict[str, tuple[type[BaseModel], str, str]] = {
    NOTIFIER_FILE: (
        Notifier,
        t.CONFIG_NOTIFIERS,
        "a notifier's state, keyed by notifier id (a tombstone when it is deleted)",
    ),
    APP_ENTRY_FILE: (
        AppEntry,
        t.CONFIG_APPS,
        "an app's directory entry, keyed by app id (a tombstone when it is deleted)",
    ),
    OWNER_ENTRY_FILE: (
        OwnerEntry,
        t.CONFIG_OWNERS,
        "an owner's directory entry, keyed by owner id (a tombstone when it is deleted)",
    ),
    DELIVERY_FILE: (
        Delivery,
        "notify.deliveries.<channel>",
        "one event for one notifier, keyed by notifier id (also on its retry and DLQ topics)",
    ),
    DELIVERY_RESULT_FILE: (
        DeliveryResult,
        t.DELIVERY_RESULTS,
        "one attempt's outcome, keyed by delivery id",
    ),
    NOTIFIER_COMMAND_FILE: (
        DisableNotifier,
        t.NOTIFIER_COMMANDS,
        "a decision about a notifier taken outside the api, keyed by notifier id",
    ),
    SLACK_THREAD_FILE: (
        ThreadRef,
        t.SLACK_THREADS,
        "the Slack message of a deploy thread, keyed `<notifier id>|<thread key>`",
    ),
}
"""The record values besides events and alert inputs: file → (model, topic, what)."""

HEADERS: dict[str, tuple[type[BaseModel], str]] = {
    EVENT_HEADERS_FILE: (rh.EventHeaders, t.EVENTS),
    DELIVERY_HEADERS_FILE: (rh.DeliveryHeaders, "notify.deliveries.<channel>"),
    RETRY_HEADERS_FILE: (rh.RetryHeaders, "notify.deliveries.<channel>.retry.<tier>"),
    DELIVERY_DLQ_HEADERS_FILE: (rh.DeliveryDeadLetterHeaders, "notify.deliveries.<channel>.dlq"),
    EVENT_DLQ_HEADERS_FILE: (rh.EventDeadLetterHeaders, t.EVENTS_DLQ),
}
"""The header schemas: file → (model, topic)."""
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


def record_schemas() -> dict[str, dict[str, Any]]:
    """The schemas of every other record value (`RECORDS`) and of the headers (`HEADERS`), by
    file name. Pure."""
    found = {}
    for name, (model, topic, what) in RECORDS.items():
        schema = model.model_json_schema(mode="serialization")
        schema.update({"$schema": DIALECT, "description": f"A {topic} value: {what}"})
        found[name] = schema
    for name, (model, topic) in HEADERS.items():
        schema = model.model_json_schema(mode="validation", by_alias=True)
        schema.update(
            {
                "$schema": DIALECT,
                "description": f"The headers of a {topic} record, UTF-8 text each: "
                + " ".join((model.__doc__ or "").split()),
            }
        )
        found[name] = schema
    return found


def topic_contracts() -> dict[str, TopicContract]:
    """What travels on each topic of deploy/topics.yaml, and which services write and read it."""
    delivery_key = "The notifier id (one endpoint's deliveries keep their order)"
    changelog = "faust's changelog of a table (docs/derive.md, docs/alerts.md); internal"
    return {
        t.PLATFORM_EVENTS: TopicContract(
            "Platform event",
            "An event as a platform producer writes it; ingest validates it "
            "(and accepts legacy type names) before it goes to notify.events",
            "The app id, else the owner id",
            ENVELOPE_FILE,
            readers=("ingest",),
        ),
        t.EVENTS: TopicContract(
            "Event",
            "A valid, normalised event",
            "The app id, else the owner id",
            ENVELOPE_FILE,
            EVENT_HEADERS_FILE,
            writers=("ingest", "derive", "alerter", "api (outbox relay)"),
            readers=("router", "derive", "api", "recorder"),
        ),
        t.EVENTS_DLQ: TopicContract(
            "Refused event",
            "The bytes of an event refused by ingest or the router, as "
            "received, with the reason in headers",
            "The key of the record refused",
            None,
            EVENT_DLQ_HEADERS_FILE,
            writers=("ingest", "router"),
            readers=("herald-ops dlq",),
        ),
        t.CONFIG_NOTIFIERS: TopicContract(
            "Notifier",
            "A notifier's current state",
            "The notifier id",
            NOTIFIER_FILE,
            writers=("api",),
            readers=("router",),
            tombstones=True,
        ),
        t.CONFIG_APPS: TopicContract(
            "App entry",
            "An app's directory entry",
            "The app id",
            APP_ENTRY_FILE,
            writers=("api",),
            readers=("router",),
            tombstones=True,
        ),
        t.CONFIG_ALERTS: TopicContract(
            "App alerts",
            "Every alert rule of one app",
            "The app id",
            APP_ALERTS_FILE,
            writers=("api",),
            readers=("alerter",),
            tombstones=True,
        ),
        t.CONFIG_OWNERS: TopicContract(
            "Owner entry",
            "An owner's directory entry",
            "The owner id",
            OWNER_ENTRY_FILE,
            writers=("api",),
            readers=("router",),
            tombstones=True,
        ),
        t.PLATFORM_METRICS: TopicContract(
            "Metric point",
            "One measurement of an app's containers",
            "The app id",
            METRIC_POINT_FILE,
            readers=("alerter",),
        ),
        t.DELIVERY_RESULTS: TopicContract(
            "Delivery result",
            "One delivery attempt's outcome",
            "The delivery id",
            DELIVERY_RESULT_FILE,
            writers=("sender",),
            readers=("recorder", "api"),
        ),
        t.NOTIFIER_COMMANDS: TopicContract(
            "Notifier command",
            "Disable a notifier whose endpoint keeps failing",
            "The notifier id",
            NOTIFIER_COMMAND_FILE,
            writers=("recorder",),
            readers=("api",),
        ),
        "herald-derive-crash_counts-changelog": TopicContract(
            "Crash counts changelog",
            changelog,
            "faust's table key",
            None,
            writers=("derive",),
            readers=("derive",),
        ),
        "herald-alerter-alert_state-changelog": TopicContract(
            "Alert state changelog",
            "The alerter's evaluation state of one rule (docs/alerts.md); internal",
            "`<app id>␟<alert id>` (unit separator)",
            None,
            writers=("alerter",),
            readers=("alerter",),
        ),
        t.SLACK_THREADS: TopicContract(
            "Slack thread",
            "The Slack message a deploy thread lives in",
            "`<notifier id>|<thread key>`",
            SLACK_THREAD_FILE,
            writers=("sender slack",),
            readers=("sender slack",),
        ),
        "notify.deliveries.{channel}": TopicContract(
            "Delivery",
            "One event for one notifier, for the channel's sender",
            delivery_key,
            DELIVERY_FILE,
            DELIVERY_HEADERS_FILE,
            writers=("router", "api", "herald-ops dlq replay"),
            readers=("sender",),
        ),
        "notify.deliveries.{channel}.retry.{tier}": TopicContract(
            "Delivery retry",
            "A failed delivery waiting for its next attempt",
            delivery_key,
            DELIVERY_FILE,
            RETRY_HEADERS_FILE,
            writers=("sender",),
            readers=("sender",),
        ),
        "notify.deliveries.{channel}.dlq": TopicContract(
            "Dead delivery",
            "A delivery that failed for good, as received",
            delivery_key,
            DELIVERY_FILE,
            DELIVERY_DLQ_HEADERS_FILE,
            writers=("sender",),
            readers=("herald-ops dlq",),
        ),
    }


def asyncapi_text(topic_file: dict[str, Any] | None = None) -> str:
    """`schemas/asyncapi.yaml`'s text, from deploy/topics.yaml (or `topic_file`). Pure but for
    reading the topic file when none is given."""
    document = topic_file if topic_file is not None else _topic_file()
    body = yaml.safe_dump(
        asyncapi_document(document, topic_contracts()),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return (
        "# Generated by `uv run python -m herald_core.schemas generate` from herald_core's models\n"
        "# and deploy/topics.yaml: do not edit by hand.\n" + body
    )


def _topic_file() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(t.default_topic_file().read_text(encoding="utf-8"))
    return loaded


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
        **{name: _dump(schema) for name, schema in record_schemas().items()},
        ASYNCAPI_FILE: asyncapi_text(),
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
    """Generated-looking files of the `events/` and `headers/` folders that render no longer
    makes (a type or a header kind removed)."""
    stale = []
    for folder in (EVENTS_DIR, HEADERS_DIR):
        found = sorted((out / folder).glob(f"*{_SUFFIX}")) if (out / folder).is_dir() else []
        stale += [f"{folder}/{p.name}" for p in found if f"{folder}/{p.name}" not in expected]
    return stale


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
            f"{len(differing)} schema file(s) under {out} differ from the catalog and models; "
            "run `uv run python -m herald_core.schemas generate`:\n"
        )
        sys.stderr.writelines(f"  {path}\n" for path in differing)
        return 1
    sys.stdout.write(f"schemas under {out} match the catalog and models\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
