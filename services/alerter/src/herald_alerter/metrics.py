"""The alerter's Prometheus metrics (docs/contributing.md, metrics): labels only from enums."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter

from herald_alerter.evaluate import Verdict


class PointOutcome(StrEnum):
    """What one `platform.metrics` record did."""

    EVALUATED = "evaluated"  # at least one active rule watched it
    NO_RULE = "no_rule"  # no active rule of the app watches this metric and container type
    UNPARSABLE = "unparsable"  # not a MetricPoint (bad JSON, missing fields): skipped
    UNKNOWN_METRIC = "unknown_metric"  # a metric no rule can watch (not a `Metric`): skipped
    MISKEYED = "miskeyed"  # key is not the point's app id: skipped
    FAILED = "failed"  # handling raised: logged and skipped


class ConfigOutcome(StrEnum):
    """What one `notify.config.alerts` record did."""

    APPLIED = "applied"
    DELETED = "deleted"  # a tombstone: the app has no rules left
    UNPARSABLE = "unparsable"
    MISKEYED = "miskeyed"
    FAILED = "failed"


@dataclass(frozen=True)
class AlerterMetrics:
    points: Counter
    evaluations: Counter
    configs: Counter
    emitted: Counter
    skipped: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlerterMetrics:
        metrics = cls(
            points=Counter(
                "herald_alerter_points_total",
                "platform.metrics records read, by outcome",
                ["outcome"],
                registry=registry,
            ),
            evaluations=Counter(
                "herald_alerter_evaluations_total",
                "(point, rule) evaluations, by verdict (late: out-of-order points ignored)",
                ["verdict"],
                registry=registry,
            ),
            configs=Counter(
                "herald_alerter_config_records_total",
                "notify.config.alerts records read, by outcome",
                ["outcome"],
                registry=registry,
            ),
            emitted=Counter(
                "herald_alerter_events_emitted_total",
                "alert events written to notify.events, by verdict (fired, reminded, resolved)",
                ["verdict"],
                registry=registry,
            ),
            skipped=Counter(
                "herald_alerter_records_skipped",
                "platform.metrics offsets the consumer jumped over (0 unless something is wrong: "
                "a partition's points are evaluated in offset order, none left out)",
                registry=registry,
            ),
        )
        for outcome in PointOutcome:
            metrics.points.labels(outcome.value)
        for verdict in Verdict:
            metrics.evaluations.labels(verdict.value)
        return metrics
