"""Topic names, the declarative topic file, and the pure half of applying it.

`parse_duration_ms` and `parse_topic_file` on small documents; the project's own
`deploy/topics.yaml` against docs/architecture.md; `herald_kafka.admin.plan_existing` on given
broker state (no broker: it is pure).
"""

from __future__ import annotations

from collections import Counter

import pytest
from herald_core import topics
from herald_core.topics import (
    Channel,
    TopicSpec,
    deliveries_topic,
    delivery_dlq_topic,
    load_topic_file,
    parse_duration_ms,
    parse_topic_file,
    retry_tiers,
    retry_topic,
)
from herald_kafka.admin import TopicPlan, plan_existing

DAY_MS = 86_400_000

# --- parse_duration_ms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", 500),
        ("0ms", 0),
        ("10s", 10_000),
        ("1m", 60_000),
        ("10m", 600_000),
        ("1h", 3_600_000),
        ("6h", 21_600_000),
        ("1d", DAY_MS),
        ("7d", 7 * DAY_MS),
        ("30d", 30 * DAY_MS),
        (" 7d ", 7 * DAY_MS),
        ("007s", 7_000),
        (250, 250),
        (0, 0),
    ],
    ids=repr,
)
def test_parse_duration_ms(text, expected):
    assert parse_duration_ms(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "7",
        "d",
        "ms",
        "7 d",
        "7D",
        "7MS",
        "1.5h",
        "-1s",
        "+1s",
        "7w",
        "7days",
        "7d7h",
        "1e3ms",
        "0x10s",
        "7s ms",
    ],
    ids=repr,
)
def test_parse_duration_ms_refuses_malformed_strings(text):
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_ms(text)


