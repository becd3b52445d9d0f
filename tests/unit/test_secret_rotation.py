"""Webhook signing secrets: generated at creation, rotated with an overlap, kept by every edit;
and the sender's choice of the secrets active at a moment."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from herald_api.faces.clevercloud.clevercloud_face import (
    hook_replaced,
    hook_signing,
    signed_hook,
    webhook_notifiers,
)
from herald_api.faces.clevercloud.clevercloud_requests import HookCommon, HookScope, WebhookRequest
from herald_api.faces.scalingo.notifier_face import notifier_from_create, notifier_patched
from herald_api.model.type_data import MASK, InvalidNotifier, mask_type_data
from herald_api.model.webhook_secrets import (
    DEFAULT_OVERLAP_S,
    MAX_OVERLAP_S,
    Rotation,
    ensure_secret,
    is_secret,
    live_previous,
    new_secret,
    parse_rotation,
    previous_expiries,
    rotated,
    rotated_type_data,
)
from herald_core.errors import FailureReason, PermanentDeliveryError
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.topics import Channel
from herald_sender.signing import active_secrets, decode_secret, signing_headers
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

NOW = datetime(2026, 3, 12, 16, 0, tzinfo=UTC)
OLD = "whsec_" + base64.b64encode(b"the old key, thirty-two bytes!!!").decode()
NEW = "whsec_" + base64.b64encode(b"the new key, thirty-two bytes!!!").decode()
OLDER = "whsec_" + base64.b64encode(b"an older key, 32 bytes long too!").decode()


def webhook(**type_data: Any) -> Notifier:
    return Notifier(
        id="no-1",
        name="hook",
        scope=Scope.APP,
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data={"webhook_url": "https://hooks.example.com/h", **type_data},
        created_at=NOW,
        updated_at=NOW,
    )


def create(type_data: dict[str, Any], platform: str = "webhook") -> Notifier:
    return notifier_from_create(
        {"name": "n", "platform_id": platform, "type_data": type_data},
        notifier_id="no-1",
        app_id="app-1",
        owner_id="org-1",
        now=NOW,
        allow_loopback=False,
    )


# --- generation ------------------------------------------------------------------------------


def test_a_generated_secret_is_whsec_and_32_random_bytes_the_reference_library_takes() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(decode_secret(secret)) == 32
        assert is_secret(secret)
        Webhook(secret)  # the reference library decodes it too


def test_a_webhook_created_without_a_secret_gets_one_and_only_a_webhook() -> None:
    made, generated = ensure_secret(create({"webhook_url": "https://hooks.example.com/h"}))
    assert generated is not None
    assert made.type_data["secret"] == generated
    assert mask_type_data(made.type_data)["secret"] == MASK

    given, none = ensure_secret(
        create({"webhook_url": "https://hooks.example.com/h", "secret": NEW})
    )
    assert (given.type_data["secret"], none) == (NEW, None)

    slack = create({"webhook_url": "https://hooks.slack.com/services/T0/B0/XXXXXXXX"}, "slack")
    assert ensure_secret(slack) == (slack, None)


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, Rotation(None, DEFAULT_OVERLAP_S)),
        ({}, Rotation(None, 24 * 3600)),
        ({"secret": NEW}, Rotation(NEW, DEFAULT_OVERLAP_S)),
        ({"overlap_seconds": 0}, Rotation(None, 0)),
        ({"secret": NEW, "overlap_seconds": MAX_OVERLAP_S}, Rotation(NEW, 7 * 24 * 3600)),
    ],
)
def test_rotation_bodies(body: Any, expected: Rotation) -> None:
    assert parse_rotation(body) == (expected, {})


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"overlap_seconds": -1}, {"overlap_seconds"}),
        ({"overlap_seconds": MAX_OVERLAP_S + 1}, {"overlap_seconds"}),
        ({"overlap_seconds": "24h"}, {"overlap_seconds"}),
        ({"overlap_seconds": 1.5}, {"overlap_seconds"}),
        ({"overlap_seconds": True}, {"overlap_seconds"}),
        ({"secret": "hunter2"}, {"secret"}),
        ({"secret": "whsec_" + "a" * 25}, {"secret"}),  # 25 base64 characters decode to nothing
        ({"secret": 42, "overlap": "24h"}, {"secret", "overlap"}),
        ([NEW], {"body"}),
    ],
)
def test_bad_rotation_bodies_name_every_field(body: Any, fields: set[str]) -> None:
    rotation, errors = parse_rotation(body)
    assert set(errors) == fields
    assert rotation == Rotation()


def test_a_rotation_keeps_the_replaced_secret_until_the_overlap_ends() -> None:
    current = webhook(secret=OLD)
    after = rotated(current, NEW, NOW, 30)
    assert after.type_data["secret"] == NEW
    assert after.type_data["previous_secrets"] == [
        {"secret": OLD, "expires_at": "2026-03-12T16:00:30Z"}
    ]
    assert (after.version, after.updated_at) == (current.version + 1, NOW)
    assert previous_expiries(after) == [{"expires_at": "2026-03-12T16:00:30Z"}]
    assert after.type_data["webhook_url"] == current.type_data["webhook_url"]


def test_rotations_keep_two_previous_secrets_at_most_and_drop_expired_ones() -> None:
    data: dict[str, Any] = {"secret": OLDER}
    data = rotated_type_data(data, OLD, NOW, 3600)
    data = rotated_type_data(data, NEW, NOW + timedelta(seconds=10), 60)
    assert [p["secret"] for p in data["previous_secrets"]] == [OLD, OLDER]
    third = "whsec_" + base64.b64encode(b"a third rotation in a short time").decode()
    data = rotated_type_data(data, third, NOW + timedelta(seconds=20), 60)
    assert [p["secret"] for p in data["previous_secrets"]] == [NEW, OLD], "at most 2"
    later = rotated_type_data(data, OLDER, NOW + timedelta(hours=2), 0)
    assert "previous_secrets" not in later, "expired ones go; overlap 0 keeps none"
    assert later["secret"] == OLDER


def test_rotating_to_the_same_secret_or_a_legacy_row_keeps_no_duplicate() -> None:
    assert rotated_type_data({"secret": NEW}, NEW, NOW, 60) == {"secret": NEW}
    assert rotated_type_data({"webhook_url": "u"}, NEW, NOW, 60) == {
        "webhook_url": "u",
        "secret": NEW,
    }


def test_only_well_formed_unexpired_previous_secrets_live_on() -> None:
    previous = [
        {"secret": OLD, "expires_at": "2026-03-12T16:00:01Z"},
        {"secret": OLDER, "expires_at": "2026-03-12T16:00:00Z"},  # expired exactly now
        {"secret": NEW, "expires_at": "2026-03-12T17:00:00"},  # no zone
        {"secret": NEW, "expires_at": "tomorrow"},
        "whsec_x",
    ]
    assert live_previous(previous, NOW) == [previous[0]]
    assert live_previous(None, NOW) == []


# --- the sender's side: which secrets sign at a moment -----------------------------------------


def test_the_sender_signs_with_previous_secrets_until_they_expire() -> None:
    data = {
        "secret": NEW,
        "previous_secrets": [{"secret": OLD, "expires_at": "2026-03-12T16:00:30Z"}],
        "secrets": [OLDER],
    }
    assert active_secrets(data, NOW) == [NEW, OLD, OLDER]
    assert active_secrets(data, NOW + timedelta(seconds=29)) == [NEW, OLD, OLDER]
    assert active_secrets(data, NOW + timedelta(seconds=30)) == [NEW, OLDER]

    body = b'{"id":"ev-1"}'
    during = signing_headers(data, "d-1", NOW + timedelta(seconds=5), body)
    after = signing_headers(data, "d-1", NOW + timedelta(minutes=5), body)
    assert len(during["webhook-signature"].split(" ")) == 3
    assert len(after["webhook-signature"].split(" ")) == 2


def test_expired_secrets_do_not_sign() -> None:
    data = {
        "secret": NEW,
        "previous_secrets": [{"secret": OLD, "expires_at": "2026-03-12T16:00:30Z"}],
    }
    now = datetime.now(UTC)  # the reference library checks the timestamp against its own clock
    body = b"{}"
    headers = signing_headers(data, "d-1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 1
    Webhook(NEW).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body, headers)


@pytest.mark.parametrize(
    "previous",
    [
        "whsec_SECRETPART",
        ["whsec_SECRETPART"],
        [{"secret": "whsec_SECRETPART"}],
        [{"secret": "whsec_SECRETPART", "expires_at": "soon"}],
        [{"secret": "whsec_SECRETPART", "expires_at": "2026-03-12T17:00:00"}],
    ],
)
def test_malformed_previous_secrets_fail_loudly_and_never_quote_a_secret(previous: Any) -> None:
    with pytest.raises(PermanentDeliveryError) as info:
        active_secrets({"secret": NEW, "previous_secrets": previous}, NOW)
    assert info.value.reason is FailureReason.INVALID_PAYLOAD
    assert "previous_secrets" in info.value.detail
    assert "SECRETPART" not in str(info.value)


# --- requests may not remove a secret nor write previous ones --------------------------------


def test_a_patch_keeps_the_secret_and_may_only_drop_previous_secrets() -> None:
    current = rotated(webhook(secret=OLD), NEW, NOW, 60)
    echoed = notifier_patched(
        current,
        {"name": "renamed", "type_data": mask_type_data(current.type_data)},
        now=NOW,
        allow_loopback=False,
    )
    assert echoed.type_data["secret"] == NEW
    assert echoed.type_data["previous_secrets"] == current.type_data["previous_secrets"]

    with pytest.raises(InvalidNotifier) as info:
        notifier_patched(current, {"type_data": {"secret": None}}, now=NOW, allow_loopback=False)
    assert list(info.value.errors) == ["type_data.secret"]
    with pytest.raises(InvalidNotifier) as info:
        notifier_patched(
            current,
            {"type_data": {"previous_secrets": [{"secret": OLD, "expires_at": "2099-01-01Z"}]}},
            now=NOW,
            allow_loopback=False,
        )
    assert list(info.value.errors) == ["type_data.previous_secrets"]

    ended = notifier_patched(
        current, {"type_data": {"previous_secrets": None}}, now=NOW, allow_loopback=False
    )
    assert "previous_secrets" not in ended.type_data
    assert ended.type_data["secret"] == NEW


def test_a_creation_may_not_set_previous_secrets() -> None:
    with pytest.raises(InvalidNotifier) as info:
        create(
            {
                "webhook_url": "https://hooks.example.com/h",
                "previous_secrets": [{"secret": OLD, "expires_at": "2099-01-01T00:00:00Z"}],
            }
        )
    assert list(info.value.errors) == ["type_data.previous_secrets"]


# --- Clever Cloud: one secret per hook, kept by an edit --------------------------------------


def hook(urls: tuple[tuple[str, str], ...]) -> list[Notifier]:
    common = HookCommon("h", Selection(send_all_events=True), HookScope())
    return webhook_notifiers("hk-1", "orga_1", WebhookRequest(common, urls), NOW)


def test_a_hook_edit_keeps_its_secret_on_every_url_old_and_new() -> None:
    first = signed_hook(hook((("raw", "https://a.example.com/h"),)), {"secret": OLD})
    current = [rotated(first[0], NEW, NOW, 60)]
    signing = hook_signing(current)
    assert signing == {
        "secret": NEW,
        "previous_secrets": current[0].type_data["previous_secrets"],
    }
    wanted = signed_hook(
        hook((("raw", "https://a.example.com/h"), ("slack", "https://b.example.com/h"))), signing
    )
    added, updated, removed = hook_replaced(current, wanted, NOW)
    assert ([n.id for n in added], [n.id for n in updated], removed) == (["hk-1.1"], ["hk-1.0"], [])
    for notifier in (*added, *updated):
        assert notifier.type_data["secret"] == NEW
        assert notifier.type_data["previous_secrets"][0]["secret"] == OLD


def test_a_hook_stored_before_hooks_were_signed_has_no_signing_to_carry() -> None:
    assert hook_signing(hook((("raw", "https://a.example.com/h"),))) == {}
