"""`MaterializedView.staleness_s`: since the view last caught up, since its start before that."""

from __future__ import annotations

from herald_core.settings import KafkaSettings
from herald_kafka.config_view import MaterializedView


def view() -> MaterializedView[bytes]:
    return MaterializedView(KafkaSettings(), {"t": bytes})


def test_a_view_not_started_is_not_stale() -> None:
    assert view().staleness_s(now=100.0) == 0.0


def test_staleness_counts_from_the_start_until_the_view_first_caught_up() -> None:
    v = view()
    v._started_at = 10.0

    assert v.staleness_s(now=25.0) == 15.0

    v._caught_up_at = 20.0
    assert v.staleness_s(now=25.0) == 5.0
