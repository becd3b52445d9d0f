"""Scalingo's legacy notifications ⇄ notifiers (seed 002): the pure translation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_api.faces.scalingo.legacy_notifications import (
    FACE,
    conflict,
    conflict_errors,
    inferred_type,
    is_legacy,
    notification_from_create,
    notification_patched,
    to_wire,
)
from herald_api.model.type_data import InvalidNotifier
from herald_core.notifiers import Scope
from herald_core.topics import Channel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SLACK = "https://hooks.slack.com/services/TXXXXX/BXXXXX/XXXXXXXXXX"
HOOK = "https://myendpoint.example.com/scalingo"


def create(notifier_id: str = "no-1", **body: Any) -> Any:
    return notification_from_create(
        {"webhook_url": HOOK, **body},
        notifier_id=notifier_id,
        app_id="app-1",
        owner_id="org-1",
        now=NOW,
        allow_loopback=False,
    )


def problems(call: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidNotifier) as caught:
        call()
    return caught.value.errors


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (SLACK, "slack"),
        ("https://hooks.slack-gov.com/services/T/B/X", "slack"),
        (HOOK, "webhook"),
        ("https://slack.com.evil.example/hooks", "webhook"),
        ("http://127.0.0.1:8080/hooks.slack.com", "webhook"),  # loopback never plays Slack
    ],
)
def test_the_type_is_read_from_the_url(url, kind):
    assert inferred_type(url) == kind


def test_a_webhook_notification_is_an_app_notifier_of_deployments_in_scalingo_format():
    notifier = create()

    assert (notifier.scope, notifier.app_id, notifier.owner_id) == (Scope.APP, "app-1", "org-1")
    assert notifier.platform is Channel.WEBHOOK
    assert notifier.selection.selected_event_ids == ("app_deployed",)
    assert notifier.type_data == {"webhook_url": HOOK, "face": FACE, "format": "scalingo"}
    assert notifier.active is True  # enabled by default
    assert is_legacy(notifier)
    assert to_wire(notifier) == {
        "id": "no-1",
        "app_id": "app-1",
        "type": "webhook",
        "webhook_url": HOOK,
        "active": True,
    }


def test_a_slack_notification_posts_slack_messages():
    notifier = create(webhook_url=SLACK, active=False)

    assert notifier.platform is Channel.SLACK
    assert "format" not in notifier.type_data
    assert to_wire(notifier)["type"] == "slack"
    assert to_wire(notifier)["active"] is False


@pytest.mark.parametrize(("given", "active"), [(True, True), (False, False), ("true", True)])
def test_active_takes_booleans_and_the_documents_string(given, active):
    assert create(active=given).active is active


def test_what_a_create_refuses():
    assert problems(lambda: create(webhook_url="")) == {"webhook_url": ["can't be blank"]}
    assert "webhook_url" in problems(lambda: create(webhook_url="ftp://example.com/x"))
    assert "webhook_url" in problems(lambda: create(webhook_url="http://127.0.0.1/x"))
    assert problems(lambda: create(active="yes")) == {"active": ["must be true or false"]}
    assert problems(lambda: create(name="x")) == {"name": ["unknown field"]}
    assert "type" in problems(lambda: create(type="slack"))
    assert create(type="webhook", id="ignored", app_id="ignored").id == "no-1"


def test_a_patch_changes_the_url_or_the_state_and_moves_the_version():
    current = create()
    later = NOW + timedelta(minutes=1)

    patched = notification_patched(
        current,
        {"webhook_url": "https://other.example.com/h", "active": "false"},
        now=later,
        allow_loopback=False,
    )

    assert patched.type_data["webhook_url"] == "https://other.example.com/h"
    assert patched.type_data["format"] == "scalingo"
    assert (patched.active, patched.version, patched.updated_at) == (False, 2, later)
    assert notification_patched(current, {}, now=later, allow_loopback=False).active is True


def test_a_patch_refuses_a_url_of_another_type():
    slack = create(webhook_url=SLACK)
    errors = problems(
        lambda: notification_patched(
            slack, {"webhook_url": "https://myendpoint.com"}, now=NOW, allow_loopback=False
        )
    )
    assert list(errors) == ["webhook_url"]
    assert "slack" in errors["webhook_url"][0]

    webhook = create()
    errors = problems(
        lambda: notification_patched(webhook, {"webhook_url": SLACK}, now=NOW, allow_loopback=False)
    )
    assert "keeps its type" in errors["webhook_url"][0]


def test_one_enabled_notification_per_type():
    first, second = create("no-1"), create("no-2")
    slack = create("no-3", webhook_url=SLACK)
    disabled = create("no-4", active=False)

    assert conflict(second, [first, slack]) == first
    assert conflict(slack, [first, second]) is None
    assert conflict(disabled, [first]) is None
    assert conflict(first, [first]) is None
    assert conflict(second, [first.model_copy(update={"active": False})]) is None
    assert list(conflict_errors(second, first)) == ["type"]
