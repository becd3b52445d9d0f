"""The faust service shell's pure parts: options from settings, the assigned-partitions gauge."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from herald_derive.settings import DeriveSettings
from herald_runtime.faust_service import (
    OffsetGaps,
    PartitionsCollector,
    faust_options,
    heartbeat_interval_s,
)
from herald_testing.service_process import assigned_partitions
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import ValidationError


class TP(NamedTuple):
    topic: str
    partition: int


class Assignor:
    def __init__(self, actives: set[TP], standbys: set[TP]) -> None:
        self.actives, self.standbys = actives, standbys

    def assigned_actives(self) -> set[TP]:
        return self.actives

    def assigned_standbys(self) -> set[TP]:
        return self.standbys


def test_the_session_timeout_and_heartbeat_reach_faust() -> None:
    options = faust_options(DeriveSettings(session_timeout_s=8))
    assert options["broker_session_timeout"] == 8
    assert options["broker_heartbeat_interval"] == pytest.approx(8 / 3)
    default = faust_options(DeriveSettings())
    assert (default["broker_session_timeout"], default["broker_heartbeat_interval"]) == (60, 3)


@pytest.mark.parametrize(("session", "heartbeat"), [(60, 3), (9, 3), (6, 2)])
def test_heartbeat_interval(session: float, heartbeat: float) -> None:
    assert heartbeat_interval_s(session) == heartbeat


@pytest.mark.parametrize("session", [5, 91])
def test_a_session_timeout_the_broker_or_faust_refuses_is_refused(session: float) -> None:
    with pytest.raises(ValidationError):
        DeriveSettings(session_timeout_s=session)


def test_the_gauge_shows_active_and_standby_partitions() -> None:
    assignor = Assignor({TP("notify.events", 2), TP("notify.events", 0)}, {TP("cl", 1)})
    registry = CollectorRegistry()
    registry.register(PartitionsCollector(lambda: assignor))
    scraped = generate_latest(registry).decode()
    assert assigned_partitions(scraped) == {"notify.events": {0, 2}}
    assert assigned_partitions(scraped, "standby") == {"cl": {1}}
    assignor.actives = set()  # read at each scrape
    assert assigned_partitions(generate_latest(registry).decode()) == {}


def test_offset_gaps_count_records_left_out_within_a_generation() -> None:
    registry = CollectorRegistry()
    gaps = OffsetGaps(registry)
    assert [gaps.see("t", 0, offset, 3) for offset in (10, 11, 12)] == [0, 0, 0]
    assert gaps.see("t", 0, 20, 3) == 7  # 13..19 left out
    assert gaps.see("t", 0, 13, 3) == 0  # going back (a seek) is not a gap
    assert gaps.see("t", 0, 40, 4) == 0  # a new generation starts anywhere
    assert gaps.see("t", 1, 5, 4) == 0  # another partition
    assert gaps.see("t", 1, 7, 4) == 1
    scraped = generate_latest(registry).decode()
    assert 'herald_faust_records_skipped_total{topic="t"} 8.0' in scraped


def test_offset_gaps_check_a_generation_s_first_record_against_the_partition_s_start() -> None:
    registry = CollectorRegistry()
    starts = {("t", 0, 5): 100}
    gaps = OffsetGaps(registry, lambda t, p, g: starts.get((t, p, g)))
    assert gaps.see("t", 0, 144, 5) == 44  # 100..143 fetched and dropped before the first
    assert gaps.see("t", 0, 145, 5) == 0
    assert gaps.see("t", 0, 100, 5) == 0  # read again from the start: going back
    assert gaps.see("t", 0, 7, 6) == 0  # a generation whose start is not known
    assert gaps.see("t", 1, 3, 5) == 0
    scraped = generate_latest(registry).decode()
    assert 'herald_faust_records_skipped_total{topic="t"} 44.0' in scraped
