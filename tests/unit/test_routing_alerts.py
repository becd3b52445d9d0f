"""Alert events reach the notifiers their alert lists, the notifiers selecting alerts, and every
default notifier of the app (its preset is the critical alerts); a resolution reaches whoever
heard the alert fire (docs/alerts.md, "One message per transition")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_api.model.defaults import default_notifier
from herald_core.directory import AppEntry, Directory, MemberEntry, OwnerEntry
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection
from herald_core.routing import explain, route
from herald_core.topics import Channel

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
DIRECTORY = Directory(
    apps=[AppEntry(id="app-1", name="shop", owner_id="org-1")],
    owners=[
        OwnerEntry(
            id="org-1", members=(MemberEntry(user_id="u-1", role="owner", email="o@example.com"),)
        )
    ],
)
DEFAULT = default_notifier("app-1", "org-1", NOW)


def hook(id_: str, *, app_id: str = "app-1", active: bool = True, **selection: object) -> Notifier:
    return Notifier(
        id=id_,
        name=id_,
        active=active,
        scope=Scope.APP,
        app_id=app_id,
        platform=Channel.WEBHOOK,
        selection=Selection(**selection),  # type: ignore[arg-type]
        type_data={"webhook_url": "https://hooks.example.com/x"},
    )


NOTIFIERS = [
    DEFAULT,
    hook("listed-deploys", selected_event_ids=["app_deployed"]),
    hook("listed-nothing"),
    hook("unlisted-deploys", selected_event_ids=["app_deployed"]),
    hook("all-alerts", send_all_alerts=True),
    hook("listed-inactive", active=False),
    hook("listed-other-app", app_id="app-2"),
]
LISTED = ["listed-deploys", "listed-nothing", "listed-inactive", "listed-other-app", "gone"]


def alert_event(type_: str, notifier_ids: list[str]) -> object:
    return parse_event(
        {
            "id": f"evt-{type_}",
            "type": type_,
            "created_at": "2026-11-23T17:00:00Z",
            "source": "alerter",
            "app_id": "app-1",
            "app_name": "shop",
            "owner_id": "org-1",
            "type_data": {
                "alert_id": "al-1",
                "metric": "cpu",
                "limit": 0.8,
                "value": 0.95,
                "container_type": "web",
                "notifier_ids": notifier_ids,
            },
        }
    )


def receivers(event: object) -> set[str]:
    return {d.notifier.id for d in route(event, NOTIFIERS, NOW, DIRECTORY)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "type_", ["app_alert_triggered", "alert:firing", "app_alert_resolved", "alert:resolved"]
)
def test_an_alert_reaches_its_listed_notifiers_the_alert_selectors_and_the_default(type_):
    # The default notifier's preset holds the firing types only; a resolution answers to its
    # incident's ids too, so the default hears the end of what it heard begin.
    expected = {"listed-deploys", "listed-nothing", "all-alerts", DEFAULT.id}
    assert receivers(alert_event(type_, LISTED)) == expected


SELECTORS = [
    DEFAULT,
    hook("all-alerts", send_all_alerts=True),
    hook("scalingo-id", selected_event_ids=["app_alert_triggered"]),
    hook("convox-id", selected_event_ids=["alert:firing"]),
    hook("critical", preset="critical_alerts"),
    hook("resolutions-only", selected_event_ids=["app_alert_resolved"]),
    hook("deploys", selected_event_ids=["app_deployed"]),
]


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("app_alert_triggered", {"resolutions-only"}),
        ("app_alert_resolved", set()),
    ],
)
def test_one_event_per_transition_reaches_every_family_selection(type_, expected):
    heard = {d.notifier.id for d in route(alert_event(type_, []), SELECTORS, NOW, DIRECTORY)}  # type: ignore[arg-type]
    every = {n.id for n in SELECTORS} - {"deploys"}
    assert heard == every - expected


def test_a_resolution_is_not_a_critical_alert_on_its_own():
    # It reaches the default only through its incident: `critical_alerts` does not list it.
    from herald_core.catalog import CATALOG

    assert "app_alert_resolved" not in CATALOG.critical_ids()
    assert CATALOG.resolved_by("app_alert_resolved") == "app_alert_triggered"
    assert CATALOG.resolved_by("alert:resolved") == "alert:firing"


def test_without_a_list_an_alert_reaches_only_the_selectors_and_the_default():
    assert receivers(alert_event("app_alert_triggered", [])) == {"all-alerts", DEFAULT.id}


def test_the_default_notifier_mails_the_owner():
    [delivery] = [
        d
        for d in route(alert_event("app_alert_triggered", []), NOTIFIERS, NOW, DIRECTORY)  # type: ignore[arg-type]
        if d.notifier.id == DEFAULT.id
    ]
    assert [r.address for r in delivery.recipients] == ["o@example.com"]


def test_listed_notifiers_of_an_inactive_or_other_app_are_excluded_for_their_reason():
    verdicts = {
        d.notifier.id: d.exclusion
        for d in explain(alert_event("app_alert_triggered", LISTED), NOTIFIERS, DIRECTORY)  # type: ignore[arg-type]
    }
    assert verdicts["listed-inactive"] == "inactive"
    assert verdicts["listed-other-app"] == "scope"
    assert verdicts["unlisted-deploys"] == "selection"


@pytest.mark.parametrize("type_", ["alert_added", "alert_deleted"])
def test_an_alert_configuration_event_is_not_an_alert_its_list_does_not_select(type_):
    # alert_added / alert_deleted carry the rule's notifier_ids too (AlertConfigData), but they
    # are ordinary events: only notifiers selecting them get them.
    assert receivers(alert_event(type_, LISTED)) == set()
