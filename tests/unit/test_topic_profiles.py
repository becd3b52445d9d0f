"""Topic profiles: `dev` (one replica) and `prod` (three, min ISR 2, no unclean election) of
deploy/topics.yaml, how the loader picks one, and what applying a profile to topics that exist
with another replication factor plans (pure: `plan_existing` on given broker state)."""

from __future__ import annotations

import pytest
from herald_core.topics import (
    TopicSpec,
    load_topic_file,
    parse_topic_file,
    select_profile,
    topic_profiles,
)
from herald_kafka.admin import TopicPlan, plan_existing

DOC = {
    "default_profile": "dev",
    "profiles": {
        "dev": {"replication_factor": 1},
        "prod": {
            "replication_factor": 3,
            "config": {"min.insync.replicas": 2, "unclean.leader.election.enable": False},
        },
    },
    "channels": ["webhook"],
    "retry_tiers": ["10s"],
    "topics": {
        "a": {"partitions": 3},
        "b": {"partitions": 1, "cleanup": "compact", "config": {"min.insync.replicas": 1}},
    },
    "per_channel": {"d.{channel}.retry.{tier}": {"partitions": 2}},
}
PROD = {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}


def test_without_a_profile_the_default_one_replicates_once_and_adds_nothing() -> None:
    specs = parse_topic_file(DOC)
    assert [(s.name, s.replication_factor) for s in specs] == [
        ("a", 1),
        ("b", 1),
        ("d.webhook.retry.10s", 1),
    ]
    assert specs[0].config == {"cleanup.policy": "delete"}


def test_prod_replicates_three_times_and_sets_min_isr_and_unclean_election_on_every_topic() -> None:
    a, b, retry = parse_topic_file(DOC, "prod")
    assert a == TopicSpec("a", 3, 3, {**PROD, "cleanup.policy": "delete"})
    assert retry.replication_factor == 3
    assert retry.config == {**PROD, "cleanup.policy": "delete"}
    # a topic's own config wins over its profile's
    assert b.config == {**PROD, "cleanup.policy": "compact", "min.insync.replicas": "1"}


def test_the_default_profile_is_the_files_and_dev_when_it_names_none() -> None:
    assert select_profile({**DOC, "default_profile": "prod"}, None).name == "prod"
    without = {k: v for k, v in DOC.items() if k != "default_profile"}
    assert select_profile(without, None).name == "dev"


def test_an_unknown_profile_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no topic profile 'staging'.*\['dev', 'prod'\]"):
        parse_topic_file(DOC, "staging")


def test_a_file_without_profiles_keeps_its_top_level_factor_and_refuses_a_profile() -> None:
    plain = {"replication_factor": 2, "topics": {"a": {"partitions": 1}}}
    assert parse_topic_file(plain)[0].replication_factor == 2
    with pytest.raises(ValueError, match="no profiles"):
        parse_topic_file(plain, "prod")


@pytest.mark.parametrize("factor", [0, "3", True, None])
def test_a_profile_needs_a_whole_positive_factor(factor: object) -> None:
    bad = {**DOC, "profiles": {"dev": {"replication_factor": factor}}}
    with pytest.raises(ValueError, match="profile dev: replication_factor"):
        parse_topic_file(bad)


def test_the_project_file_has_dev_by_default_and_prod_for_three_brokers() -> None:
    profiles = topic_profiles()
    assert set(profiles) == {"dev", "prod"}
    assert profiles["dev"].replication_factor == 1
    assert profiles["prod"].replication_factor == 3
    assert dict(profiles["prod"].config) == PROD
    dev, prod = load_topic_file(), load_topic_file(profile="prod")
    assert {s.replication_factor for s in dev} == {1}
    assert {s.replication_factor for s in prod} == {3}
    assert [s.name for s in dev] == [s.name for s in prod]
    assert all(PROD.items() <= dict(s.config).items() for s in prod)
    assert all("min.insync.replicas" not in s.config for s in dev)


# --- applying a profile to existing topics -------------------------------------------------

PROD_SPEC = TopicSpec("t", 3, 3, {**PROD, "cleanup.policy": "delete"})


def test_an_existing_topic_with_another_factor_is_reported_and_never_changed() -> None:
    plan = TopicPlan()
    configs = {"t": dict(PROD_SPEC.config)}
    grow, alter = plan_existing([PROD_SPEC], {"t": 3}, configs, plan, {"t": 2})
    assert (grow, alter) == ({}, [])
    assert plan.replication == [("t", 2, 3)]
    (warning,) = plan.warnings
    assert "t has replication factor 2, the profile declares 3: not changed" in warning
    assert plan.unchanged == ["t"]


def test_min_isr_above_the_replicas_a_topic_has_is_not_set_on_it() -> None:
    plan = TopicPlan()
    configs = {"t": {"cleanup.policy": "delete", "min.insync.replicas": "1"}}
    _, alter = plan_existing([PROD_SPEC], {"t": 3}, configs, plan, {"t": 1})
    (altered,) = alter
    assert "min.insync.replicas" not in altered.config
    assert altered.config["unclean.leader.election.enable"] == "false"
    assert plan.replication == [("t", 1, 3)]
    assert any("min.insync.replicas=2 not set" in w for w in plan.warnings)


def test_the_declared_factor_plans_as_before() -> None:
    plan = TopicPlan()
    configs = {"t": dict(PROD_SPEC.config)}
    assert plan_existing([PROD_SPEC], {"t": 3}, configs, plan, {"t": 3}) == ({}, [])
    assert (plan.replication, plan.warnings, plan.unchanged) == ([], [], ["t"])
