"""The one adapter from the wire models' errors to Scalingo's `errors` member (`http.parsing`):
strict JSON, every problem listed, by dotted path, in our words."""

from __future__ import annotations

from typing import Literal

import pytest
from herald_api.faces.scalingo.alert_wire import AlertCreate
from herald_api.faces.scalingo.legacy_wire import LegacyNotificationIn
from herald_api.http.parsing import parse
from herald_api.http.web import ApiProblem
from herald_api.http.wire_models import NotifierCreate
from herald_api.model.shapes import shape_errors
from pydantic import BaseModel, ConfigDict, Field


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flag: bool = False


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=5)
    count: int = Field(default=0, ge=0)
    mode: bool | Literal["on", "off"] = True
    tags: list[str] = []
    inner: Inner = Inner()


@pytest.mark.parametrize(
    ("document", "errors"),
    [
        ({"name": "ok"}, {}),
        ({}, {"name": ["is required"]}),
        ({"name": ""}, {"name": ["can't be blank"]}),
        ({"name": "toolong"}, {"name": ["must be at most 5 characters"]}),
        ({"name": 5}, {"name": ["must be a string"]}),
        ({"name": "a", "count": "1"}, {"count": ["must be an integer"]}),
        ({"name": "a", "count": -1}, {"count": ["must not be negative"]}),
        ({"name": "a", "mode": "yes"}, {"mode": ["must be true or false"]}),
        ({"name": "a", "mode": 1}, {"mode": ["must be true or false"]}),
        ({"name": "a", "tags": "x"}, {"tags": ["must be a list"]}),
        ({"name": "a", "tags": ["x", 2]}, {"tags.1": ["must be a string"]}),
        ({"name": "a", "inner": []}, {"inner": ["must be an object"]}),
        ({"name": "a", "inner": {"flag": "true"}}, {"inner.flag": ["must be true or false"]}),
        ({"name": "a", "colour": "red"}, {"colour": ["unknown field"]}),
    ],
)
def test_each_kind_of_problem_in_our_words_at_its_path(document, errors):
    assert shape_errors(Sample, document) == errors


def test_every_problem_is_listed_at_once():
    found = shape_errors(Sample, {"name": "", "count": "x", "tags": [1], "colour": 1})
    assert set(found) == {"name", "count", "tags.0", "colour"}


def test_nothing_is_coerced():
    assert shape_errors(Sample, {"name": "a", "mode": "true"}) == {
        "mode": ["must be true or false"]
    }
    assert shape_errors(Sample, {"name": "a", "count": "1"}) == {"count": ["must be an integer"]}
    assert shape_errors(Sample, {"name": "a", "inner": {"flag": 1}}) == {
        "inner.flag": ["must be true or false"]
    }
    assert parse(Sample, {"name": "a", "mode": "on", "count": 2}).count == 2


def test_parse_answers_422_with_the_same_errors():
    with pytest.raises(ApiProblem) as caught:
        parse(Sample, {"name": "", "colour": 1})
    assert caught.value.status == 422
    assert caught.value.errors == {"name": ["can't be blank"], "colour": ["unknown field"]}


def test_members_a_face_checks_itself_are_left_to_it():
    document = {"metric": "cpu", "limit": 1, "duration_before_trigger": 1.5}
    assert "duration_before_trigger" in shape_errors(AlertCreate, document)
    assert (
        shape_errors(
            AlertCreate, document, checked_elsewhere=frozenset({"duration_before_trigger"})
        )
        == {}
    )


def test_the_wire_models_are_the_ones_that_parse():
    assert shape_errors(LegacyNotificationIn, {"webhook_url": "https://x", "active": "true"}) == {}
    assert shape_errors(NotifierCreate, {"name": "a", "platform_id": "webhook", "preset": "x"})[
        "preset"
    ] == ["must be one of 'deployments' or 'critical_alerts'"]
    assert shape_errors(AlertCreate, {"metric": "cpu", "limit": True}) == {
        "limit": ["must be a number"]
    }
