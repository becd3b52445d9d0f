"""The pure parts of `herald_kafka.reader`: where a reader starts, and what a description of the
cluster says about a topic's partitions."""

from __future__ import annotations

import pytest
from herald_kafka import TopicPartition
from herald_kafka.reader import Bounds, described_partitions, start_offsets

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)
BOUNDS = {P0: Bounds(3, 10), P1: Bounds(0, 0)}


def test_beginning_and_end():
    assert start_offsets("beginning", BOUNDS) == {P0: 3, P1: 0}
    assert start_offsets("end", BOUNDS) == {P0: 10, P1: 0}


def test_given_offsets_leave_the_others_at_their_beginning():
    assert start_offsets({P0: 7}, BOUNDS) == {P0: 7, P1: 0}


def test_a_planner_sees_the_bounds():
    assert start_offsets(lambda b: {tp: x.end - 1 for tp, x in b.items() if x.size}, BOUNDS) == {
        P0: 9,
        P1: 0,
    }


def test_a_planners_error_passes_through():
    def refuse(bounds):
        raise KeyError("cursor expired")

    with pytest.raises(KeyError):
        start_offsets(refuse, BOUNDS)


def test_offsets_for_a_partition_not_read_are_refused():
    with pytest.raises(ValueError, match="t:5"):
        start_offsets({TopicPartition("t", 5): 0}, BOUNDS)


def test_size_never_negative():
    assert Bounds(5, 2).size == 0
    assert Bounds(2, 5).size == 3


def topic(name, error=0, partitions=((0, 0), (1, 0))):
    return {
        "topic": name,
        "error_code": error,
        "partitions": [{"partition": p, "error_code": e} for p, e in partitions],
    }


def test_partitions_of_each_topic_sorted():
    described = [topic("b", partitions=((1, 0), (0, 0))), topic("a", partitions=((0, 0),))]
    assert described_partitions(described, ["a", "b"]) == {"a": [0], "b": [0, 1]}


def test_a_topic_missing_from_the_description_does_not_exist():
    with pytest.raises(LookupError, match="gone"):
        described_partitions([topic("a")], ["a", "gone"])


@pytest.mark.parametrize(
    "entry",
    [topic("a", error=5), topic("a", partitions=((0, 0), (1, 5))), topic("a", partitions=())],
    ids=["topic-error", "partition-without-leader", "no-partitions"],
)
def test_a_topic_not_ready_yet_asks_again(entry):
    assert described_partitions([entry], ["a"]) is None
