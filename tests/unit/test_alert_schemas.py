"""The alerter's input schemas (issue 9): generated from herald_core.alerts, examples valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
from herald_core.alerts import AppAlerts, MetricPoint
from herald_core.schemas import APP_ALERTS_FILE, METRIC_POINT_FILE, default_schema_dir
from pydantic import BaseModel

SCHEMAS = default_schema_dir()
CASES = [
    (METRIC_POINT_FILE, "platform.metrics", MetricPoint),
    (APP_ALERTS_FILE, "notify.config.alerts", AppAlerts),
]


def examples(topic: str) -> list[Path]:
    return sorted((SCHEMAS / "examples" / topic / "1").glob("*.json"))


@pytest.mark.parametrize(("schema_file", "topic", "model"), CASES)
def test_examples_validate_against_the_schema_and_the_model(
    schema_file: str, topic: str, model: type[BaseModel]
) -> None:
    schema = json.loads((SCHEMAS / schema_file).read_text())
    jsonschema_rs.meta.validate(schema)
    validator = jsonschema_rs.Draft202012Validator(schema)
    found = examples(topic)
    assert found, f"no example for {topic}"
    for path in found:
        document = json.loads(path.read_text())
        validator.validate(document)
        model.model_validate(document)


@pytest.mark.parametrize(
    "bad",
    [
        {"app_id": "a", "metric": "disk_io", "value": 1, "at": "2026-03-12T17:15:30Z"},
        {"app_id": "a", "metric": "cpu", "at": "2026-03-12T17:15:30Z"},
    ],
)
def test_the_metric_point_schema_refuses_what_the_alerter_skips(bad: dict[str, object]) -> None:
    schema = json.loads((SCHEMAS / METRIC_POINT_FILE).read_text())
    assert not jsonschema_rs.Draft202012Validator(schema).is_valid(bad)
