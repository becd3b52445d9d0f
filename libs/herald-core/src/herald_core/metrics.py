"""Prometheus metrics shared by services (STYLE.md §6).

Collectors are created per registry (never module-level singletons), so each test builds its
own. Label values come only from enums (`Channel`, `FailureReason`, `Outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class Outcome(StrEnum):
    """What happened to one consumed record."""

    ACCEPTED = "accepted"
    ROUTED = "routed"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    AUDIT_ONLY = "audit_only"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class IngestMetrics:
    events: Counter
    rejected: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            events=Counter(
                "herald_ingest_events_total",
                "Events taken in, by outcome",
                ["outcome"],
                registry=registry,
            ),
            rejected=Counter(
                "herald_ingest_rejected_total",
                "Events refused, by reason",
                ["reason"],
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class RouterMetrics:
    events: Counter
    deliveries: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> RouterMetrics:
        return cls(
            events=Counter(
                "herald_router_events_total",
                "Events routed, by outcome",
                ["outcome"],
                registry=registry,
            ),
            deliveries=Counter(
                "herald_router_deliveries_total",
                "Deliveries written, by channel",
                ["channel"],
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class SenderMetrics:
    sent: Counter
    failed: Counter
    latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SenderMetrics:
        return cls(
            sent=Counter(
                "herald_notifications_total",
                "Notifications delivered, by channel",
                ["channel"],
                registry=registry,
            ),
            failed=Counter(
                "herald_notifications_failed_total",
                "Failed delivery attempts, by channel and reason",
                ["channel", "reason"],
                registry=registry,
            ),
            latency=Histogram(
                "herald_notification_latency_seconds",
                "From the event's time to its delivery",
                ["channel"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )
