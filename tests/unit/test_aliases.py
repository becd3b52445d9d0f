"""`answers_to`, aliases and groups, family by family, with the cases that must not match."""

from __future__ import annotations

import pytest
from herald_core.catalog import (
    ALWAYS,
    CATALOG,
    Alias,
    Catalog,
    Category,
    Condition,
    EventType,
    Family,
    Group,
    answers_to,
)
from herald_core.catalog.type_data import ConvoxData, Permissive

OK = {"status": "success"}
BUILD_ERROR = {"status": "build-error"}

# (family, type, type_data, ids it must answer to, ids it must not answer to)
CASES = [
    # scalingo
    (
        "scalingo",
        "app_deployed",
        OK,
        {"app_deployed", "DEPLOYMENT_SUCCESS", "META_DEPLOYMENT_RESULT", "deployments"},
        {"DEPLOYMENT_FAIL", "app:promote:errored", "critical_alerts"},
    ),
    (
        "scalingo",
        "app_deployed",
        OK,
        {"app:promote:completed", "account.redeploy.ok", "DEPLOYMENT_ACTION_END"},
        {"DEPLOYMENT_ACTION_BEGIN", "META_SERVICE_MANAGEMENT"},
    ),
    (
        "scalingo",
        "app_deployed",
        BUILD_ERROR,
        {"DEPLOYMENT_FAIL", "app:promote:errored", "META_DEPLOYMENT_RESULT", "deployments"},
        {"DEPLOYMENT_SUCCESS", "app:promote:completed", "account.redeploy.fail"},
    ),
    (
        "scalingo",
        "app_deployed",
        {"status": "aborted"},
        {"DEPLOYMENT_FAIL"},
        {"DEPLOYMENT_SUCCESS"},
    ),
    ("scalingo", "deployment", OK, {"app_deployed", "DEPLOYMENT_SUCCESS"}, {"deployment"}),
    ("scalingo", "app_crashed", {}, {"app_crashed", "critical_alerts"}, {"deployments"}),
    ("scalingo", "app_crashed_repeated", {}, {"app_crashed_repeated"}, {"critical_alerts"}),
    (
        "scalingo",
        "app_alert_triggered",
        {"metric": "cpu"},
        {"alert:firing", "critical_alerts", "alerts"},
        {"alert:resolved"},
    ),
    ("scalingo", "app_deleted", {}, {"APPLICATION_DELETION", "app:delete"}, {"ADDON_DELETION"}),
    ("scalingo", "app_renamed", {}, {"APPLICATION_EDITION", "META_SERVICE_MANAGEMENT"}, set()),
    ("scalingo", "app_restarted", {}, {"APPLICATION_REDEPLOY"}, {"META_SERVICE_LIFECYCLE"}),
    ("scalingo", "app_stopped", {}, {"APPLICATION_STOP", "META_SERVICE_LIFECYCLE"}, set()),
    ("scalingo", "app_scaled", {}, {"release:scale"}, {"deployments"}),
    ("scalingo", "addon_provisioned", {}, {"ADDON_CREATION", "resource:create"}, set()),
    ("scalingo", "addon_suspended", {}, {"critical_alerts"}, {"ADDON_DELETION"}),
    # clevercloud
    ("clevercloud", "CREDITS_ADDED", {}, {"CREDITS_ADDED", "META_CREDITS"}, {"critical_alerts"}),
    ("clevercloud", "GIT_PUSH", {}, {"GIT_PUSH"}, {"deployments", "DEPLOYMENT_ACTION_BEGIN"}),
    ("clevercloud", "ORGANISATION_USER_ADDITION", {}, {"ORGANISATION_USER_ADDITION"}, set()),
    # convox
    (
        "convox",
        "app:promote:completed",
        {},
        {"app_deployed", "DEPLOYMENT_SUCCESS", "META_DEPLOYMENT_RESULT", "deployments"},
        {"DEPLOYMENT_FAIL", "app:promote:errored"},
    ),
    (
        "convox",
        "app:promote:errored",
        {"status": "error"},
        {"app_deployed", "DEPLOYMENT_FAIL", "DEPLOYMENT_ACTION_END", "META_SERVICE_LIFECYCLE"},
        {"DEPLOYMENT_SUCCESS", "critical_alerts", "account.redeploy.fail"},
    ),
    ("convox", "app:promote:cancelled", {}, {"DEPLOYMENT_ACTION_END"}, {"DEPLOYMENT_FAIL"}),
    ("convox", "release:promote", {"status": "start"}, {"DEPLOYMENT_ACTION_BEGIN"}, set()),
    ("convox", "release:promote", OK, {"deployments"}, {"DEPLOYMENT_ACTION_BEGIN"}),
    ("convox", "build:create", {"status": "error"}, {"DEPLOYMENT_FAIL"}, {"DEPLOYMENT_SUCCESS"}),
    ("convox", "build:create", OK, {"deployments"}, {"DEPLOYMENT_FAIL"}),
    ("convox", "app:create", {}, {"APPLICATION_CREATION", "META_SERVICE_MANAGEMENT"}, set()),
    ("convox", "resource:delete", {}, {"ADDON_DELETION", "addon_deleted"}, set()),
    ("convox", "alert:firing", {}, {"app_alert_triggered", "critical_alerts", "alerts"}, set()),
    ("convox", "alert:resolved", {}, {"app_alert_resolved", "alerts"}, {"critical_alerts"}),
    ("convox", "app:budget:cap", {}, {"critical_alerts"}, {"deployments"}),
    ("convox", "app:budget:set", {}, {"app:budget:set"}, {"critical_alerts"}),
    # cloud66
    (
        "cloud66",
        "account.redeploy.fail",
        {},
        {"app_deployed", "DEPLOYMENT_FAIL", "critical_alerts", "deployments"},
        {"DEPLOYMENT_SUCCESS"},
    ),
    ("cloud66", "account.redeploy.ok", {}, {"app_deployed", "DEPLOYMENT_SUCCESS"}, set()),
    (
        "cloud66",
        "account.deploy.started",
        {},
        {"DEPLOYMENT_ACTION_BEGIN", "release:promote", "META_SERVICE_LIFECYCLE", "deployments"},
        {"META_DEPLOYMENT_RESULT"},
    ),
    ("cloud66", "server.stopped", {}, {"critical_alerts"}, {"deployments"}),
    ("cloud66", "server.backon", {}, {"server.backon"}, {"critical_alerts"}),
    ("cloud66", "app.auth", {}, {"app.auth"}, {"APPLICATION_CREATION"}),
    # herald
    ("herald", "payment_failed", {}, {"payment_failed", "critical_alerts"}, {"META_CREDITS"}),
    ("herald", "account_suspended", {}, {"account_suspended"}, {"critical_alerts"}),
    ("herald", "notifier_disabled", {}, {"notifier_disabled"}, {"notifier_removed"}),
    ("herald", "app_alert_resolved", {}, {"alert:resolved", "alerts"}, {"critical_alerts"}),
]


@pytest.mark.parametrize(
    ("family", "event_type", "type_data", "included", "excluded"),
    CASES,
    ids=[f"{c[0]}:{c[1]}:{'+'.join(sorted(c[3]))[:40]}" for c in CASES],
)
def test_answers_to(family, event_type, type_data, included, excluded):
    answers = answers_to(event_type, type_data)
    canonical = CATALOG.canonical(event_type)
    assert CATALOG.get(canonical).family == family
    assert canonical in answers
    assert included <= answers, included - answers
    assert not (excluded & answers), excluded & answers


@pytest.mark.parametrize(
    "not_a_type", ["DEPLOYMENT_SUCCESS", "META_DEPLOYMENT_RESULT", "deployments", "nope", ""]
)
def test_ids_that_are_not_event_types_answer_to_nothing(not_a_type):
    assert answers_to(not_a_type, OK) == frozenset()


def test_answers_to_is_pure():
    type_data = {"status": "success"}
    first = answers_to("app_deployed", type_data)
    assert answers_to("app_deployed", type_data) == first
    assert type_data == {"status": "success"}


def test_every_answer_is_a_known_id():
    for event_type in CATALOG.types():
        for type_data in ({}, OK, BUILD_ERROR, {"status": "start"}):
            answers = answers_to(event_type.id, type_data)
            assert all(CATALOG.is_known(i) for i in answers), (event_type.id, answers)


def test_clever_cloud_meta_events_are_groups_of_clever_cloud_ids():
    meta = {g.id: set(g.members) for g in CATALOG.groups() if g.family is Family.CLEVERCLOUD}
    assert meta == {
        "META_SERVICE_LIFECYCLE": {
            "APPLICATION_STOP",
            "DEPLOYMENT_ACTION_BEGIN",
            "DEPLOYMENT_FAIL",
            "DEPLOYMENT_SUCCESS",
        },
        "META_DEPLOYMENT_RESULT": {"DEPLOYMENT_FAIL", "DEPLOYMENT_SUCCESS"},
        "META_SERVICE_MANAGEMENT": {
            "ADDON_CREATION",
            "ADDON_DELETION",
            "APPLICATION_CREATION",
            "APPLICATION_EDITION",
            "APPLICATION_DELETION",
        },
        "META_CREDITS": {"CREDITS_ADDED"},
    }


def test_clever_cloud_ids_are_all_known():
    clever = {
        *("ACCOUNT_CREATION", "ACCOUNT_DELETION", "ACCOUNT_EDITION"),
        *("ADDON_CREATION", "ADDON_DELETION"),
        *("APPLICATION_CREATION", "APPLICATION_DELETION", "APPLICATION_EDITION"),
        *("APPLICATION_REDEPLOY", "APPLICATION_STOP", "CLEVER_TOOLS_REQUEST", "CREDITS_ADDED"),
        *("DEPLOYMENT_ACTION_BEGIN", "DEPLOYMENT_ACTION_END", "DEPLOYMENT_FAIL"),
        *("DEPLOYMENT_SUCCESS", "GIT_PUSH", "ORGANISATION_CREATION", "ORGANISATION_DELETION"),
        *("ORGANISATION_EDITION", "ORGANISATION_USER_ADDITION"),
    }
    assert all(CATALOG.is_known(i) for i in clever)
    own = {t.id for t in CATALOG.types() if t.family is Family.CLEVERCLOUD}
    aliased = {a.id for a in CATALOG.aliases()}
    assert own | (clever & aliased) == clever
    assert not own & aliased


