"""schemas/asyncapi.yaml against the official AsyncAPI parser (npm `@asyncapi/parser`).

`tests/interop/asyncapi/validate.mjs` parses a document with the pinned parser: the AsyncAPI
JSON Schema of its version, every message schema (the relative `$ref`s to the generated JSON
Schemas resolved from the document's folder) and the parser's rules; it prints one JSON line per
diagnostic and exits 1 on any of severity error. Node and npm are required: without them the
tests FAIL (no skip); `npm ci` runs there once when `node_modules` lacks the pinned parser.
No broker: these tests only need Node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from herald_core.schemas import ASYNCAPI_FILE, default_schema_dir
from herald_testing.node_client import NPM_CI_TIMEOUT_S, RUN_TIMEOUT_S, NodeClient, stdout_lines

PARSER = NodeClient(
    Path(__file__).parent / "asyncapi",
    "@asyncapi/parser",
    "the AsyncAPI parser",
    program="validate.mjs",
)
TIMEOUT_S = NPM_CI_TIMEOUT_S + RUN_TIMEOUT_S


def diagnostics(report: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout_lines(report) if line.startswith("{")]


def errors(report: str) -> list[dict[str, object]]:
    return [d for d in diagnostics(report) if d["severity"] == "Error"]


@pytest.mark.timeout(TIMEOUT_S)
async def test_the_generated_document_is_valid_asyncapi() -> None:
    code, report = await PARSER.run(str(default_schema_dir() / ASYNCAPI_FILE), env={})

    assert errors(report) == [], report
    assert code == 0, report
    channels = len(yaml.safe_load((default_schema_dir() / ASYNCAPI_FILE).read_text())["channels"])
    assert channels >= 10, "the document should describe every topic family"
    assert f"valid AsyncAPI 3.0.0, {channels} channels" in report, report  # the parser read all


@pytest.mark.timeout(TIMEOUT_S)
@pytest.mark.parametrize(
    ("broken", "by"),
    [
        (("action: send", "action: publish"), "an operation action AsyncAPI 3 does not have"),
        (("$ref: delivery.v1.schema.json", "$ref: missing.v1.schema.json"), "a dangling $ref"),
        (("asyncapi: 3.0.0", "asyncapi: 3.0.0\nnonsense: 1"), "an unknown top-level field"),
    ],
)
async def test_a_broken_document_fails(tmp_path: Path, broken: tuple[str, str], by: str) -> None:
    """The validation can fail: the same document, broken in one place, copied next to the
    schemas it refers to."""
    source = default_schema_dir()
    text = (source / ASYNCAPI_FILE).read_text(encoding="utf-8")
    old, new = broken
    assert old in text
    for schema in source.rglob("*.json"):
        target = tmp_path / schema.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(schema.read_bytes())
    document = tmp_path / ASYNCAPI_FILE
    document.write_text(text.replace(old, new, 1), encoding="utf-8")

    code, report = await PARSER.run(str(document), env={})

    assert code == 1, f"{by}: {report}"
    assert errors(report), f"{by}: {report}"