@pytest.mark.parametrize(
    "value",
    [None, 1.5, True],
    ids=["null", "float", "bool"],
)
def test_parse_duration_ms_refuses_other_yaml_values(value):
    """The topic file is YAML: `retention:`, `retention: 1.5` or `retention: yes` reach here."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms(value)


# --- parse_topic_file -----------------------------------------------------------------------


def names(specs):
    return [s.name for s in specs]


def test_plain_topics_in_file_order_with_defaults():
    specs = parse_topic_file(
        {
            "topics": {
                "b.first": {"partitions": 2},
                "a.second": {"partitions": 1, "cleanup": "compact"},
                "c.third": {"partitions": 6, "cleanup": "delete", "retention": "7d"},
            }
        }
    )
    assert specs == [
        TopicSpec("b.first", 2, 1, {"cleanup.policy": "delete"}),
        TopicSpec("a.second", 1, 1, {"cleanup.policy": "compact"}),
        TopicSpec("c.third", 6, 1, {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}),
    ]


@pytest.mark.parametrize(
    ("entry", "config"),
    [
        ({"retention": "30d"}, {"cleanup.policy": "delete", "retention.ms": "2592000000"}),
        ({"retention": "500ms"}, {"cleanup.policy": "delete", "retention.ms": "500"}),
        ({"retention": 1000}, {"cleanup.policy": "delete", "retention.ms": "1000"}),
        ({"cleanup": "compact"}, {"cleanup.policy": "compact"}),
        (
            {
                "cleanup": "compact",
                "config": {"segment.ms": 1000, "min.cleanable.dirty.ratio": 0.01},
            },
            {
                "cleanup.policy": "compact",
                "segment.ms": "1000",
                "min.cleanable.dirty.ratio": "0.01",
            },
        ),
        ({"config": None}, {"cleanup.policy": "delete"}),
    ],
    ids=["retention-days", "retention-ms", "retention-int-ms", "compact", "extra-config", "null"],
)
def test_entry_config(entry, config):
    (spec,) = parse_topic_file({"topics": {"t": {"partitions": 1, **entry}}})
    assert dict(spec.config) == config
    assert all(isinstance(v, str) for v in spec.config.values())


def test_replication_factor_applies_to_every_topic():
    specs = parse_topic_file(
        {
            "replication_factor": 3,
            "channels": ["email"],
            "topics": {"t": {"partitions": 1}},
            "per_channel": {"d.{channel}": {"partitions": 1}},
        }
    )
    assert [s.replication_factor for s in specs] == [3, 3]


PER_CHANNEL = {
    "channels": ["email", "slack"],
    "retry_tiers": ["10s", "1m"],
    "topics": {"notify.events": {"partitions": 6}},
}


@pytest.mark.parametrize(
    ("per_channel", "expected"),
    [
        (
            {"notify.deliveries.{channel}": {"partitions": 3}},
            ["notify.deliveries.email", "notify.deliveries.slack"],
        ),
        (
            {"notify.deliveries.{channel}.retry.{tier}": {"partitions": 3}},
            [
                "notify.deliveries.email.retry.10s",
                "notify.deliveries.email.retry.1m",
                "notify.deliveries.slack.retry.10s",
                "notify.deliveries.slack.retry.1m",
            ],
        ),
        (
            {
                "notify.deliveries.{channel}": {"partitions": 3},
                "notify.deliveries.{channel}.dlq": {"partitions": 1},
            },
            [
                "notify.deliveries.email",
                "notify.deliveries.slack",
                "notify.deliveries.email.dlq",
                "notify.deliveries.slack.dlq",
            ],
        ),
        (None, []),
        ({}, []),
    ],
    ids=["without-tier", "with-tier", "two-templates", "null", "empty"],
)
def test_per_channel_expansion(per_channel, expected):
    specs = parse_topic_file({**PER_CHANNEL, "per_channel": per_channel})
    assert names(specs) == ["notify.events", *expected]


def test_per_channel_entries_keep_their_settings():
    specs = parse_topic_file(
        {
            **PER_CHANNEL,
            "per_channel": {
                "x.{channel}.retry.{tier}": {"partitions": 4, "retention": "1d"},
            },
        }
    )
    expanded = specs[1:]
    assert len(expanded) == 4
    assert {(s.partitions, s.config["retention.ms"]) for s in expanded} == {(4, str(DAY_MS))}


def test_a_tier_template_without_tiers_gives_no_topics():
    document = {
        **PER_CHANNEL,
        "retry_tiers": [],
        "per_channel": {"r.{channel}.{tier}": {"partitions": 1}},
    }
    assert names(parse_topic_file(document)) == ["notify.events"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"partitions": 1, "cleanup": "bogus"}, "cleanup must be delete, compact or"),
        ({"partitions": 1, "cleanup": "delete,compact"}, "cleanup must be delete, compact or"),
        ({"partitions": 0}, "partitions must be at least 1"),
        ({"partitions": -3}, "partitions must be at least 1"),
        ({"partitions": 1, "retention": "7x"}, "duration"),
        ({"partitions": "many"}, "partitions"),
        ({"cleanup": "delete"}, "partitions"),
    ],
    ids=[
        "cleanup-bogus",
        "cleanup-two-policies-in-the-wrong-order",
        "partitions-zero",
        "partitions-negative",
        "retention-bad-unit",
        "partitions-not-a-number",
        "partitions-missing",
    ],
)
def test_malformed_entry_raises_value_error_naming_the_topic(entry, message):
    """The docstring's contract: ValueError, with the topic name in the message."""
    with pytest.raises(ValueError, match=message) as caught:
        parse_topic_file({"topics": {"notify.broken": entry}})
    assert "notify.broken" in str(caught.value)


def test_malformed_per_channel_entry_names_the_expanded_topic():
    document = {**PER_CHANNEL, "per_channel": {"d.{channel}": {"partitions": 0}}}
    with pytest.raises(ValueError, match=r"d\.email: partitions must be at least 1"):
        parse_topic_file(document)


# --- the project's topic file against docs/architecture.md ------------------------------

SPECS = load_topic_file()
BY_NAME = {s.name: s for s in SPECS}
TIERS = retry_tiers()

# docs/architecture.md: topic, cleanup, retention (None for compacted topics).
DESIGN_TOPICS = [
    ("platform.events", "delete", "7d"),
    ("notify.events", "delete", "7d"),
    ("notify.events.dlq", "delete", "30d"),
    ("notify.config.notifiers", "compact", None),
    ("notify.config.apps", "compact", None),
    ("notify.config.alerts", "compact", None),
    ("notify.config.owners", "compact", None),
    ("platform.metrics", "delete", "1d"),
    ("notify.delivery-results", "delete", "7d"),
    # commands, not state: never compacted (docs/operations.md, endpoint health)
    ("notify.commands.notifiers", "delete", "7d"),
]
DESIGN_PER_CHANNEL = [
    ("notify.deliveries.{channel}", "delete", "7d"),
    ("notify.deliveries.{channel}.retry.{tier}", "delete", "7d"),
    ("notify.deliveries.{channel}.dlq", "delete", "30d"),
]


