"""Prometheus metrics shared by services (docs/contributing.md).

Collectors are created per registry (never module-level singletons), so each test builds its
own. Label values come only from enums (`Channel`, `FailureReason`, `Outcome`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
RESPONSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ResponseOutcome(StrEnum):
    """How one send attempt to a receiver ended, for the response-time histogram."""

    DELIVERED = "delivered"
    FAILED = "failed"


class Outcome(StrEnum):
    """What happened to one consumed record."""

    ACCEPTED = "accepted"
    ROUTED = "routed"
    UNMATCHED = "unmatched"
    DUPLICATE = "duplicate"
    AUDIT_ONLY = "audit_only"
    DEAD_LETTERED = "dead_lettered"


class Refusal(StrEnum):
    """Why ingest refused a whole request before judging its events.

    The label values of `herald_ingest_refused_total`.
    """

    UNAUTHENTICATED = "unauthenticated"  # 401: no producer token, or not a valid one
    BROKER_UNAVAILABLE = "broker_unavailable"  # 503: the broker did not acknowledge in time
    IN_FLIGHT = "in_flight"  # 503: an earlier request with the same event id awaits the broker
    BATCH_TOO_LARGE = "batch_too_large"  # 413: more events than `max_batch`
    EMPTY_BATCH = "empty_batch"  # 422: a batch without events


@dataclass(frozen=True)
class IngestMetrics:
    events: Counter
    rejected: Counter
    refused: Counter

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
            refused=Counter(
                "herald_ingest_refused_total",
                "Requests to POST /v1/events refused as a whole, by reason",
                ["reason"],
                registry=registry,
            ),
        )


class Children(dict[StrEnum, Counter]):
    """A one-label counter's children by label value, each bound (`labels()`) the first time it
    is used and kept: `labels()` takes a lock and a dictionary look-up on every call, which hot
    paths pay per event. /metrics shows the same series as when every increment called it."""

    def __init__(self, counter: Counter) -> None:
        super().__init__()
        self._counter = counter

    def __missing__(self, value: StrEnum) -> Counter:
        child: Counter = self._counter.labels(value.value)
        self[value] = child
        return child


@dataclass(frozen=True)
class RouterMetrics:
    events: Counter
    deliveries: Counter
    routing_seconds: Histogram
    event_age: Histogram
    config_records: Gauge
    config_ready: Gauge
    config_lag: Gauge
    config_staleness: Gauge

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
            routing_seconds=Histogram(
                "herald_router_routing_seconds",
                "Time to route one event (rules and recipients)",
                buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5),
                registry=registry,
            ),
            event_age=Histogram(
                "herald_router_event_age_seconds",
                "From the event's time to its routing",
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            config_records=Gauge(
                "herald_router_config_records",
                "Records in the router's config view, by kind",
                ["kind"],
                registry=registry,
            ),
            config_ready=Gauge(
                "herald_router_config_ready",
                "1 once the config view caught up with the compacted topics",
                registry=registry,
            ),
            config_lag=Gauge(
                "herald_router_config_lag_records",
                "Config records on the brokers the router has not applied yet",
                registry=registry,
            ),
            config_staleness=Gauge(
                "herald_router_config_staleness_seconds",
                "Seconds since the router's config view last applied all the brokers had",
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class SenderMetrics:
    sent: Counter
    failed: Counter
    latency: Histogram
    retries: Counter
    dead_letters: Counter
    response: Histogram
    dlq_depth: Gauge

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
            retries=Counter(
                "herald_notification_retries_total",
                "Failed attempts sent to a retry tier, by channel and the attempt's failure reason",
                ["channel", "reason"],
                registry=registry,
            ),
            dead_letters=Counter(
                "herald_notification_dead_letters_total",
                "Deliveries given up (permanent failure or exhausted), by channel and DLQ reason",
                ["channel", "reason"],
                registry=registry,
            ),
            response=Histogram(
                "herald_sender_response_seconds",
                "Time a receiver took to answer one attempt, by channel and outcome",
                ["channel", "outcome"],
                buckets=RESPONSE_BUCKETS,
                registry=registry,
            ),
            dlq_depth=Gauge(
                "herald_dlq_records",
                "Records the channel's dead-letter topic holds (sampled by its sender)",
                ["channel"],
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class ApiMetrics:
    requests: Counter
    latency: Histogram
    outbox_published: Counter
    outbox_pending: Gauge
    outbox_oldest: Gauge
    streams_open: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ApiMetrics:
        # `route` is the route template (/v1/apps/{app}/notifiers), never a concrete path
        return cls(
            requests=Counter(
                "herald_api_requests_total",
                "API requests, by route template and status",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "herald_api_request_duration_seconds",
                "API request duration",
                ["method", "route"],
                registry=registry,
            ),
            outbox_published=Counter(
                "herald_outbox_published_total", "Outbox rows published to Kafka", registry=registry
            ),
            outbox_pending=Gauge(
                "herald_outbox_pending", "Outbox rows not yet published", registry=registry
            ),
            outbox_oldest=Gauge(
                "herald_outbox_oldest_pending_seconds",
                "Age of the oldest outbox row not yet published (0 when none waits)",
                registry=registry,
            ),
            streams_open=Gauge(
                "herald_api_streams_open",
                "Live event streams (SSE or WebSocket) open on this process",
                registry=registry,
            ),
        )


class ConsumerLag:
    """`herald_consumer_lag_records{group,topic}`: a Kafka-consuming service's own lag.

    `herald_kafka.consumer.run_group(on_lag=…)` samples a running consumer's lag every few
    seconds (high watermark minus position over its assigned partitions, `herald_kafka.lag`);
    `reporter(group)` turns each sample into the gauge. One per registry, one reporter per
    group: a topic whose partitions all moved to another instance reads 0 here (that instance
    reports them).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(
            "herald_consumer_lag_records",
            "Records on the partitions assigned to this instance its consumer has not taken "
            "yet, by consumer group and topic",
            ["group", "topic"],
            registry=registry,
        )

    def reporter(self, group: str) -> Callable[[Mapping[str, int]], None]:
        """The `on_lag` of `group`'s consumer: sets each topic's lag, 0 for topics it lost."""
        seen: set[str] = set()

        def report(lags: Mapping[str, int]) -> None:
            for topic in seen - set(lags):
                self.gauge.labels(group, topic).set(0)
            for topic, lag in lags.items():
                self.gauge.labels(group, topic).set(lag)
            seen.update(lags)

        return report
