"""The document's `type_data`, one schema per platform (`model.type_data_shapes.TYPE_DATA`),
against the checks the API really runs: every platform has its branch, its example passes both,
and what the checked shape refuses the documented branch refuses too (and the other way round)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.faces.scalingo.notifier_face import notifier_from_create
from herald_api.http import wire_models as w
from herald_api.http.openapi import build_document
from herald_api.model.platforms import PLATFORMS, Platform, platform_by_id
from herald_api.model.shapes import shape_errors
from herald_api.model.type_data import check_type_data
from herald_api.model.type_data_shapes import SHAPES, TYPE_DATA, TypeDataShape
from herald_api.routes import ROUTES
from jsonschema_rs import Draft202012Validator, Registry

HEX = "0123456789abcdef" * 2
SECRET = "whsec_" + "A" * 32
VALUES: list[Any] = [
    None,
    True,
    1,
    1.5,
    "",
    "x",
    "raw",
    "bogus",
    SECRET,
    HEX,
    "k" * 20,
    "k" * 501,
    [],
    ["x"],
    [1],
    [SECRET],
    [SECRET] * 3,
    [HEX],
    ["k" * 20],
    ["k" * 20] * 4,
    {},
    {"X-Team": "ops"},
    {"X-Team": 1},
]
"""Values tried on every member of every checked shape."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document("http://127.0.0.1:18080", ROUTES)


@pytest.fixture(scope="module")
def branches(document: dict[str, Any]) -> dict[str, Draft202012Validator]:
    """A validator per platform for its documented type_data, the document's `$ref`s resolved.
    Built once: a registry over the whole document costs more than many validations."""
    registry = Registry([("urn:doc", document)])
    return {
        platform: Draft202012Validator(
            {"$ref": f"urn:doc#/components/schemas/{model.__name__}"}, registry=registry
        )
        for platform, model in TYPE_DATA.items()
    }


def refusals(branches: dict[str, Draft202012Validator], platform: str, type_data: Any) -> list[str]:
    return [error.message for error in branches[platform].iter_errors(type_data)]


def known(name: str) -> Platform:
    platform = platform_by_id(name)
    assert platform is not None
    return platform


def example(document: dict[str, Any], platform: str) -> dict[str, Any]:
    schema = document["components"]["schemas"][TYPE_DATA[platform].__name__]
    found: dict[str, Any] = schema["examples"][0]
    return found


@pytest.mark.parametrize("body", ["NotifierCreate", "NotifierPatch"])
def test_every_platform_of_the_catalog_has_its_branch(document, body):
    schemas = document["components"]["schemas"]
    type_data = schemas[body]["properties"]["type_data"]
    refs = [option["$ref"].rsplit("/", 1)[-1] for option in type_data["anyOf"]]
    assert refs == [TYPE_DATA[p.name].__name__ for p in PLATFORMS]
    for platform in PLATFORMS:
        name = TYPE_DATA[platform.name].__name__
        assert f"`{platform.id}` {name}" in type_data["description"]
        assert schemas[name]["description"].startswith(f"`{platform.id}`: ")


@pytest.mark.parametrize("platform", [p.name for p in PLATFORMS])
def test_the_documented_example_passes_the_branch_and_the_api(document, branches, platform):
    data = example(document, platform)
    assert refusals(branches, platform, data) == []
    assert check_type_data(known(platform), data, allow_loopback=False) == {}
    made = notifier_from_create(
        {"name": "n", "platform_id": platform, "type_data": data},
        notifier_id="no-1",
        app_id="app-1",
        owner_id="org-1",
        now=datetime(2026, 1, 1, tzinfo=UTC),
        allow_loopback=False,
    )
    assert made.type_data == data


def bad(platform: str, **change: Any) -> dict[str, Any]:
    return {**TYPE_DATA[platform].example, **change}


CHAT = [p.name for p in PLATFORMS if p.webhook_like and p.name not in ("webhook", "hipchat")]
BAD = [
    *[pytest.param(name, {}, "type_data.webhook_url", id=f"{name}-no-url") for name in CHAT],
    pytest.param("slack", {"bot_token": "xoxb-12345678"}, "type_data.channel", id="slack-bot"),
    pytest.param("webhook", bad("webhook", format="bogus"), "type_data.format", id="format"),
    pytest.param("webhook", bad("webhook", secret="abc"), "type_data.secret", id="secret"),
    pytest.param(
        "webhook", bad("webhook", secrets=[SECRET] * 3), "type_data.secrets", id="secrets"
    ),
    pytest.param(
        "webhook", bad("webhook", headers={"X-A": 1}), "type_data.headers.X-A", id="headers"
    ),
    pytest.param(
        "webhook",
        bad("webhook", convox_signing_key="short"),
        "type_data.convox_signing_key",
        id="convox-key",
    ),
    pytest.param("email", bad("email", emails="ada@example.com"), "type_data.emails", id="emails"),
    pytest.param("email", bad("email", owner="yes"), "type_data.owner", id="owner"),
    pytest.param("hipchat", bad("hipchat", token=""), "type_data.token", id="hipchat-token"),
    pytest.param("hipchat", {"webhook_url": "https://h.example.com"}, "type_data.room", id="room"),
    pytest.param(
        "ios_push", bad("ios_push", device_tokens=["zz"]), "type_data.device_tokens.0", id="ios"
    ),
    pytest.param(
        "browser_push", bad("browser_push", subscriptions={}), "type_data.subscriptions", id="web"
    ),
]


@pytest.mark.parametrize(("platform", "data", "field"), BAD)
def test_a_bad_type_data_is_refused_by_its_branch_and_by_the_api(branches, platform, data, field):
    assert refusals(branches, platform, data) != []
    errors = check_type_data(known(platform), data, allow_loopback=False)
    assert field in errors, errors
    if platform in SHAPES and field != "type_data.webhook_url":
        assert shape_errors(SHAPES[platform], data) != {}


@pytest.mark.parametrize("platform", sorted(SHAPES))
def test_the_branch_refuses_exactly_what_the_checked_shape_refuses(document, branches, platform):
    shape = SHAPES[platform]
    base = example(document, platform)
    disagreements = []
    for member in shape.model_fields:
        for value in VALUES:
            data = {**base, member: value}
            by_shape = shape_errors(shape, data) != {}
            by_document = refusals(branches, platform, data) != []
            if by_shape != by_document:
                disagreements.append((member, value, by_shape, by_document))
    assert disagreements == []


def test_documented_models_are_the_checked_shapes_plus_the_members_checked_by_hand():
    for platform in PLATFORMS:
        documented = TYPE_DATA[platform.name]
        shape = SHAPES.get(platform.name, TypeDataShape)
        assert issubclass(documented, shape)
        added = set(documented.model_fields) - set(shape.model_fields)
        by_hand = {"webhook_url"} if platform.webhook_like else set()
        if platform.name == "slack":
            by_hand |= {"bot_token", "channel"}
        assert added == by_hand, platform.name


def test_every_member_the_request_parser_types_is_documented():
    documented = {member for model in TYPE_DATA.values() for member in model.model_fields}
    assert set(w.TypeDataIn.model_fields) <= documented
