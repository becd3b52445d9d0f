"""A consumer's own lag (`herald_kafka.lag.lag_by_topic`) and its gauge
(`herald_core.metrics.ConsumerLag`)."""

from __future__ import annotations

from aiokafka import TopicPartition
from herald_core.metrics import ConsumerLag
from herald_kafka.lag import depth_by_topic, lag_by_topic
from prometheus_client import CollectorRegistry

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def test_lag_is_highwater_minus_position_summed_per_topic() -> None:
    lags = lag_by_topic([A0, A1, B0], {A0: 10, A1: 5, B0: 7}, {A0: 4, A1: 5, B0: 2})

    assert lags == {"a": 6, "b": 5}


def test_a_partition_not_fetched_yet_counts_zero_but_names_its_topic() -> None:
    assert lag_by_topic([A0, B0], {A0: None, B0: 3}, {A0: 0, B0: None}) == {"a": 0, "b": 0}


def test_a_position_past_the_highwater_is_no_negative_lag() -> None:
    assert lag_by_topic([A0], {A0: 3}, {A0: 5}) == {"a": 0}


def test_the_gauge_is_set_per_group_and_topic_and_zeroed_for_a_lost_topic() -> None:
    registry = CollectorRegistry()
    lag = ConsumerLag(registry)
    main, retry = lag.reporter("g-main"), lag.reporter("g-retry")

    main({"a": 6, "b": 5})
    retry({"a.retry": 2})
    main({"a": 1})

    def value(group: str, topic: str) -> float | None:
        labels = {"group": group, "topic": topic}
        return registry.get_sample_value("herald_consumer_lag_records", labels)

    assert (value("g-main", "a"), value("g-main", "b"), value("g-retry", "a.retry")) == (1, 0, 2)


def test_depth_is_end_minus_beginning_summed_per_topic() -> None:
    depths = depth_by_topic({A0: 3, A1: 0, B0: 7}, {A0: 10, A1: 4, B0: 7})

    assert depths == {"a": 11, "b": 0}