@pytest.mark.parametrize(
    ("selection", "types"),
    [
        ("app_crashed", {"app_crashed"}),
        ("deployment", {"app_deployed", "app:promote:completed", "app:promote:errored"}),
        ("META_CREDITS", {"CREDITS_ADDED"}),
        ("DEPLOYMENT_SUCCESS", {"app_deployed", "app:promote:completed", "account.redeploy.ok"}),
        ("alerts", {"app_alert_triggered", "app_alert_resolved", "alert:firing", "alert:resolved"}),
        ("unknown", set()),
    ],
)
def test_expand(selection, types):
    expanded = CATALOG.expand(selection)
    assert types <= expanded
    if not types:
        assert expanded == frozenset()


def test_expand_of_a_group_is_the_types_that_can_answer_to_it():
    for group in CATALOG.groups():
        for type_id in CATALOG.expand(group.id):
            reachable = any(
                group.id in answers_to(type_id, data)
                for data in ({}, OK, BUILD_ERROR, {"status": "start"}, {"status": "error"})
            )
            assert reachable, (group.id, type_id)


def test_deployments_group_covers_every_family_with_deployments():
    families = {CATALOG.get(t).family for t in CATALOG.expand("deployments")}
    assert families == {Family.SCALINGO, Family.CONVOX, Family.CLOUD66}


@pytest.mark.parametrize(
    ("condition", "type_data", "holds"),
    [
        (ALWAYS, {}, True),
        (Condition.equals("status", "success"), {"status": "success"}, True),
        (Condition.equals("status", "success"), {"status": "error"}, False),
        (Condition.equals("status", "success"), {}, False),
        (Condition.differs("status", "success"), {"status": "error"}, True),
        (Condition.differs("status", "success"), {}, True),
        (Condition.differs("status", "success"), {"status": "success"}, False),
        (Condition.differs("status", "start", "success"), {"status": "start"}, False),
    ],
)
def test_condition(condition, type_data, holds):
    assert condition.holds(type_data) is holds


def tiny_catalog(**overrides):
    def kind(type_id, critical=False):
        return EventType(
            type_id,
            type_id,
            type_id,
            "c",
            Family.HERALD,
            ConvoxData,
            "{status}",
            severity="critical" if critical else "info",
            critical=critical,
        )

    parts = {
        "types": (kind("a"), kind("b"), kind("crit", critical=True)),
        "categories": (Category("c", "C", 1),),
        "aliases": (Alias("X", "a", Condition.equals("status", "ok")),),
        "groups": (Group("g", "G", "", ("X", "b")), Group("outer", "O", "", ("g",))),
        "legacy": {"old_a": "a"},
    }
    return Catalog(**{**parts, **overrides})


def test_a_custom_catalog_and_nested_groups():
    catalog = tiny_catalog()
    assert answers_to("a", {"status": "ok"}, catalog=catalog) == {"a", "X", "g", "outer"}
    assert answers_to("a", {"status": "ko"}, catalog=catalog) == {"a"}
    assert answers_to("old_a", {"status": "ok"}, catalog=catalog) == {"a", "X", "g", "outer"}
    assert catalog.expand("outer") == {"a", "b"}


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"aliases": (Alias("X", "nope"),)}, "unknown type"),
        ({"aliases": (Alias("X", "a", Condition.equals("missing_field", "x")),)}, "no field"),
        ({"aliases": (Alias("crit", "a"),)}, "non-critical"),
        ({"aliases": (Alias("a", "a"),)}, "names itself"),
        ({"groups": (Group("g", "G", "", ("zzz",)),)}, "unknown member"),
        (
            {"groups": (Group("g", "G", "", ("h",)), Group("h", "H", "", ("g",)))},
            "contains itself",
        ),
        ({"groups": (Group("a", "A", "", ("b",)),)}, "also a type id"),
        ({"legacy": {"b": "a"}}, "legacy name"),
        ({"legacy": {"old": "nope"}}, "legacy name"),
        ({"categories": (Category("other", "O", 1),)}, "unknown category"),
    ],
)
def test_an_inconsistent_catalog_is_refused(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        tiny_catalog(**overrides)


def test_a_template_naming_an_unknown_field_is_refused():
    bad = EventType("t", "T", "T", "c", Family.HERALD, Permissive, "{nope}")
    with pytest.raises(ValueError, match="template"):
        Catalog(types=(bad,), categories=(Category("c", "C", 1),))