# The changelogs of services/derive's faust table (docs/derive.md) and of services/alerter's
# state (docs/alerts.md): the broker creates no topic by itself, so the topic file declares them
# too. Compacted: a table's changelog.
FAUST_TOPICS = [
    "herald-derive-crash_counts-changelog",
    "herald-alerter-alert_state-changelog",
]

# Services' own state (compacted, and forgotten after a while): the Slack deploy threads.
STATE_TOPICS = [("notify.state.slack-threads", "compact,delete", "7d")]


def design_topic_names():
    found = [name for name, _, _ in DESIGN_TOPICS + STATE_TOPICS] + FAUST_TOPICS
    for channel in Channel:
        found += [deliveries_topic(channel), delivery_dlq_topic(channel)]
        found += [retry_topic(channel, tier) for tier in TIERS]
    return found


def test_topic_names_are_unique():
    duplicates = [name for name, count in Counter(names(SPECS)).items() if count > 1]
    assert duplicates == []


def test_the_file_declares_exactly_the_design_topics():
    assert sorted(BY_NAME) == sorted(design_topic_names())


@pytest.mark.parametrize(
    ("name", "cleanup", "retention"), DESIGN_TOPICS + STATE_TOPICS, ids=lambda v: v
)
def test_design_topic(name, cleanup, retention):
    spec = BY_NAME[name]
    assert spec.config["cleanup.policy"] == cleanup
    if retention is not None:
        assert spec.config["retention.ms"] == str(parse_duration_ms(retention))
    assert spec.partitions >= 1
    assert spec.replication_factor >= 1


@pytest.mark.parametrize("channel", list(Channel), ids=str)
def test_every_channel_has_its_topics(channel):
    for template, cleanup, retention in DESIGN_PER_CHANNEL:
        tiers = TIERS if "{tier}" in template else [None]
        for tier in tiers:
            spec = BY_NAME[template.format(channel=channel.value, tier=tier)]
            assert spec.config["cleanup.policy"] == cleanup
            assert spec.config["retention.ms"] == str(parse_duration_ms(retention))


def test_retry_tiers_are_durations_in_increasing_order():
    assert TIERS == ["10s", "1m", "10m", "1h", "6h"]
    delays = [parse_duration_ms(t) for t in TIERS]
    assert delays == sorted(set(delays))


def test_compacted_topics_are_exactly_the_config_topics():
    compacted = {s.name for s in SPECS if s.config["cleanup.policy"] == "compact"}
    assert compacted == {
        topics.CONFIG_NOTIFIERS,
        topics.CONFIG_APPS,
        topics.CONFIG_ALERTS,
        topics.CONFIG_OWNERS,
        *FAUST_TOPICS,
    }


def test_alerter_join_inputs_are_co_partitioned():
    """The alerter joins platform.metrics with notify.config.alerts, both keyed by app id."""
    assert BY_NAME[topics.CONFIG_ALERTS].partitions == BY_NAME[topics.PLATFORM_METRICS].partitions


@pytest.mark.parametrize(
    ("constant", "name"),
    [
        ("PLATFORM_EVENTS", "platform.events"),
        ("EVENTS", "notify.events"),
        ("EVENTS_DLQ", "notify.events.dlq"),
        ("CONFIG_NOTIFIERS", "notify.config.notifiers"),
        ("CONFIG_APPS", "notify.config.apps"),
        ("CONFIG_ALERTS", "notify.config.alerts"),
        ("CONFIG_OWNERS", "notify.config.owners"),
        ("PLATFORM_METRICS", "platform.metrics"),
        ("DELIVERY_RESULTS", "notify.delivery-results"),
        ("NOTIFIER_COMMANDS", "notify.commands.notifiers"),
    ],
    ids=lambda v: v if v.isupper() else None,
)
def test_topic_constants_match_the_design(constant, name):
    assert getattr(topics, constant) == name
    assert name in BY_NAME


@pytest.mark.parametrize(
    ("built", "name"),
    [
        (deliveries_topic(Channel.EMAIL), "notify.deliveries.email"),
        (deliveries_topic("webhook"), "notify.deliveries.webhook"),
        (retry_topic(Channel.SLACK, "10m"), "notify.deliveries.slack.retry.10m"),
        (delivery_dlq_topic(Channel.MSTEAMS), "notify.deliveries.msteams.dlq"),
    ],
    ids=["deliveries", "deliveries-str", "retry", "dlq"],
)
def test_channel_topic_names(built, name):
    assert built == name
    assert name in BY_NAME


