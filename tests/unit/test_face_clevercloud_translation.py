"""Clever Cloud's hooks ⇄ the one notifier model (`herald_api.faces.clevercloud.clevercloud_face`,
`clevercloud_requests`, `clevercloud_render`, `herald_api.model.hooks`), and how the router
treats the notifiers a hook becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.faces.clevercloud.clevercloud_face import (
    emailhook_notifier,
    event_ids,
    hook_replaced,
    meta_events,
    webhook_notifiers,
)
from herald_api.faces.clevercloud.clevercloud_render import emailhook_to_wire, webhook_to_wire
from herald_api.faces.clevercloud.clevercloud_requests import (
    parse_emailhook,
    parse_webhook,
    scope_ids,
)
from herald_api.model.defaults import DEFAULT_HOOK_NAME, default_deployment_hook, default_hook_id
from herald_api.model.hooks import EMAILHOOK, WEBHOOK, Failure, ScopeFacts, group_hooks
from herald_api.model.type_data import InvalidNotifier
from herald_core.catalog import answers_to
from herald_core.directory import AppEntry, Directory, MemberEntry, OwnerEntry, OwnerKind
from herald_core.intake import parse_event
from herald_core.notifiers import Scope
from herald_core.routing import route
from herald_core.topics import Channel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OWNER = "orga_1"
FACTS = ScopeFacts(
    app_owners={"app_1": OWNER, "app_2": OWNER, "app_solo": "user_solo"},
    principals=frozenset({"orga_2"}),
)
# The 21 ids of `NotificationEventType` in @clevercloud/client 12 (notification.types.d.ts).
CLIENT_EVENT_IDS = {
    "ACCOUNT_CREATION",
    "ACCOUNT_DELETION",
    "ACCOUNT_EDITION",
    "ADDON_CREATION",
    "ADDON_DELETION",
    "APPLICATION_CREATION",
    "APPLICATION_DELETION",
    "APPLICATION_EDITION",
    "APPLICATION_REDEPLOY",
    "APPLICATION_STOP",
    "CLEVER_TOOLS_REQUEST",
    "CREDITS_ADDED",
    "DEPLOYMENT_ACTION_BEGIN",
    "DEPLOYMENT_ACTION_END",
    "DEPLOYMENT_FAIL",
    "DEPLOYMENT_SUCCESS",
    "GIT_PUSH",
    "ORGANISATION_CREATION",
    "ORGANISATION_DELETION",
    "ORGANISATION_EDITION",
    "ORGANISATION_USER_ADDITION",
}


def webhook(body: dict[str, Any], owner: str = OWNER) -> list[Any]:
    parsed = parse_webhook(body, owner_id=owner, facts=FACTS, allow_loopback=False)
    return webhook_notifiers("hk-1", owner, parsed, NOW)


def errors_of(body: Any, *, kind: str = WEBHOOK) -> dict[str, list[str]]:
    def parse() -> object:
        if kind == WEBHOOK:
            return parse_webhook(body, owner_id=OWNER, facts=FACTS, allow_loopback=False)
        return parse_emailhook(body, owner_id=OWNER, facts=FACTS)

    with pytest.raises(InvalidNotifier) as caught:
        parse()
    return caught.value.errors


def test_the_info_lists_every_event_id_of_clever_clouds_client_and_the_meta_events():
    assert set(event_ids()) == CLIENT_EVENT_IDS
    assert set(meta_events()) == {
        "META_SERVICE_LIFECYCLE",
        "META_DEPLOYMENT_RESULT",
        "META_SERVICE_MANAGEMENT",
        "META_CREDITS",
    }
    assert sorted(meta_events()["META_DEPLOYMENT_RESULT"]) == [
        "DEPLOYMENT_FAIL",
        "DEPLOYMENT_SUCCESS",
    ]
    for members in meta_events().values():
        assert set(members) <= CLIENT_EVENT_IDS


def test_a_webhook_with_two_urls_is_two_owner_notifiers_sharing_the_hook_id():
    first, second = webhook(
        {
            "name": "deploys",
            "urls": [
                {"format": "raw", "url": "https://hooks.example.com/a"},
                {"format": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
            ],
            "events": ["META_DEPLOYMENT_RESULT"],
            "scope": ["app_1", "addon_pg"],
        }
    )
    assert [n.id for n in (first, second)] == ["hk-1.0", "hk-1.1"]
    for notifier in (first, second):
        assert notifier.scope is Scope.OWNER
        assert notifier.owner_id == OWNER
        assert notifier.platform is Channel.WEBHOOK
        assert notifier.app_ids == ("app_1",)
        assert notifier.addon_ids == ("addon_pg",)
        assert notifier.selection.selected_event_ids == ("META_DEPLOYMENT_RESULT",)
        assert notifier.type_data["hook_id"] == "hk-1"
        assert notifier.type_data["hook_kind"] == WEBHOOK
    assert (first.type_data["format"], second.type_data["format"]) == ("raw", "slack")

    [(hook_id, members)] = group_hooks([second, first], WEBHOOK).items()
    wire = webhook_to_wire(hook_id, members)
    assert wire == {
        "id": "hk-1",
        "ownerId": OWNER,
        "name": "deploys",
        "events": ["META_DEPLOYMENT_RESULT"],
        "scope": ["app_1", "addon_pg"],
        "createdAt": "2026-11-23T12:00:00Z",
        "urls": [
            {"format": "raw", "url": "https://hooks.example.com/a"},
            {"format": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
        ],
        "state": "ENABLED",
        "failures": [],
    }
    assert group_hooks([first], EMAILHOOK) == {}


def test_no_events_is_every_event_and_the_older_single_url_shape_is_read():
    [notifier] = webhook({"url": "https://hooks.example.com/a", "format": "gitter"})
    assert notifier.selection.send_all_events
    assert notifier.type_data["format"] == "gitter"
    wire = webhook_to_wire("hk-1", [notifier])
    assert "events" not in wire
    assert "scope" not in wire
    assert "name" not in wire


def test_failures_and_state_come_from_the_history_and_the_notifiers():
    ok, broken = webhook(
        {
            "urls": [
                {"url": "https://hooks.example.com/ok"},
                {"url": "https://hooks.example.com/broken"},
            ]
        }
    )
    broken = broken.model_copy(update={"active": False})
    failures = [
        Failure("hk-1.1", NOW, status_code=500, response_excerpt="boom"),
        Failure("hk-1.1", NOW.replace(hour=13), reason="timeout", detail="no answer in 3s"),
    ]
    wire = webhook_to_wire("hk-1", [ok, broken], failures)
    assert wire["state"] == "DISABLED"
    assert wire["failures"] == [
        {
            "url": "https://hooks.example.com/broken",
            "networkFailure": "timeout: no answer in 3s",
            "createdAt": "2026-11-23T13:00:00Z",
        },
        {
            "url": "https://hooks.example.com/broken",
            "status": 500,
            "partialBody": "boom",
            "createdAt": "2026-11-23T12:00:00Z",
        },
    ]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"urls"}),
        ({"urls": []}, {"urls"}),
        ({"urls": [{"format": "teams", "url": "https://x.example.com"}]}, {"urls.0.format"}),
        ({"urls": [{"url": "http://127.0.0.1/hook"}]}, {"urls.0.url"}),
        ({"urls": [{"url": "ftp://x.example.com"}]}, {"urls.0.url"}),
        ({"urls": ["https://x.example.com"]}, {"urls.0"}),
        ({"urls": [{"url": "https://x.example.com"}], "events": ["NOPE"]}, {"events"}),
        ({"urls": [{"url": "https://x.example.com"}], "events": "DEPLOYMENT_FAIL"}, {"events"}),
        ({"urls": [{"url": "https://x.example.com"}], "colour": "blue"}, {"colour"}),
        ({"urls": [{"url": "https://x.example.com"}], "name": 3}, {"name"}),
        ({"urls": [{"url": "https://x.example.com"}], "scope": "app_1"}, {"scope"}),
        ({"url": {"nested": "object"}}, {"url"}),  # the older shape, wrong: not a 500
        ({"url": "https://x.example.com", "format": "teams"}, {"format"}),
    ],
)
def test_every_problem_of_a_webhook_is_listed(body, fields):
    assert set(errors_of(body)) == fields


@pytest.mark.parametrize(
    ("resource", "accepted"),
    [
        ("app_1", True),  # an app of the owner
        ("addon_pg", True),  # an add-on
        ("app_solo", False),  # another owner's app
        ("orga_2", False),  # a known owner
        ("orga_9", False),  # an organisation id
        ("user_1", False),  # a user id
        ("app_unknown", False),  # nothing Herald knows
    ],
)
def test_a_scope_holds_only_apps_of_the_owner_and_add_ons(resource, accepted):
    body = {"urls": [{"url": "https://x.example.com"}], "scope": [resource]}
    if accepted:
        webhook(body)
    else:
        assert set(errors_of(body)) == {"scope"}


def test_scope_ids_reads_what_it_can():
    assert scope_ids({"scope": ["app_1", 3, "addon_x"]}) == ["app_1", "addon_x"]
    assert scope_ids({"scope": "app_1"}) == []
    assert scope_ids([]) == []


def test_an_email_hook_maps_its_targets_onto_recipients_and_back():
    body = {
        "name": "ops",
        "notified": [
            {"type": "email", "target": "a@x.io, b@y.io"},
            {"type": "userid", "target": "user_7"},
            {"type": "userid"},
            {"type": "organisation"},
        ],
        "events": ["DEPLOYMENT_FAIL"],
    }
    parsed = parse_emailhook(body, owner_id=OWNER, facts=FACTS)
    notifier = emailhook_notifier("hk-2", OWNER, parsed, NOW)
    assert notifier.id == "hk-2.0"
    assert notifier.platform is Channel.EMAIL
    data = notifier.type_data
    assert (data["emails"], data["user_ids"], data["members"], data["owner"]) == (
        ["a@x.io", "b@y.io"],
        ["user_7"],
        True,
        True,
    )
    assert emailhook_to_wire("hk-2", notifier)["notified"] == [
        {"type": "organisation"},
        {"type": "userid"},
        {"type": "userid", "target": "user_7"},
        {"type": "email", "target": "a@x.io,b@y.io"},
    ]


@pytest.mark.parametrize(
    ("notified", "field"),
    [
        (None, "notified"),
        ([], "notified"),
        ([{"type": "email", "target": "not-an-address"}], "notified.0.target"),
        ([{"type": "email"}], "notified.0"),
        ([{"type": "slack", "target": "x"}], "notified.0.type"),
        (["a@x.io"], "notified.0"),
    ],
)
def test_bad_email_targets_are_refused(notified, field):
    assert field in errors_of({"notified": notified}, kind=EMAILHOOK)


def test_every_owner_gets_the_default_deployment_hook():
    organisation = default_deployment_hook("orga_1", OwnerKind.ORGANISATION, NOW)
    account = default_deployment_hook("user_1", OwnerKind.ACCOUNT, NOW)
    assert organisation.id == f"{default_hook_id('orga_1')}.0"
    assert default_hook_id("orga_1") == default_hook_id("orga_1") != default_hook_id("user_1")
    assert organisation.is_default
    assert organisation.selection.selected_event_ids == ("META_DEPLOYMENT_RESULT",)
    wire = emailhook_to_wire(default_hook_id("orga_1"), organisation)
    assert wire["name"] == DEFAULT_HOOK_NAME
    assert wire["notified"] == [{"type": "organisation"}]
    assert emailhook_to_wire(default_hook_id("user_1"), account)["notified"] == [{"type": "userid"}]


# --- how the router treats a hook's notifiers ------------------------------------------------

DIRECTORY = Directory(
    apps=[
        AppEntry(id="app_1", name="shop", owner_id=OWNER),
        AppEntry(id="app_2", name="blog", owner_id=OWNER),
        AppEntry(id="app_solo", name="mine", owner_id="user_solo"),
    ],
    owners=[
        OwnerEntry(
            id=OWNER,
            members=(
                MemberEntry(user_id="user_solo", email="solo@example.com"),
                MemberEntry(user_id="user_ann", email="ann@example.com"),
            ),
        ),
        OwnerEntry(
            id="user_solo",
            kind=OwnerKind.ACCOUNT,
            members=(MemberEntry(user_id="user_solo", email="solo@example.com"),),
        ),
    ],
)


def deployment(app_id: str, status: str = "success", **fields: Any) -> Any:
    return parse_event(
        {
            "id": f"ev-{app_id}-{status}",
            "type": "app_deployed",
            "created_at": "2026-11-23T10:00:00Z",
            "source": "test",
            "app_id": app_id,
            "owner_id": DIRECTORY.owner_of(app_id, None),
            "type_data": {"status": status},
            **fields,
        }
    )


def test_meta_deployment_result_matches_success_and_failure_and_nothing_else():
    assert "META_DEPLOYMENT_RESULT" in answers_to("app_deployed", {"status": "success"})
    assert "META_DEPLOYMENT_RESULT" in answers_to("app_deployed", {"status": "crashed"})
    assert "META_DEPLOYMENT_RESULT" not in answers_to("app_restarted", {})


def test_a_hook_owned_by_a_user_matches_only_that_users_apps():
    [hook] = webhook({"urls": [{"url": "https://x.example.com"}]}, owner="user_solo")
    assert route(deployment("app_solo"), [hook], NOW, DIRECTORY)
    # user_solo is a member of orga_1, but orga_1's apps are not theirs
    assert not route(deployment("app_1"), [hook], NOW, DIRECTORY)


def test_a_scoped_hook_ignores_the_other_apps_and_the_default_hook_mails_the_members():
    [scoped] = webhook({"urls": [{"url": "https://x.example.com"}], "scope": ["app_1"]})
    assert route(deployment("app_1"), [scoped], NOW, DIRECTORY)
    assert not route(deployment("app_2"), [scoped], NOW, DIRECTORY)
    default = default_deployment_hook(OWNER, OwnerKind.ORGANISATION, NOW)
    [delivery] = route(deployment("app_2", "build-error"), [default], NOW, DIRECTORY)
    assert sorted(r.address for r in delivery.recipients) == ["ann@example.com", "solo@example.com"]
    assert not route(
        parse_event({**deployment("app_2").model_dump(mode="json"), "type": "app_restarted"}),
        [default],
        NOW,
        DIRECTORY,
    )


def test_an_edited_hook_keeps_its_notifiers_by_position():
    first, second = webhook(
        {"urls": [{"url": "https://a.example.com"}, {"url": "https://b.example.com"}]}
    )
    second = second.model_copy(update={"active": False, "version": 4})
    later = NOW.replace(hour=18)
    wanted = webhook_notifiers(
        "hk-1",
        OWNER,
        parse_webhook(
            {"urls": [{"format": "slack", "url": "https://c.example.com"}]},
            owner_id=OWNER,
            facts=FACTS,
            allow_loopback=False,
        ),
        later,
    )
    added, updated, removed = hook_replaced([first, second], wanted, later)
    assert added == []
    assert [n.id for n in removed] == ["hk-1.1"]
    [kept] = updated
    assert (kept.id, kept.created_at, kept.updated_at) == ("hk-1.0", NOW, later)
    assert (kept.version, kept.type_data["format"]) == (2, "slack")
    added, updated, removed = hook_replaced([first], [*wanted, second], later)
    assert ([n.id for n in added], removed) == (["hk-1.1"], [])
