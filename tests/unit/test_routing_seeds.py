"""One routing case per seed platform, plus recipients and explain (herald_core.routing)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_core.catalog import CATALOG
from herald_core.directory import (
    AppEntry,
    CollaboratorEntry,
    Directory,
    MemberEntry,
    OwnerEntry,
    OwnerKind,
)
from herald_core.envelope import Event
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.recipients import resolve_recipients
from herald_core.routing import Exclusion, explain, route
from herald_core.topics import Channel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOOK = {"webhook_url": "https://example.com/hook"}


def event(type_: str, type_data: dict[str, Any] | None = None, **fields: Any) -> Event:
    body = {
        "id": f"ev-{type_}",
        "type": type_,
        "created_at": "2026-11-23T10:00:00Z",
        "source": "test",
        "app_id": "app-1",
        "owner_id": "org-1",
        "type_data": type_data or {},
        **fields,
    }
    return parse_event(body)


DEPLOYED = {
    "deployment_id": "d",
    "pusher": "jo",
    "git_ref": "abc",
    "status": "success",
    "duration": 3,
}
DIRECTORY = Directory(
    apps=[
        AppEntry(
            id="app-1",
            name="shop",
            owner_id="org-1",
            collaborators=(
                CollaboratorEntry(
                    id="c1", user_id="u-bob", email="bob@example.com", status="accepted"
                ),
                CollaboratorEntry(id="c2", email="invited@example.com", status="invited"),
            ),
        ),
        AppEntry(id="app-2", name="blog", owner_id="org-1"),
        AppEntry(id="app-3", name="mine", owner_id="u-solo"),
    ],
    owners=[
        OwnerEntry(
            id="org-1",
            kind=OwnerKind.ORGANISATION,
            members=(
                MemberEntry(user_id="u-ann", email="ann@example.com", role="owner"),
                MemberEntry(user_id="u-bob", email="Bob@Example.com"),
            ),
        ),
        OwnerEntry(
            id="u-solo",
            kind=OwnerKind.ACCOUNT,
            members=(MemberEntry(user_id="u-solo", email="solo@example.com"),),
        ),
    ],
)


def ids(deliveries: list[Any]) -> list[str]:
    return [d.notifier.id for d in deliveries]


# --- Clever Cloud: an organisation hook restricted to two apps and one add-on -----------------

CC_HOOK = Notifier(
    id="cc-hook",
    scope=Scope.OWNER,
    owner_id="org-1",
    app_ids=("app-1", "app-2"),
    addon_ids=("addon-pg",),
    platform=Channel.WEBHOOK,
    type_data=HOOK,
    selection=Selection(selected_event_ids=("META_DEPLOYMENT_RESULT", "addon_updated")),
)


@pytest.mark.parametrize(
    ("routed", "delivered"),
    [
        (event("app_deployed", DEPLOYED, addon_id="addon-pg"), True),
        (
            event(
                "app_deployed",
                {**DEPLOYED, "status": "build-error"},
                app_id="app-2",
                addon_id="addon-pg",
            ),
            True,
        ),
        (
            event("app_deployed", DEPLOYED, app_id="app-3", owner_id="org-1", addon_id="addon-pg"),
            False,  # app-3 is another owner's (u-solo): an org hook never sees it
        ),
        # The scope is one list of resources: app-1 is listed, whatever the add-on.
        (event("app_deployed", DEPLOYED, addon_id="addon-redis"), True),
        (event("app_deployed", DEPLOYED), True),
        (event("app_deployed", DEPLOYED, app_id="app-2", addon_id="addon-redis"), True),
        (event("addon_updated", {}, app_id=None, addon_id="addon-pg"), True),
        (event("addon_updated", {}, app_id=None, addon_id="addon-redis"), False),
        (event("app_restarted", {}, addon_id="addon-pg"), False),
    ],
    ids=[
        "app-1-pg",
        "app-2-failed-deploy",
        "third-app",
        "app-1-other-addon",
        "app-1-no-addon",
        "app-2-other-addon",
        "listed-addon-alone",
        "unlisted-addon-alone",
        "not-selected",
    ],
)
def test_clever_cloud_hook_restricted_to_two_apps_and_one_addon(
    routed: Event, delivered: bool
) -> None:
    assert bool(route(routed, [CC_HOOK], NOW, DIRECTORY)) is delivered


# --- Convox: an organisation integration forwards every event but the audit-only ones ---------

CONVOX = Notifier(
    id="convox-slack",
    scope=Scope.OWNER,
    owner_id="org-1",
    platform=Channel.SLACK,
    type_data=HOOK,
    selection=Selection(send_all_events=True),
)


@pytest.mark.parametrize(
    "event_type", sorted(t.id for t in CATALOG.types() if t.family.value == "convox")
)
def test_convox_integration_gets_every_non_audit_event(event_type: str) -> None:
    routed = event(event_type, {}, rack="production")
    expected = event_type not in CATALOG.audit_only_ids()
    assert bool(route(routed, [CONVOX], NOW, DIRECTORY)) is expected


def test_audit_only_events_are_explained_as_such() -> None:
    [decision] = explain(event("app:budget:set", {}), [CONVOX], DIRECTORY)
    assert decision.exclusion is Exclusion.AUDIT_ONLY


# --- Cloud 66: a user who switched e-mail off for one type ------------------------------------

CLOUD66_TYPES = tuple(t.id for t in CATALOG.types() if t.family.value == "cloud66")
ANN_EMAIL = Notifier(
    id="c66-ann-email",
    scope=Scope.USER,
    user_id="u-ann",
    platform=Channel.EMAIL,
    selection=Selection(
        selected_event_ids=tuple(t for t in CLOUD66_TYPES if t != "server.stopped")
    ),
)


@pytest.mark.parametrize(
    ("event_type", "delivered"),
    [("job.fail", True), ("server.stopped", False), ("process.down", True)],
)
def test_cloud66_user_switched_email_off_for_one_type(event_type: str, delivered: bool) -> None:
    deliveries = route(event(event_type, {}, app_id=None), [ANN_EMAIL], NOW, DIRECTORY)
    assert bool(deliveries) is delivered
    if delivered:
        assert [r.address for r in deliveries[0].recipients] == ["ann@example.com"]


def test_a_user_notifier_ignores_owners_the_user_does_not_belong_to() -> None:
    assert (
        route(event("job.fail", {}, app_id=None, owner_id="org-9"), [ANN_EMAIL], NOW, DIRECTORY)
        == []
    )


# --- Scalingo: the default notifier mails the owner; collaborators optionally ---------------


def default(collaborators: bool = False, **type_data: Any) -> Notifier:
    return Notifier(
        id="default",
        scope=Scope.APP,
        app_id="app-1",
        platform=Channel.EMAIL,
        is_default=True,
        selection=Selection(preset=Preset.CRITICAL_ALERTS),
        type_data={"owner": True, "collaborators": collaborators, **type_data},
    )


@pytest.mark.parametrize(
    ("notifier", "expected"),
    [
        (default(), ["ann@example.com", "Bob@Example.com"]),
        (default(collaborators=True), ["ann@example.com", "Bob@Example.com"]),
        (
            default(emails=["ops@example.com", "ANN@example.com"]),
            ["ann@example.com", "Bob@Example.com", "ops@example.com"],
        ),
        (
            Notifier(
                id="u",
                scope=Scope.APP,
                app_id="app-1",
                platform=Channel.EMAIL,
                type_data={"user_ids": ["u-bob", "u-nobody"]},
            ),
            ["Bob@Example.com"],
        ),
        (
            Notifier(
                id="c",
                scope=Scope.APP,
                app_id="app-1",
                platform=Channel.EMAIL,
                type_data={"collaborators": True},
            ),
            ["bob@example.com"],
        ),
        (
            Notifier(
                id="m",
                scope=Scope.OWNER,
                owner_id="org-1",
                platform=Channel.EMAIL,
                type_data={"members": True},
            ),
            ["ann@example.com", "Bob@Example.com"],
        ),
    ],
    ids=[
        "owner-org-members",
        "plus-collaborators-deduplicated",
        "extra-addresses",
        "user-ids",
        "accepted-collaborators-only",
        "organisation-members",
    ],
)
def test_recipients_are_resolved_from_the_directory(
    notifier: Notifier, expected: list[str]
) -> None:
    recipients = resolve_recipients(notifier, event("app_crashed", {}), DIRECTORY)
    assert sorted(r.address for r in recipients) == sorted(expected)


def test_an_account_owner_is_its_user() -> None:
    recipients = resolve_recipients(
        default(), event("app_crashed", {}, app_id="app-3", owner_id="u-solo"), DIRECTORY
    )
    assert [r.address for r in recipients] == ["solo@example.com"]


def test_transfer_changes_recipients_for_the_next_event() -> None:
    moved = Directory(
        apps=[AppEntry(id="app-1", name="shop", owner_id="u-solo")],
        owners=list(DIRECTORY.owners.values()),
    )
    recipients = resolve_recipients(default(), event("app_crashed", {}), moved)
    assert [r.address for r in recipients] == ["solo@example.com"]


def test_the_default_notifier_gets_critical_alerts_only() -> None:
    assert ids(route(event("app_crashed", {}), [default()], NOW, DIRECTORY)) == ["default"]
    assert route(event("app_deployed", DEPLOYED), [default()], NOW, DIRECTORY) == []


def test_an_email_notifier_with_nobody_to_mail_is_explained() -> None:
    lonely = Notifier(
        id="lonely",
        scope=Scope.APP,
        app_id="app-2",
        platform=Channel.EMAIL,
        selection=Selection(send_all_events=True),
        type_data={"owner": True},
    )
    [decision] = explain(
        event("app_crashed", {}, app_id="app-2", owner_id="org-9"), [lonely], Directory()
    )
    assert decision.exclusion is Exclusion.NO_RECIPIENTS


def test_explain_names_the_rule_for_every_notifier() -> None:
    notifiers = [
        Notifier(
            id="a-inactive",
            scope=Scope.APP,
            app_id="app-1",
            platform=Channel.WEBHOOK,
            active=False,
            selection=Selection(send_all_events=True),
            type_data=HOOK,
        ),
        Notifier(
            id="b-other-app",
            scope=Scope.APP,
            app_id="app-2",
            platform=Channel.WEBHOOK,
            selection=Selection(send_all_events=True),
            type_data=HOOK,
        ),
        Notifier(
            id="c-unselected",
            scope=Scope.APP,
            app_id="app-1",
            platform=Channel.WEBHOOK,
            selection=Selection(selected_event_ids=("app_restarted",)),
            type_data=HOOK,
        ),
        Notifier(
            id="d-yes",
            scope=Scope.APP,
            app_id="app-1",
            platform=Channel.WEBHOOK,
            selection=Selection(selected_event_ids=("DEPLOYMENT_SUCCESS",)),
            type_data=HOOK,
        ),
    ]
    verdicts = {
        d.notifier.id: d.exclusion
        for d in explain(event("app_deployed", DEPLOYED), notifiers, DIRECTORY)
    }
    assert verdicts == {
        "a-inactive": Exclusion.INACTIVE,
        "b-other-app": Exclusion.SCOPE,
        "c-unselected": Exclusion.SELECTION,
        "d-yes": None,
    }


def test_an_alert_reaches_the_notifiers_it_lists_even_unselected() -> None:
    listed = Notifier(
        id="listed",
        scope=Scope.APP,
        app_id="app-1",
        platform=Channel.WEBHOOK,
        selection=Selection(selected_event_ids=("app_deployed",)),
        type_data=HOOK,
    )
    unlisted = listed.model_copy(update={"id": "unlisted"})
    alert = event(
        "app_alert_triggered",
        {"metric": "cpu", "value": 95, "limit": 80, "notifier_ids": ["listed"]},
    )
    assert ids(route(alert, [listed, unlisted], NOW, DIRECTORY)) == ["listed"]
