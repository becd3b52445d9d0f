"""The derive processor's Prometheus metrics (docs/contributing.md): labels only from `Outcome`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter


class Outcome(StrEnum):
    """What one `notify.events` record did to the crash table."""

    APPLIED = "applied"  # a crash counted or a streak reset: the state changed
    UNCHANGED = "unchanged"  # another type, a redelivery, a stale crash
    UNPARSABLE = "unparsable"  # the value is not an Event: ignored
    MISKEYED = "miskeyed"  # an app event not keyed by its app id: ignored
    FAILED = "failed"  # handling raised: logged and skipped


@dataclass(frozen=True)
class DeriveMetrics:
    events: Counter
    emitted: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> DeriveMetrics:
        return cls(
            events=Counter(
                "herald_derive_events_total",
                "notify.events records read, by outcome",
                ["outcome"],
                registry=registry,
            ),
            emitted=Counter(
                "herald_derive_app_crashed_total",
                "app_crashed events emitted",
                registry=registry,
            ),
        )
