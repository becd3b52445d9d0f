"""The router's pure core: scope, selection, presets, audit-only types, route(), delivery ids.

Events are built the way they reach the router: through `parse_event` (canonical type,
normalised type_data), or directly as `Event` where only the envelope matters.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from herald_core.catalog import CATALOG, answers_to
from herald_core.deliveries import DELIVERY_NAMESPACE, Delivery, NotifierSnapshot, delivery_id
from herald_core.directory import AppEntry, Directory, MemberEntry, OwnerEntry
from herald_core.envelope import Event, EventUser
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.routing import in_scope, is_alert, is_forwarded, preset_ids, route, selects
from herald_core.topics import Channel

ROUTED_AT = datetime(2026, 3, 12, 16, 5, 20, tzinfo=UTC)
CREATED_AT = datetime(2026, 3, 12, 16, 5, 14, tzinfo=UTC)

SUCCESS = {"status": "success"}
BUILD_ERROR = {"status": "build-error"}


def event(type_="app_deployed", type_data=None, **fields):
    """A canonical event of app-1 (owner org-1) through the intake, as ingest would write it."""
    raw = {
        "id": "evt-1",
        "type": type_,
        "created_at": "2026-03-12T17:05:14+01:00",
        "source": "deployer",
        "app_id": "app-1",
        "owner_id": "org-1",
        "type_data": SUCCESS if type_data is None and type_ == "app_deployed" else type_data or {},
        **fields,
    }
    return parse_event(raw)


def envelope(**fields):
    """An Event built directly: only the envelope matters (scope tests)."""
    return Event(id="evt-1", type="app_scaled", created_at=CREATED_AT, **fields)


def notifier(id_="n-1", **fields):
    fields.setdefault("platform", Channel.WEBHOOK)
    fields.setdefault("selection", Selection(send_all_events=True))
    scope = fields.setdefault("scope", Scope.APP)
    if scope is Scope.APP:
        fields.setdefault("app_id", "app-1")
    return Notifier(id=id_, **fields)


def answers(type_, type_data=None):
    parsed = event(type_, type_data)
    return answers_to(parsed.type, parsed.type_data)


# --- scope ----------------------------------------------------------------------------------

APP = {"scope": Scope.APP, "app_id": "app-1"}
OWNER = {"scope": Scope.OWNER, "owner_id": "org-1"}
USER = {"scope": Scope.USER, "user_id": "u-1"}
ALICE = EventUser(id="u-1", username="alice")


@pytest.mark.parametrize(
    ("scope", "event_fields", "expected"),
    [
        (APP, {"app_id": "app-1", "owner_id": "org-1"}, True),
        (APP, {"app_id": "app-1"}, True),
        (APP, {"app_id": "app-2", "owner_id": "org-1"}, False),
        (APP, {"owner_id": "org-1"}, False),
        (OWNER, {"app_id": "app-1", "owner_id": "org-1"}, True),
        (OWNER, {"owner_id": "org-1"}, True),
        (OWNER, {"app_id": "app-1", "owner_id": "org-2"}, False),
        (OWNER, {"app_id": "app-1"}, False),
        ({**OWNER, "app_ids": ("app-1", "app-3")}, {"app_id": "app-1", "owner_id": "org-1"}, True),
        ({**OWNER, "app_ids": ("app-3",)}, {"app_id": "app-1", "owner_id": "org-1"}, False),
        ({**OWNER, "app_ids": ("app-1",)}, {"owner_id": "org-1"}, False),
        ({**OWNER, "app_ids": ("app-1",)}, {"app_id": "app-1", "owner_id": "org-2"}, False),
        ({**OWNER, "addon_ids": ("ad-1",)}, {"owner_id": "org-1", "addon_id": "ad-1"}, True),
        ({**OWNER, "addon_ids": ("ad-1",)}, {"owner_id": "org-1", "addon_id": "ad-2"}, False),
        ({**OWNER, "addon_ids": ("ad-1",)}, {"owner_id": "org-1"}, False),
        # Apps and add-ons are one list of resources (Clever Cloud's hook scope): either matches.
        (
            {**OWNER, "app_ids": ("app-1",), "addon_ids": ("ad-1",)},
            {"app_id": "app-1", "owner_id": "org-1"},
            True,
        ),
        (
            {**OWNER, "app_ids": ("app-1",), "addon_ids": ("ad-1",)},
            {"app_id": "app-2", "owner_id": "org-1", "addon_id": "ad-1"},
            True,
        ),
        (
            {**OWNER, "app_ids": ("app-1",), "addon_ids": ("ad-1",)},
            {"app_id": "app-2", "owner_id": "org-1", "addon_id": "ad-2"},
            False,
        ),
        ({**OWNER, "racks": ("prod",)}, {"owner_id": "org-1", "rack": "prod"}, True),
        ({**OWNER, "racks": ("prod",)}, {"owner_id": "org-1", "rack": "staging"}, False),
        ({**OWNER, "racks": ("prod",)}, {"owner_id": "org-1"}, False),
        (
            {**OWNER, "app_ids": ("app-1",), "racks": ("prod",)},
            {"app_id": "app-1", "owner_id": "org-1", "rack": "prod"},
            True,
        ),
        (
            {**OWNER, "app_ids": ("app-1",), "racks": ("prod",)},
            {"app_id": "app-1", "owner_id": "org-1", "rack": "staging"},
            False,
        ),
        # A user notifier gets the events of the owners the user belongs to (the directory says
        # who; test_user_scope_follows_membership) and of their own account (the owner u-1).
        (USER, {"owner_id": "u-1"}, True),
        (USER, {"owner_id": "org-1", "user": ALICE}, False),
        (USER, {"app_id": "app-1", "user": EventUser(id="u-2")}, False),
        (USER, {"app_id": "app-1", "user": EventUser(username="alice")}, False),
        (USER, {"app_id": "app-1"}, False),
    ],
    ids=[
        "app-same-app",
        "app-same-app-no-owner",
        "app-other-app",
        "app-owner-level-event",
        "owner-same-owner",
        "owner-owner-level-event",
        "owner-other-owner",
        "owner-event-without-owner",
        "owner-app-filter-hit",
        "owner-app-filter-miss",
        "owner-app-filter-owner-level-event",
        "owner-app-filter-hit-other-owner",
        "owner-addon-filter-hit",
        "owner-addon-filter-miss",
        "owner-addon-filter-no-addon",
        "owner-resources-app-listed",
        "owner-resources-addon-listed",
        "owner-resources-neither-listed",
        "owner-rack-filter-hit",
        "owner-rack-filter-miss",
        "owner-rack-filter-no-rack",
        "owner-two-filters-hit",
        "owner-two-filters-one-miss",
        "user-own-account-event",
        "user-acting-is-not-membership",
        "user-other-user",
        "user-without-id",
        "user-no-user",
    ],
)
def test_in_scope(scope, event_fields, expected):
    assert in_scope(notifier(**scope), envelope(**event_fields)) is expected


MEMBERSHIP = Directory(owners=[OwnerEntry(id="org-1", members=(MemberEntry(user_id="u-1"),))])


@pytest.mark.parametrize(
    ("event_fields", "expected"),
    [
        ({"app_id": "app-1", "owner_id": "org-1"}, True),
        ({"owner_id": "org-1"}, True),
        ({"app_id": "app-5", "owner_id": "org-2"}, False),
        ({"owner_id": "u-1"}, True),
        ({"app_id": "app-1"}, False),
    ],
    ids=["member-org-app", "member-org-owner-level", "other-org", "own-account", "owner-unknown"],
)
def test_user_scope_follows_membership(event_fields, expected):
    user = notifier(scope=Scope.USER, user_id="u-1")
    assert in_scope(user, envelope(**event_fields), MEMBERSHIP) is expected


def test_owner_scope_follows_app_transfers():
    transferred = Directory(apps=[AppEntry(id="app-1", name="a", owner_id="org-2")])
    old_owner = notifier(scope=Scope.OWNER, owner_id="org-1")
    new_owner = notifier(scope=Scope.OWNER, owner_id="org-2")
    stale_event = envelope(app_id="app-1", owner_id="org-1")
    assert not in_scope(old_owner, stale_event, transferred)
    assert in_scope(new_owner, stale_event, transferred)


# --- selection ------------------------------------------------------------------------------

ALL_EVENTS = Selection(send_all_events=True)
ALL_ALERTS = Selection(send_all_alerts=True)
NOTHING = Selection()
DEPLOYMENTS = Selection(preset=Preset.DEPLOYMENTS)
CRITICAL = Selection(preset=Preset.CRITICAL_ALERTS)


def ids(*selected):
    return Selection(selected_event_ids=selected)


@pytest.mark.parametrize(
    ("selection", "type_", "type_data", "expected"),
    [
        (ALL_EVENTS, "app_scaled", {}, True),
        (ALL_EVENTS, "app_crashed", {}, True),
        (NOTHING, "app_deployed", SUCCESS, False),
        (NOTHING, "app_crashed", {}, False),
        (ALL_ALERTS, "app_alert_triggered", {"metric": "cpu"}, True),
        (ALL_ALERTS, "app_alert_resolved", {"metric": "cpu"}, True),
        (ALL_ALERTS, "alert:firing", {}, True),
        (ALL_ALERTS, "app_crashed", {}, False),
        (ALL_ALERTS, "app_deployed", BUILD_ERROR, False),
        (ids("app_deployed"), "app_deployed", SUCCESS, True),
        (ids("app_deployed"), "app_deployed", BUILD_ERROR, True),
        (ids("app_deployed"), "app_scaled", {}, False),
        (ids("app_scaled", "app_deployed"), "app_scaled", {}, True),
        (ids("DEPLOYMENT_FAIL"), "app_deployed", BUILD_ERROR, True),
        (ids("DEPLOYMENT_FAIL"), "app_deployed", SUCCESS, False),
        (ids("DEPLOYMENT_SUCCESS"), "app_deployed", SUCCESS, True),
        (ids("DEPLOYMENT_SUCCESS"), "app_deployed", BUILD_ERROR, False),
        (ids("DEPLOYMENT_FAIL"), "app:promote:errored", {}, True),
        (ids("app:promote:completed"), "app_deployed", SUCCESS, True),
        (ids("app:promote:completed"), "app_deployed", BUILD_ERROR, False),
        (ids("META_DEPLOYMENT_RESULT"), "app_deployed", SUCCESS, True),
        (ids("META_DEPLOYMENT_RESULT"), "app_deployed", BUILD_ERROR, True),
        (ids("META_DEPLOYMENT_RESULT"), "app:promote:completed", {}, True),
        (ids("META_DEPLOYMENT_RESULT"), "app_scaled", {}, False),
        (ids("APPLICATION_DELETION"), "app:delete", {}, True),
        (ids("no-such-id"), "app_deployed", SUCCESS, False),
        (DEPLOYMENTS, "app_deployed", SUCCESS, True),
        (DEPLOYMENTS, "app_deployed", BUILD_ERROR, True),
        (DEPLOYMENTS, "app:promote:completed", {}, True),
        (DEPLOYMENTS, "build:create", {}, True),
        (DEPLOYMENTS, "app_crashed", {}, False),
        (DEPLOYMENTS, "app_scaled", {}, False),
        (CRITICAL, "app_crashed", {}, True),
        (CRITICAL, "app_alert_triggered", {"metric": "cpu"}, True),
        (CRITICAL, "alert:firing", {}, True),
        (CRITICAL, "account.redeploy.fail", {}, True),
        (CRITICAL, "app_deployed", SUCCESS, False),
        (CRITICAL, "app_deployed", BUILD_ERROR, False),
        (CRITICAL, "app_alert_resolved", {"metric": "cpu"}, False),
        (
            Selection(preset=Preset.CRITICAL_ALERTS, selected_event_ids=("app_scaled",)),
            "app_scaled",
            {},
            True,
        ),
        (
            Selection(preset=Preset.CRITICAL_ALERTS, selected_event_ids=("app_scaled",)),
            "app_crashed",
            {},
            True,
        ),
    ],
    ids=[
        "all-events-app_scaled",
        "all-events-app_crashed",
        "nothing-app_deployed",
        "nothing-app_crashed",
        "all-alerts-app_alert_triggered",
        "all-alerts-app_alert_resolved",
        "all-alerts-convox-alert-firing",
        "all-alerts-not-app_crashed",
        "all-alerts-not-failed-deploy",
        "id-app_deployed-success",
        "id-app_deployed-build-error",
        "id-app_deployed-not-app_scaled",
        "ids-two-one-hits",
        "alias-DEPLOYMENT_FAIL-build-error",
        "alias-DEPLOYMENT_FAIL-not-success",
        "alias-DEPLOYMENT_SUCCESS-success",
        "alias-DEPLOYMENT_SUCCESS-not-build-error",
        "alias-DEPLOYMENT_FAIL-convox-errored",
        "cross-family-promote-completed-success",
        "cross-family-promote-completed-not-build-error",
        "group-META_DEPLOYMENT_RESULT-success",
        "group-META_DEPLOYMENT_RESULT-build-error",
        "group-META_DEPLOYMENT_RESULT-convox",
        "group-META_DEPLOYMENT_RESULT-not-app_scaled",
        "alias-APPLICATION_DELETION-convox",
        "unknown-id-selects-nothing",
        "preset-deployments-success",
        "preset-deployments-build-error",
        "preset-deployments-convox-promote",
        "preset-deployments-convox-build",
        "preset-deployments-not-app_crashed",
        "preset-deployments-not-app_scaled",
        "preset-critical-app_crashed",
        "preset-critical-app_alert_triggered",
        "preset-critical-alert-firing",
        "preset-critical-cloud66-redeploy-fail",
        "preset-critical-not-app_deployed-success",
        "preset-critical-not-app_deployed-build-error",
        "preset-critical-not-alert-resolved",
        "preset-and-ids-id-hits",
        "preset-and-ids-preset-hits",
    ],
)
def test_selects(selection, type_, type_data, expected):
    assert selects(selection, answers(type_, type_data)) is expected


@pytest.mark.parametrize(
    ("type_", "type_data", "expected"),
    [
        ("app_alert_triggered", {"metric": "cpu"}, True),
        ("app_alert_resolved", {"metric": "cpu"}, True),
        ("alert:firing", {}, True),
        ("alert:resolved", {}, True),
        ("app_crashed", {}, False),
        ("app_deployed", BUILD_ERROR, False),
        ("app_scaled", {}, False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_is_alert(type_, type_data, expected):
    assert is_alert(answers(type_, type_data)) is expected


@pytest.mark.parametrize(
    ("preset", "member", "expected"),
    [
        (Preset.CRITICAL_ALERTS, "app_crashed", True),
        (Preset.CRITICAL_ALERTS, "payment_failed", True),
        (Preset.CRITICAL_ALERTS, "server.stopped", True),
        (Preset.CRITICAL_ALERTS, "app_deployed", False),
        (Preset.CRITICAL_ALERTS, "app_alert_resolved", False),
        (Preset.DEPLOYMENTS, "app_deployed", True),
        (Preset.DEPLOYMENTS, "release:promote", True),
        (Preset.DEPLOYMENTS, "account.redeploy.ok", True),
        (Preset.DEPLOYMENTS, "app_crashed", False),
    ],
    ids=lambda v: v.value if isinstance(v, Preset) else v if isinstance(v, str) else None,
)
def test_preset_ids(preset, member, expected):
    assert (member in preset_ids(preset)) is expected


def test_critical_preset_is_exactly_the_critical_types():
    assert preset_ids(Preset.CRITICAL_ALERTS) == frozenset(
        t.id for t in CATALOG.types() if t.critical
    )


def test_presets_name_only_event_types():
    for preset in Preset:
        resolved = preset_ids(preset)
        assert resolved
        assert all(CATALOG.get(type_id) is not None for type_id in resolved), preset


# --- audit-only types -----------------------------------------------------------------------

AUDIT_ONLY = sorted(CATALOG.audit_only_ids())


def test_convox_budget_set_is_audit_only():
    assert "app:budget:set" in AUDIT_ONLY


@pytest.mark.parametrize("type_", AUDIT_ONLY)
def test_audit_only_types_are_never_routed(type_):
    audit = event(type_, {})
    assert is_forwarded(audit) is False
    everything = [
        notifier("n-app", selection=Selection(send_all_events=True)),
        notifier("n-owner", scope=Scope.OWNER, owner_id="org-1"),
        notifier("n-id", selection=ids(type_)),
    ]
    assert route(audit, everything, ROUTED_AT) == []


@pytest.mark.parametrize("type_", ["app_deployed", "app_crashed", "app:budget:cap", "app_scaled"])
def test_other_types_are_forwarded(type_):
    assert is_forwarded(event(type_)) is True


# --- route ----------------------------------------------------------------------------------

NOTIFIERS = [
    notifier("n-app1-all", selection=ALL_EVENTS),
    notifier("n-app1-inactive", selection=ALL_EVENTS, active=False),
    notifier(
        "n-app1-default",
        platform=Channel.EMAIL,
        selection=CRITICAL,
        type_data={"emails": ["ops@example.com"]},
    ),
    notifier("n-app1-alerts", platform=Channel.SLACK, selection=ALL_ALERTS),
    notifier("n-app2-all", app_id="app-2", selection=ALL_EVENTS),
    notifier(
        "n-org1-cc-hook",
        scope=Scope.OWNER,
        owner_id="org-1",
        selection=ids("META_DEPLOYMENT_RESULT"),
    ),
    notifier(
        "n-org1-app2-only",
        scope=Scope.OWNER,
        owner_id="org-1",
        app_ids=("app-2",),
        selection=ALL_EVENTS,
    ),
    notifier("n-org2-all", scope=Scope.OWNER, owner_id="org-2", selection=ALL_EVENTS),
    notifier("n-org1-deploys", scope=Scope.OWNER, owner_id="org-1", selection=DEPLOYMENTS),
    notifier(
        "n-org1-inactive-deploys",
        scope=Scope.OWNER,
        owner_id="org-1",
        selection=DEPLOYMENTS,
        active=False,
    ),
    notifier("n-u1-fails", scope=Scope.USER, user_id="u-1", selection=ids("DEPLOYMENT_FAIL")),
]


@pytest.mark.parametrize(
    ("routed", "expected"),
    [
        (
            event("app_deployed", SUCCESS),
            ["n-app1-all", "n-org1-cc-hook", "n-org1-deploys"],
        ),
        (
            event("app_deployed", BUILD_ERROR, user={"id": "u-1"}),
            ["n-app1-all", "n-org1-cc-hook", "n-org1-deploys", "n-u1-fails"],
        ),
        (
            event("app_deployed", BUILD_ERROR, user={"id": "u-2"}),
            ["n-app1-all", "n-org1-cc-hook", "n-org1-deploys", "n-u1-fails"],
        ),
        (event("app_crashed"), ["n-app1-all", "n-app1-default"]),
        (
            event("app_alert_triggered", {"metric": "cpu"}),
            ["n-app1-alerts", "n-app1-all", "n-app1-default"],
        ),
        (
            event("app_alert_resolved", {"metric": "cpu"}),
            ["n-app1-alerts", "n-app1-all", "n-app1-default"],
        ),
        (event("app_scaled", app_id="app-2"), ["n-app2-all", "n-org1-app2-only"]),
        (event("app_scaled", app_id="app-3", owner_id="org-2"), ["n-org2-all"]),
        (event("app_crashed", app_id="app-9", owner_id="org-9"), []),
        (event("app:budget:set", {}), []),
    ],
    ids=[
        "deployed-success",
        "deployed-build-error-member-u1-acting",
        "deployed-build-error-member-u1-not-acting",
        "crashed-default-notifier",
        "alert-triggered",
        "alert-resolved-reaches-who-heard-it-fire",
        "app2-owner-filter",
        "other-owner",
        "nobody-watches",
        "audit-only",
    ],
)
def test_route_picks_the_notifiers(routed, expected):
    deliveries = route(routed, NOTIFIERS, ROUTED_AT, MEMBERSHIP)
    assert [d.notifier.id for d in deliveries] == expected


def test_inactive_notifiers_get_nothing():
    active = notifier("n-1")
    inactive = notifier("n-2", active=False)
    assert [d.notifier.id for d in route(event(), [active, inactive], ROUTED_AT)] == ["n-1"]
    assert route(event(), [inactive], ROUTED_AT) == []


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_route_output_is_sorted_and_deterministic(seed):
    shuffled = NOTIFIERS[:]
    random.Random(seed).shuffle(shuffled)
    routed = event("app_deployed", BUILD_ERROR, user={"id": "u-1"})
    first = route(routed, shuffled, ROUTED_AT)
    assert first == route(routed, NOTIFIERS, ROUTED_AT)
    assert first == route(routed, iter(reversed(shuffled)), ROUTED_AT)
    assert [d.notifier.id for d in first] == sorted(d.notifier.id for d in first)
    assert [d.to_json() for d in first] == [d.to_json() for d in route(routed, shuffled, ROUTED_AT)]


def test_route_delivery_ids_are_uuid5_of_event_and_notifier():
    routed = event("app_deployed", BUILD_ERROR, user={"id": "u-1"})
    deliveries = route(routed, NOTIFIERS, ROUTED_AT)
    assert deliveries
    for delivery in deliveries:
        assert delivery.id == delivery_id(routed.id, delivery.notifier.id)
        assert uuid.UUID(delivery.id).version == 5
        assert delivery.event == routed
        assert delivery.routed_at == ROUTED_AT
    assert len({d.id for d in deliveries}) == len(deliveries)


def test_route_channel_follows_the_notifier_platform():
    deliveries = route(event("app_alert_triggered", {"metric": "cpu"}), NOTIFIERS, ROUTED_AT)
    assert {d.notifier.id: d.channel for d in deliveries} == {
        "n-app1-alerts": Channel.SLACK,
        "n-app1-all": Channel.WEBHOOK,
        "n-app1-default": Channel.EMAIL,
    }


def test_route_of_a_repeated_event_gives_the_same_ids():
    """A redelivered event (same id, routed later) keeps its delivery ids: idempotency keys."""
    routed = event("app_crashed")
    later = datetime(2026, 3, 13, tzinfo=UTC)
    assert [d.id for d in route(routed, NOTIFIERS, ROUTED_AT)] == [
        d.id for d in route(routed, NOTIFIERS, later)
    ]


# --- delivery ids and Delivery.for_ ---------------------------------------------------------


@pytest.mark.parametrize(
    ("event_id", "notifier_id"),
    [("evt-1", "n-1"), ("evt-1", "n-2"), ("evt-2", "n-1"), ("", "n-1"), ("é✓", "ñ")],
    ids=["e1-n1", "e1-n2", "e2-n1", "empty-event-id", "unicode"],
)
def test_delivery_id_is_uuid5_of_both_ids(event_id, notifier_id):
    value = delivery_id(event_id, notifier_id)
    assert value == delivery_id(event_id, notifier_id)
    assert value == str(uuid.uuid5(DELIVERY_NAMESPACE, f"{event_id}\x1f{notifier_id}"))
    assert uuid.UUID(value).version == 5


def test_delivery_id_is_stable_across_releases():
    """Endpoints and the recorder key on it: a change would redeliver everything once."""
    assert delivery_id("evt-1", "n-1") == "870119c8-f022-5138-a2ed-a29571feb213"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("evt-1", "n-1"), ("evt-1", "n-2")),
        (("evt-1", "n-1"), ("evt-2", "n-1")),
        (("evt-1", "n-1"), ("n-1", "evt-1")),
        (("ab", "c"), ("a", "bc")),
        (("a", ""), ("", "a")),
    ],
    ids=["other-notifier", "other-event", "swapped", "shifted-boundary", "empty-side"],
)
def test_delivery_ids_differ(one, other):
    assert delivery_id(*one) != delivery_id(*other)


def test_delivery_for_copies_the_notifier_snapshot():
    routed = event("app_crashed")
    hook = notifier(
        "n-7",
        name="ops hook",
        platform=Channel.WEBHOOK,
        version=4,
        type_data={"webhook_url": "https://hooks.example.com/x"},
    )
    delivery = Delivery.for_(
        routed, hook, ROUTED_AT, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    )
    assert delivery.id == delivery_id(routed.id, "n-7")
    assert delivery.channel is Channel.WEBHOOK
    assert delivery.event is routed
    assert delivery.notifier == NotifierSnapshot(
        id="n-7",
        name="ops hook",
        platform=Channel.WEBHOOK,
        version=4,
        type_data={"webhook_url": "https://hooks.example.com/x"},
    )
    assert delivery.recipients == ()
    assert delivery.routed_at == ROUTED_AT
    assert delivery.traceparent.startswith("00-")
    assert Delivery.model_validate_json(delivery.to_json()) == delivery


def test_delivery_for_is_pure():
    routed = event("app_crashed")
    hook = notifier("n-7")
    assert Delivery.for_(routed, hook, ROUTED_AT) == Delivery.for_(routed, hook, ROUTED_AT)
    assert hook == notifier("n-7")


def test_delivery_refuses_a_naive_routing_time():
    with pytest.raises(ValueError, match="timezone"):
        Delivery.for_(event(), notifier(), datetime(2026, 3, 12, 16, 5))
