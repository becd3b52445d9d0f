"""Cloud 66's account notifications ⇄ notifiers (seed 004): the pure translation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.faces.cloud66.account_notifications import (
    CHANNELS,
    by_channel,
    changed_channels,
    matrix,
)
from herald_api.model.account_notifiers import (
    FACE,
    account_types,
    default_email_notifier,
    notifier_id_for,
)
from herald_api.model.type_data import MASK, InvalidNotifier
from herald_core.catalog import CATALOG
from herald_core.notifiers import Scope
from herald_core.topics import Channel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOK = "https://example.com/hooks/cloud66"
SEED_TYPES = {
    "account.provision.ok",
    "account.provision.fail",
    "account.redeploy.ok",
    "account.redeploy.fail",
    "server.stopped",
    "server.backon",
    "job.fail",
    "job.backon",
    "process.down",
    "app.auth",
    "app.deauth",
    "account.redeploy.hook.fail",
    "account.deploy.started",
}


def change(stored: list[Any], **body: Any) -> tuple[list[Any], list[Any]]:
    return changed_channels("us-1", stored, body, NOW, allow_loopback=False)


def toggles(channels: dict[str, Any]) -> dict[str, dict[str, bool]]:
    shown = matrix("us-1", "ada@example.com", channels)
    return {row["id"]: row["channels"] for row in shown["event_types"]}


def test_every_account_type_of_the_seed_is_in_the_catalog_and_the_matrix():
    ids = {t.id for t in account_types()}
    assert SEED_TYPES | {"payment_failed", "account_suspended"} == ids
    assert all(CATALOG.get(i) is not None for i in ids)


def test_email_is_on_by_default_for_every_type_but_account_suspended():
    email = default_email_notifier("us-1", NOW)

    assert (email.scope, email.user_id, email.platform) == (Scope.USER, "us-1", Channel.EMAIL)
    assert email.type_data == {"face": FACE, "user_ids": ["us-1"]}
    shown = toggles(by_channel("us-1", [], NOW))
    assert {t for t, row in shown.items() if row["email"]} == {t.id for t in account_types()} - {
        "account_suspended"
    }
    assert not any(row[c] for row in shown.values() for c in CHANNELS if c != "email")


def test_ids_are_stable_per_user_and_channel():
    assert notifier_id_for("us-1", "email") == notifier_id_for("us-1", "email")
    assert len({notifier_id_for(u, c) for u in ("us-1", "us-2") for c in CHANNELS}) == 12
    assert default_email_notifier("us-1", NOW).id == notifier_id_for("us-1", "email")


def test_a_first_change_stores_the_default_email_notifier_with_the_toggle_applied():
    writes, deletes = change([], event_types={"job.fail": {"email": False}})

    [email] = writes
    assert deletes == []
    assert email.id == notifier_id_for("us-1", "email")
    assert "job.fail" not in email.selection.selected_event_ids
    assert "server.stopped" in email.selection.selected_event_ids


def test_a_webhook_channel_is_set_up_then_toggled():
    [email, webhook] = change([], channels={"webhook": {"webhook_url": HOOK}})[0]
    assert webhook.platform is Channel.WEBHOOK
    assert webhook.type_data == {"face": FACE, "format": "cloud66", "webhook_url": HOOK}
    assert webhook.selection.selected_event_ids == ()

    [webhook2] = change([email, webhook], event_types={"server.stopped": {"webhook": True}})[0]
    assert webhook2.selection.selected_event_ids == ("server.stopped",)
    assert webhook2.version == 2
    assert toggles({"email": email, "webhook": webhook2})["server.stopped"]["webhook"] is True


def test_toggles_on_a_channel_not_set_up_are_refused_and_unknown_names_listed():
    with pytest.raises(InvalidNotifier) as caught:
        change(
            [],
            channels={"fax": {}, "webhook": {"webhook_url": "ftp://x"}},
            event_types={
                "server.stopped": {"slack": True, "pager": True},
                "app_deployed": {"email": True},
            },
        )
    assert set(caught.value.errors) == {
        "channels.fax",
        "channels.webhook.webhook_url",
        "event_types.server.stopped.slack",
        "event_types.server.stopped.pager",
        "event_types.app_deployed",
    }


def test_a_slack_channel_takes_slack_urls_only_and_hipchat_masks_its_token():
    with pytest.raises(InvalidNotifier) as caught:
        change([], channels={"slack": {"webhook_url": HOOK}})
    assert list(caught.value.errors) == ["channels.slack.webhook_url"]

    writes, _ = change([], channels={"hipchat": {"token": "t0k3n", "room": "ops"}})
    hipchat = next(n for n in writes if n.platform is Channel.HIPCHAT)
    assert hipchat.type_data["webhook_url"] == "https://api.hipchat.com"
    shown = matrix("us-1", None, {"hipchat": hipchat})["channels"]["hipchat"]
    assert (shown["token"], shown["room"], shown["configured"]) == (MASK, "ops", True)


def test_push_channels_are_stored():
    writes, _ = change(
        [],
        channels={"ios_push": {"device_tokens": ["ab" * 32]}, "browser": {"subscriptions": []}},
        event_types={"server.stopped": {"ios_push": True, "browser": True}},
    )
    by_platform = {n.platform: n for n in writes}
    assert by_platform[Channel.APNS].selection.selected_event_ids == ("server.stopped",)
    assert by_platform[Channel.WEBPUSH].selection.selected_event_ids == ("server.stopped",)


def test_null_removes_a_channel_but_not_email():
    stored = change([], channels={"webhook": {"webhook_url": HOOK}})[0]
    writes, deletes = change(stored, channels={"webhook": None})
    assert (writes, [n.platform for n in deletes]) == ([], [Channel.WEBHOOK])
    with pytest.raises(InvalidNotifier):
        change(stored, channels={"email": None})


def test_the_matrix_shows_settings_and_the_users_address():
    shown = matrix("us-1", "ada@example.com", by_channel("us-1", [], NOW))
    assert shown["channels"]["email"]["email"] == "ada@example.com"
    assert shown["channels"]["webhook"] == {
        "configured": False,
        "notifier_id": None,
        "active": False,
        "webhook_url": None,
    }
    assert shown["channels"]["ios_push"]["device_tokens"] == []
