"""The Scalingo notifier face: requests in, notifiers out, every problem listed (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.faces.scalingo.notifier_face import notifier_from_create, notifier_patched
from herald_api.model.notifier_wire import to_wire
from herald_api.model.type_data import MASK, InvalidNotifier, mask_type_data, merge_type_data

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "whsec_" + "A" * 32
OLD_SECRET = "whsec_" + "B" * 32


def create(**notifier: Any) -> Any:
    body = {
        "name": "hook",
        "platform_id": "webhook",
        "type_data": {"webhook_url": "https://e.example.com/h"},
        **notifier,
    }
    return notifier_from_create(
        body, notifier_id="no-1", app_id="app-1", owner_id="o", now=NOW, allow_loopback=False
    )


def problems(**notifier: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidNotifier) as caught:
        create(**notifier)
    return caught.value.errors


def test_scalingo_clients_read_only_members_are_ignored() -> None:
    made = create(
        id="",
        app_id="",
        type="",
        created_at="0001-01-01T00:00:00Z",
        updated_at="0001-01-01T00:00:00Z",
    )
    assert (made.id, made.app_id, made.created_at) == ("no-1", "app-1", NOW)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"platform_id": "pager"}, "platform_id"),
        ({"name": " "}, "name"),
        ({"colour": "red"}, "colour"),
        ({"selected_event_ids": ["nope"]}, "selected_event_ids"),
        ({"selected_event_ids": ["app:budget:set"]}, "selected_event_ids"),
        ({"active": "yes"}, "active"),
        ({"preset": "everything"}, "preset"),
        ({"type_data": {"webhook_url": "http://169.254.169.254/"}}, "type_data.webhook_url"),
        (
            {"type_data": {"webhook_url": "https://e.example.com/h", "secret": "hunter2"}},
            "type_data.secret",
        ),
        (
            {"type_data": {"webhook_url": "https://e.example.com/h", "secrets": [SECRET, "x"]}},
            "type_data.secrets.1",
        ),
        (
            {"type_data": {"webhook_url": "https://e.example.com/h", "format": "xml"}},
            "type_data.format",
        ),
        (
            {"type_data": {"webhook_url": "https://e.example.com/h", "headers": {"Host": "x"}}},
            "type_data.headers",
        ),
    ],
)
def test_each_problem_is_named(changes: dict[str, Any], field: str) -> None:
    assert field in problems(**changes)


def test_aliases_and_groups_can_be_selected() -> None:
    made = create(selected_event_ids=["DEPLOYMENT_FAIL", "META_DEPLOYMENT_RESULT"])
    assert made.selection.selected_event_ids == ("DEPLOYMENT_FAIL", "META_DEPLOYMENT_RESULT")


def test_secrets_are_write_only_and_survive_an_echoed_patch() -> None:
    made = create(
        type_data={
            "webhook_url": "https://e.example.com/h",
            "secret": SECRET,
            "secrets": [OLD_SECRET],
            "headers": {"Authorization": "Bearer t", "X-Team": "ops"},
        }
    )
    shown = to_wire(made)["type_data"]
    assert (shown["secret"], shown["secrets"], shown["headers"]) == (
        MASK,
        MASK,
        {"Authorization": MASK, "X-Team": "ops"},
    )
    patched = notifier_patched(
        made, {"type_data": {"secret": MASK, "secrets": MASK}}, now=NOW, allow_loopback=False
    )
    assert (patched.type_data["secret"], patched.type_data["secrets"]) == (SECRET, [OLD_SECRET])


def test_patch_merges_type_data_and_keeps_the_platform() -> None:
    made = create()
    patched = notifier_patched(
        made, {"type_data": {}, "platform_id": "", "active": False}, now=NOW, allow_loopback=False
    )
    assert (patched.type_data["webhook_url"], patched.active, patched.version) == (
        "https://e.example.com/h",
        False,
        2,
    )
    with pytest.raises(InvalidNotifier) as caught:
        notifier_patched(made, {"platform_id": "slack"}, now=NOW, allow_loopback=False)
    assert "platform_id" in caught.value.errors


def test_null_removes_a_type_data_key() -> None:
    assert merge_type_data({"a": 1, "b": 2}, {"a": None, "c": 3}) == {"b": 2, "c": 3}
    assert mask_type_data({"token": ""}) == {"token": ""}, "an empty secret is shown as empty"
