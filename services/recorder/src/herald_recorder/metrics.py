"""The recorder's Prometheus metrics: labels come only from `ResultOutcome`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from herald_core.metrics import LATENCY_BUCKETS
from prometheus_client import CollectorRegistry, Counter, Histogram


class ResultOutcome(StrEnum):
    """What became of one consumed result record."""

    RECORDED = "recorded"  # a new attempt in the history
    DUPLICATE = "duplicate"  # an attempt the history already held (a replay)
    INVALID = "invalid"  # unparsable or unstorable: logged and skipped


@dataclass(frozen=True)
class RecorderMetrics:
    results: Counter
    lag: Histogram
    write_seconds: Histogram
    write_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RecorderMetrics:
        return cls(
            results=Counter(
                "herald_recorder_results_total",
                "Delivery results consumed, by outcome",
                ["outcome"],
                registry=registry,
            ),
            lag=Histogram(
                "herald_recorder_lag_seconds",
                "From an attempt's time to its recording in the history",
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            write_seconds=Histogram(
                "herald_recorder_write_seconds",
                "Time to write one batch (one transaction)",
                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                registry=registry,
            ),
            write_failures=Counter(
                "herald_recorder_write_failures_total",
                "Batch writes that failed and were retried (database unreachable, …)",
                registry=registry,
            ),
        )