# --- plan_existing --------------------------------------------------------------------------

DELETE_7D = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS)}
SPEC = TopicSpec("t", 3, 1, DELETE_7D)
BROKER_DEFAULTS = {"segment.bytes": "1073741824", "min.insync.replicas": "1"}


@pytest.mark.parametrize(
    ("partitions", "configs", "grow", "grown", "reconfigured", "unchanged", "warned"),
    [
        ({"t": 3}, {"t": DELETE_7D}, {}, [], [], ["t"], False),
        ({"t": 3}, {"t": {**DELETE_7D, **BROKER_DEFAULTS}}, {}, [], [], ["t"], False),
        ({"t": 1}, {"t": DELETE_7D}, {"t": 3}, [("t", 1, 3)], [], [], False),
        ({"t": 3}, {"t": {**DELETE_7D, "retention.ms": "1000"}}, {}, [], ["t"], [], False),
        ({"t": 3}, {"t": {"retention.ms": str(7 * DAY_MS)}}, {}, [], ["t"], [], False),
        ({"t": 3}, {}, {}, [], ["t"], [], False),
        (
            {"t": 1},
            {"t": {**DELETE_7D, "cleanup.policy": "compact"}},
            {"t": 3},
            [("t", 1, 3)],
            ["t"],
            [],
            False,
        ),
        ({"t": 6}, {"t": DELETE_7D}, {}, [], [], ["t"], True),
        ({"t": 6}, {"t": {}}, {}, [], ["t"], [], True),
        ({}, {"t": DELETE_7D}, {}, [], [], ["t"], False),
    ],
    ids=[
        "unchanged",
        "unchanged-despite-broker-defaults",
        "grow",
        "reconfigure-value-differs",
        "reconfigure-key-missing",
        "reconfigure-no-configs-known",
        "grow-and-reconfigure",
        "more-partitions-than-declared",
        "more-partitions-and-reconfigure",
        "partition-count-unknown",
    ],
)
def test_plan_existing(partitions, configs, grow, grown, reconfigured, unchanged, warned):
    plan = TopicPlan()
    result_grow, alter = plan_existing([SPEC], partitions, configs, plan)
    assert result_grow == grow
    assert alter == ([SPEC] if reconfigured else [])
    assert plan.grown == grown
    assert plan.reconfigured == reconfigured
    assert plan.unchanged == unchanged
    assert plan.created == []
    assert plan.changed is bool(grow or reconfigured)
    if warned:
        (warning,) = plan.warnings
        assert "t has 6 partitions" in warning
        assert "3 declared" in warning
    else:
        assert plan.warnings == []


def test_plan_existing_over_several_topics_keeps_their_order():
    specs = [
        TopicSpec("a", 3, 1, DELETE_7D),
        TopicSpec("b", 3, 1, DELETE_7D),
        TopicSpec("c", 3, 1, {"cleanup.policy": "compact"}),
        TopicSpec("d", 1, 1, {"cleanup.policy": "compact"}),
    ]
    plan = TopicPlan()
    grow, alter = plan_existing(
        specs,
        {"a": 3, "b": 2, "c": 3, "d": 2},
        {"a": DELETE_7D, "b": DELETE_7D, "c": DELETE_7D, "d": {"cleanup.policy": "compact"}},
        plan,
    )
    assert grow == {"b": 3}
    assert [s.name for s in alter] == ["c"]
    assert plan.grown == [("b", 2, 3)]
    assert plan.reconfigured == ["c"]
    assert plan.unchanged == ["a", "d"]
    assert len(plan.warnings) == 1
    assert plan.warnings[0].startswith("d has 2 partitions")


def test_plan_existing_is_pure_for_the_same_state():
    state = ({"t": 1}, {"t": {}})
    first, second = TopicPlan(), TopicPlan()
    assert plan_existing([SPEC], *state, first) == plan_existing([SPEC], *state, second)
    assert first == second


def test_an_empty_plan_is_not_a_change():
    assert TopicPlan().changed is False
    assert TopicPlan(warnings=["x"], unchanged=["t"]).changed is False
    assert TopicPlan(created=["t"]).changed is True
