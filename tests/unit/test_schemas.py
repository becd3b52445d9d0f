"""Generated schemas: no drift in the committed files, drift detected, examples valid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from herald_core import schemas
from herald_core.catalog import CATALOG
from herald_core.intake import parse_event
from jsonschema_rs import Draft202012Validator, Registry, meta

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
EXAMPLES = sorted((SCHEMAS / "examples" / "notify.events" / "1").glob("*.json"))


def load(path: Path) -> dict[str, object]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def envelope_validator() -> Draft202012Validator:
    """The envelope schema, its relative `$ref`s resolved from the files next to it."""
    resources = [
        (path.resolve().as_uri(), load(path))
        for path in [SCHEMAS / schemas.ENVELOPE_FILE, *sorted((SCHEMAS / "events").glob("*"))]
    ]
    envelope = {**load(SCHEMAS / schemas.ENVELOPE_FILE), "$id": resources[0][0]}
    registry = Registry(resources)
    meta.validate(envelope)
    return Draft202012Validator(envelope, registry=registry)


def test_committed_schemas_do_not_drift(capsys):
    assert schemas.main(["check"]) == 0, capsys.readouterr().err  # `make schemas-check`


def test_the_default_directory_is_the_projects():
    assert schemas.default_schema_dir() == SCHEMAS


def test_render_is_deterministic_and_newline_terminated():
    first, second = schemas.render(), schemas.render()
    assert first == second
    json_files = {path: text for path, text in first.items() if path.endswith(".json")}
    assert all(text.endswith("}\n") for text in json_files.values())
    assert first[schemas.ASYNCAPI_FILE].endswith("\n")
    others = len(schemas.alert_schemas()) + len(schemas.record_schemas())
    assert len(first) == len(CATALOG.types()) + 3 + others


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("generated") / "schemas"
    assert schemas.main(["generate", "--out", str(target)]) == 0
    return target


@pytest.fixture
def copy(generated: Path, tmp_path: Path) -> Path:
    """A generated tree of the test's own, to modify."""
    return shutil.copytree(generated, tmp_path / "schemas")


def test_check_fails_on_a_modified_copy(copy: Path, capsys):
    assert schemas.main(["check", "--out", str(copy)]) == 0
    path = copy / "events" / "app_promote_completed.v1.schema.json"
    path.write_text(path.read_text() + " ", encoding="utf-8")
    (copy / "catalog.v1.json").unlink()
    (copy / "events" / "gone.v1.schema.json").write_text("{}\n", encoding="utf-8")
    assert schemas.main(["check", "--out", str(copy)]) == 1
    listed = capsys.readouterr().err
    for name in ("app_promote_completed", "catalog.v1.json", "gone.v1.schema.json"):
        assert name in listed
    assert schemas.main(["generate", "--out", str(copy)]) == 0
    assert schemas.drift(copy) == []
    assert not (copy / "events" / "gone.v1.schema.json").exists()


def test_generated_copy_matches_the_committed_files(generated: Path):
    for path in [generated / "event.v1.schema.json", generated / "catalog.v1.json"]:
        assert path.read_bytes() == (SCHEMAS / path.name).read_bytes()


@pytest.mark.parametrize(
    ("type_id", "name"),
    [
        ("app:promote:completed", "app_promote_completed.v1.schema.json"),
        ("server.stopped", "server.stopped.v1.schema.json"),
        ("app_deployed", "app_deployed.v1.schema.json"),
    ],
)
def test_schema_file_names(type_id, name):
    assert schemas.schema_file_name(type_id) == name


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_unsafe_file_names_are_refused(bad):
    with pytest.raises(ValueError, match="safe file name"):
        schemas.schema_file_name(bad)


def test_every_type_schema_is_a_valid_schema():
    distinct = {
        json.dumps({k: v for k, v in load(p).items() if k not in ("title", "description")})
        for p in (SCHEMAS / "events").glob("*.json")
    }
    for text in distinct:
        meta.validate(json.loads(text))  # against the draft's meta-schema


def test_there_are_examples():
    assert len(EXAMPLES) >= 3
    types = {load(p)["type"] for p in EXAMPLES}
    families = {str(CATALOG.get(t).family) for t in types}
    assert {"scalingo", "convox", "cloud66"} <= families


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate_and_are_canonical(path: Path, envelope_validator):
    example = load(path)
    envelope_validator.validate(example)
    event = parse_event(path.read_bytes())
    assert json.loads(event.to_json()) == example


@pytest.mark.parametrize(
    "change",
    [
        {"type": "DEPLOYMENT_SUCCESS"},
        {"type_data": {"duration": 40}},
        {"type_data": {"status": "success", "duration": "long"}},
        {"app_id": None},
        {"surprise": True},
    ],
)
def test_the_envelope_schema_refuses_what_intake_refuses(change, envelope_validator):
    example = {**load(SCHEMAS / "examples/notify.events/1/app_deployed.json"), **change}
    if "app_id" in change:
        example["owner_id"] = None
    assert not envelope_validator.is_valid(example)


def test_catalog_document_lists_everything():
    document = load(SCHEMAS / "catalog.v1.json")
    assert [t["id"] for t in document["types"]] == [t.id for t in CATALOG.types()]
    assert {g["id"] for g in document["groups"]} >= {"deployments", "critical_alerts"}
    assert document["legacy_names"]["deployment"] == "app_deployed"
    success = [a for a in document["aliases"] if a["id"] == "DEPLOYMENT_SUCCESS"]
    assert {"field": "status", "op": "in", "values": ["success"]} in [a["when"] for a in success]
    for entry in document["types"]:
        assert (SCHEMAS / entry["type_data_schema"]).is_file()
