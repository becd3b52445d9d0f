"""Routing's family filter (rule 4) and one default mail per person (rule 7), as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from herald_api.faces.convox.convox_face import ConnectedWebhook, Provider, integration_notifier
from herald_api.model.account_notifiers import default_email_notifier
from herald_api.model.defaults import default_deployment_hook, default_notifier
from herald_core.catalog import CATALOG, Family, name_in_family
from herald_core.directory import AppEntry, Directory, MemberEntry, OwnerEntry, OwnerKind
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.routing import Exclusion, answer_families, explain, route
from herald_core.topics import Channel

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ORG = "org-acme"
APP = "app-shop"
DIRECTORY = Directory(
    apps=[AppEntry(id=APP, name="shop", owner_id=ORG)],
    owners=[
        OwnerEntry(
            id=ORG,
            kind=OwnerKind.ORGANISATION,
            members=(
                MemberEntry(user_id="u-ada", role="owner", email="ada@example.com"),
                MemberEntry(user_id="u-bob", role="member", email="Bob@example.com"),
            ),
        )
    ],
)


def event(type_: str, type_data: dict[str, Any] | None = None, **envelope: Any) -> Any:
    return parse_event(
        {
            "id": f"ev-{type_}",
            "type": type_,
            "created_at": "2026-12-07T09:00:00Z",
            "source": "test",
            "app_id": APP,
            "app_name": "shop",
            "owner_id": ORG,
            "type_data": type_data or {},
            **envelope,
        }
    )


DEPLOYED = {"deployment_id": "d1", "pusher": "ada", "git_ref": "abc", "status": "success"}
ALERT = {"alert_id": "al-1", "metric": "cpu", "limit": 0.8, "value": 0.9, "notifier_ids": []}
INTEGRATION = integration_notifier(
    ORG, Provider.DISCORD, ConnectedWebhook("https://discord.com/api/webhooks/1/x"), NOW
)


# --- families ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routed", "gets"),
    [
        (event("release:promote", {"status": "start"}), True),  # Convox's own
        (event("app_alert_triggered", ALERT), True),  # answers to alert:firing
        (event("app_alert_resolved", ALERT), True),  # answers to alert:resolved
        (event("app_deployed", DEPLOYED), True),  # answers to app:promote:completed
        (event("notifier_added", {"notifier_id": "n-1", "notifier_name": "x"}), False),
        (event("server.stopped", {"server_name": "web-1"}), False),  # Cloud 66
        (event("app_crashed"), False),  # Scalingo only
        (event("CREDITS_ADDED", {"amount": 10, "currency": "EUR"}), False),  # Clever Cloud
    ],
    ids=lambda v: getattr(v, "type", str(v)),
)
def test_a_convox_integration_gets_convox_events_only(routed, gets):
    [decision] = explain(routed, [INTEGRATION], DIRECTORY)
    assert decision.delivered is gets
    if not gets:
        assert decision.exclusion is Exclusion.FAMILY
        assert "convox" in decision.detail


def test_integrations_are_created_with_the_convox_family():
    assert INTEGRATION.families == (Family.CONVOX,)
    assert INTEGRATION.selection.send_all_events


def test_without_families_a_notifier_gets_every_family():
    everything = INTEGRATION.model_copy(update={"families": ()})
    routed = event("notifier_added", {"notifier_id": "n-1", "notifier_name": "x"})
    assert [d.delivered for d in explain(routed, [everything], DIRECTORY)] == [True]


def test_groups_do_not_make_a_family():
    # app_crashed is in Herald's critical_alerts group: that is no reason to call it Herald's.
    assert Family.HERALD not in answer_families(frozenset({"app_crashed", "critical_alerts"}))
    assert answer_families(frozenset({"DEPLOYMENT_SUCCESS"})) == {Family.CLEVERCLOUD}


def test_every_alias_only_id_has_a_family():
    assert CATALOG.alias_only_ids() == set(CATALOG.alias_families())
    assert all(CATALOG.family_of(i) is not None for i in CATALOG.alias_only_ids())


@pytest.mark.parametrize(
    ("type_", "type_data", "convox"),
    [
        ("app_alert_triggered", ALERT, "alert:firing"),
        ("app_alert_resolved", ALERT, "alert:resolved"),
        ("app_deployed", DEPLOYED, "app:promote:completed"),
        ("app_deployed", {**DEPLOYED, "status": "build-error"}, "app:promote:errored"),
        ("release:promote", {"status": "start"}, "release:promote"),
        ("notifier_added", {}, "notifier_added"),
    ],
)
def test_name_in_family_speaks_the_receivers_words(type_, type_data, convox):
    assert name_in_family(type_, type_data, Family.CONVOX) == convox


# --- one default mail per person ----------------------------------------------------------


def defaults_of_every_face() -> list[Notifier]:
    return [
        default_notifier(APP, ORG, NOW),
        default_deployment_hook(ORG, OwnerKind.ORGANISATION, NOW),
        default_email_notifier("u-ada", NOW),
        default_email_notifier("u-bob", NOW),
    ]


def mailed(deliveries: list[Any]) -> list[str]:
    return sorted(r.address.lower() for d in deliveries for r in d.recipients)


def test_a_deployment_mails_each_member_once_from_the_defaults():
    deliveries = route(event("app_deployed", DEPLOYED), defaults_of_every_face(), NOW, DIRECTORY)
    assert mailed(deliveries) == ["ada@example.com", "bob@example.com"]
    # The owner's hook (owner scope) comes before the users' account e-mails.
    assert {d.notifier.id for d in deliveries} == {defaults_of_every_face()[1].id}


def test_the_later_defaults_are_excluded_for_their_reason():
    hook = defaults_of_every_face()[1]
    verdicts = {
        d.notifier.id: d
        for d in explain(event("app_deployed", DEPLOYED), defaults_of_every_face(), DIRECTORY)
    }
    ada = verdicts[default_email_notifier("u-ada", NOW).id]
    assert ada.exclusion is Exclusion.DEFAULT_DUPLICATE
    assert hook.id in ada.detail


def test_a_notifier_the_user_configured_still_mails():
    own = Notifier(
        id="n-ada-own",
        scope=Scope.USER,
        user_id="u-ada",
        platform=Channel.EMAIL,
        selection=Selection(preset="deployments"),  # type: ignore[arg-type]
        type_data={"user_ids": ["u-ada"]},
    )
    deliveries = route(
        event("app_deployed", DEPLOYED), [*defaults_of_every_face(), own], NOW, DIRECTORY
    )
    assert mailed(deliveries) == ["ada@example.com", "ada@example.com", "bob@example.com"]


def test_a_default_keeps_the_addresses_no_earlier_default_mails():
    # The app's default notifier mails one extra address; the hook mails the members.
    app_default = default_notifier(APP, ORG, NOW).model_copy(
        update={
            "type_data": {"emails": ["oncall@example.com", "ada@example.com"], "owner": False},
            "selection": Selection(send_all_events=True),
        }
    )
    hook = default_deployment_hook(ORG, OwnerKind.ORGANISATION, NOW)
    deliveries = {
        d.notifier.id: d
        for d in route(event("app_deployed", DEPLOYED), [app_default, hook], NOW, DIRECTORY)
    }
    assert mailed([deliveries[app_default.id]]) == ["ada@example.com", "oncall@example.com"]
    assert mailed([deliveries[hook.id]]) == ["bob@example.com"]  # ada had it from the app's


def test_a_crash_goes_to_the_apps_default_before_the_account_e_mails():
    deliveries = route(event("app_crashed"), defaults_of_every_face(), NOW, DIRECTORY)
    by_id = {d.notifier.id: d for d in deliveries}
    assert default_notifier(APP, ORG, NOW).id in by_id
    assert mailed(deliveries) == ["ada@example.com", "bob@example.com"]
