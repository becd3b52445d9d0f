"""Herald's Grafana dashboards, as code, and the drift check of their committed JSON.

Four dashboards, built with the Grafana Foundation SDK's builders (for Grafana 11.6):

    herald-overview   events in, deliveries out, failures, delivery latency p50/p99
    herald-channel    one channel (the `channel` variable): deliveries, failures and retries by
                      reason, receiver response time, retry backlog, DLQ depth
    herald-kafka      consumer lag by group and topic, retry-tier backlog, DLQ depth, ingest
                      refusals, the router's config view (size, lag, staleness)
    herald-api        the config API: requests, latency, errors, outbox backlog, open streams

Every panel queries the `${datasource}` variable (any Prometheus data source), with the
metrics the services export (docs/operations.md, *Metrics*) and no per-app or per-notifier
label. `render_all` gives the files of `deploy/grafana/dashboards/` (sorted keys, stable ids,
a trailing newline); `generate` writes them and `drift` compares them, for `herald-dev
dashboards [--check]` (`make dashboards`, `make dashboards-check`). `panel_queries` lists
every panel's PromQL expression, for tests that evaluate them against a real Prometheus.

Panels of failure counters (failed attempts, retries, dead letters, refusals) add
`or vector(0)`: a labelled counter has no series until its first failure, and a healthy stack
should show a flat zero, not "No data".
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
"""Every panel's and query's data source: the dashboard's `datasource` variable."""

RATE = "$__rate_interval"
"""The range of every `rate()`: Grafana's, at least four scrape intervals."""

SUFFIX = ".json"


def default_dashboard_dir() -> Path:
    """`deploy/grafana/dashboards/` of the checkout this package is installed from."""
    return Path(__file__).resolve().parents[4] / "deploy" / "grafana" / "dashboards"


class Kind(StrEnum):
    """How a panel draws its queries."""

    TIMESERIES = "timeseries"
    STAT = "stat"


@dataclass(frozen=True)
class Query:
    """One PromQL target of a panel, and how its series are named in the legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    """What a panel shows; `_panel` turns it into the SDK's builder."""

    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: Kind = Kind.TIMESERIES
    width: int = 12


@dataclass(frozen=True)
class Section:
    """A row of the dashboard and the panels under it."""

    title: str
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    sections: tuple[Section, ...]
    channel_variable: bool = False
    tags: tuple[str, ...] = field(default=("herald",))


@dataclass(frozen=True)
class PanelQuery:
    """One target expression of a generated dashboard, as `panel_queries` finds it."""

    dashboard_uid: str
    panel_title: str
    ref_id: str
    expr: str


# ---- PromQL helpers: small, so every panel reads as what it shows ----


def _rate(metric: str, selector: str = "") -> str:
    return f"rate({metric}{{{selector}}}[{RATE}])" if selector else f"rate({metric}[{RATE}])"


def _sum_rate(metric: str, by: str = "", selector: str = "", *, zero: bool = False) -> str:
    """`sum [by (…)] (rate(metric[…]))`; `zero` adds `or vector(0)` for failure counters."""
    grouping = f" by ({by}) " if by else ""
    expr = f"sum{grouping}({_rate(metric, selector)})"
    return f"{expr} or vector(0)" if zero else expr


def _quantile(q: float, histogram: str, selector: str = "", by: str = "") -> str:
    """`histogram_quantile(q, …)` over a histogram's buckets, summed by `le` (and `by`)."""
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) ({_rate(histogram + '_bucket', selector)}))"


def _lag_by_topic(selector: str) -> str:
    """Consumer lag of the groups `selector` picks, per topic, summed over instances."""
    return f"sum by (topic) (herald_consumer_lag_records{{{selector}}})"


def _p50_p99(histogram: str, selector: str = "", by: str = "") -> tuple[Query, ...]:
    suffix = f" {{{{{by}}}}}" if by else ""
    return (
        Query(_quantile(0.5, histogram, selector, by), f"p50{suffix}"),
        Query(_quantile(0.99, histogram, selector, by), f"p99{suffix}"),
    )


CHANNEL = 'channel="$channel"'

# ---- the four dashboards ----


def overview() -> DashboardSpec:
    """Events in, deliveries out, failures, latency: is Herald delivering?"""
    at_a_glance = Section(
        "At a glance",
        (
            PanelSpec(
                "Events in / s",
                "Events ingest took in (every outcome), per second.",
                (Query(_sum_rate("herald_ingest_events_total")),),
                unit="ops",
                kind=Kind.STAT,
                width=6,
            ),
            PanelSpec(
                "Delivered / s",
                "Notifications delivered, every channel, per second.",
                (Query(_sum_rate("herald_notifications_total")),),
                unit="ops",
                kind=Kind.STAT,
                width=6,
            ),
            PanelSpec(
                "Failed attempts / s",
                "Failed delivery attempts, every channel (0 while none failed).",
                (Query(_sum_rate("herald_notifications_failed_total", zero=True)),),
                unit="ops",
                kind=Kind.STAT,
                width=6,
            ),
            PanelSpec(
                "Delivery latency p99",
                "From the event's time to its delivery, every channel.",
                (Query(_quantile(0.99, "herald_notification_latency_seconds")),),
                unit="s",
                kind=Kind.STAT,
                width=6,
            ),
        ),
    )
    flow = Section(
        "Flow",
        (
            PanelSpec(
                "Events in, by outcome",
                "herald_ingest_events_total: events ingest took in (accepted, duplicate…).",
                (Query(_sum_rate("herald_ingest_events_total", "outcome"), "{{outcome}}"),),
                unit="ops",
            ),
            PanelSpec(
                "Events routed, by outcome",
                "herald_router_events_total: routed, unmatched, audit only, dead-lettered.",
                (Query(_sum_rate("herald_router_events_total", "outcome"), "{{outcome}}"),),
                unit="ops",
            ),
            PanelSpec(
                "Deliveries written by the router, by channel",
                "herald_router_deliveries_total: one per recipient and channel.",
                (Query(_sum_rate("herald_router_deliveries_total", "channel"), "{{channel}}"),),
                unit="ops",
            ),
            PanelSpec(
                "Deliveries out, by channel",
                "herald_notifications_total: notifications the senders delivered.",
                (Query(_sum_rate("herald_notifications_total", "channel"), "{{channel}}"),),
                unit="ops",
            ),
        ),
    )
    failures = Section(
        "Failures",
        (
            PanelSpec(
                "Failed attempts, by channel",
                "herald_notifications_failed_total: attempts that failed (retried or "
                "dead-lettered); 0 while none failed.",
                (
                    Query(
                        _sum_rate("herald_notifications_failed_total", "channel", zero=True),
                        "{{channel}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Dead-lettered deliveries, by channel",
                "herald_notification_dead_letters_total: deliveries given up; 0 while none.",
                (
                    Query(
                        _sum_rate("herald_notification_dead_letters_total", "channel", zero=True),
                        "{{channel}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Events rejected by ingest, by reason",
                "herald_ingest_rejected_total: events refused one by one; 0 while none.",
                (
                    Query(
                        _sum_rate("herald_ingest_rejected_total", "reason", zero=True),
                        "{{reason}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Background task restarts",
                "herald_task_restarts_total: tasks a service started again after they failed; "
                "0 while none.",
                (Query(_sum_rate("herald_task_restarts_total", "task", zero=True), "{{task}}"),),
                unit="ops",
            ),
        ),
    )
    latency = Section(
        "Latency",
        (
            PanelSpec(
                "Delivery latency (event time to delivered)",
                "herald_notification_latency_seconds, every channel.",
                _p50_p99("herald_notification_latency_seconds"),
                unit="s",
            ),
            PanelSpec(
                "Routing latency (event time to routed)",
                "herald_router_event_age_seconds: how old an event is when the router routes it.",
                _p50_p99("herald_router_event_age_seconds"),
                unit="s",
            ),
        ),
    )
    return DashboardSpec(
        "herald-overview",
        "Herald / Overview",
        "Events in, deliveries out, failures and latency across every channel.",
        (at_a_glance, flow, failures, latency),
    )


def channel() -> DashboardSpec:
    """One channel's sender: what it delivers, how it fails, how its receivers answer."""
    deliveries = Section(
        "Deliveries",
        (
            PanelSpec(
                "Routed and delivered",
                "Deliveries the router wrote for the channel and notifications its senders "
                "delivered.",
                (
                    Query(_sum_rate("herald_router_deliveries_total", selector=CHANNEL), "routed"),
                    Query(_sum_rate("herald_notifications_total", selector=CHANNEL), "delivered"),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Delivery latency (event time to delivered)",
                "herald_notification_latency_seconds of the channel.",
                _p50_p99("herald_notification_latency_seconds", CHANNEL),
                unit="s",
            ),
            PanelSpec(
                "Receiver response time",
                "herald_sender_response_seconds: time a receiver took to answer one attempt, "
                "delivered or failed.",
                _p50_p99("herald_sender_response_seconds", CHANNEL),
                unit="s",
            ),
            PanelSpec(
                "Consumer lag of the deliveries topic",
                "herald_consumer_lag_records of the channel's main group (herald-sender-<channel>),"
                " summed over its instances.",
                (
                    Query(
                        _lag_by_topic('group="herald-sender-$channel"'),
                        "{{topic}}",
                    ),
                ),
            ),
        ),
    )
    failures = Section(
        "Failures and retries",
        (
            PanelSpec(
                "Failed attempts, by reason",
                "herald_notifications_failed_total of the channel; 0 while none failed.",
                (
                    Query(
                        _sum_rate(
                            "herald_notifications_failed_total", "reason", CHANNEL, zero=True
                        ),
                        "{{reason}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Attempts sent to a retry tier, by reason",
                "herald_notification_retries_total of the channel; 0 while none.",
                (
                    Query(
                        _sum_rate(
                            "herald_notification_retries_total", "reason", CHANNEL, zero=True
                        ),
                        "{{reason}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Dead-lettered deliveries, by reason",
                "herald_notification_dead_letters_total of the channel; 0 while none.",
                (
                    Query(
                        _sum_rate(
                            "herald_notification_dead_letters_total", "reason", CHANNEL, zero=True
                        ),
                        "{{reason}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Retry-tier backlog, by tier topic",
                "herald_consumer_lag_records of the channel's retry group "
                "(herald-sender-<channel>-retry): records waiting for their due time.",
                (
                    Query(
                        _lag_by_topic('group="herald-sender-$channel-retry"'),
                        "{{topic}}",
                    ),
                ),
            ),
            PanelSpec(
                "Dead-letter topic depth",
                "herald_dlq_records: records notify.deliveries.<channel>.dlq holds, sampled by "
                "the channel's senders (every instance reports the same value).",
                (Query(f"max(herald_dlq_records{{{CHANNEL}}})", "records"),),
                width=24,
            ),
        ),
    )
    return DashboardSpec(
        "herald-channel",
        "Herald / Channel",
        "One delivery channel (the channel variable): deliveries, failures by reason, "
        "receiver response time, retries and dead letters.",
        (deliveries, failures),
        channel_variable=True,
    )


def kafka() -> DashboardSpec:
    """The topics' side: lag, retry backlog, dead letters, refusals, the config view."""
    lag = Section(
        "Consumer lag",
        (
            PanelSpec(
                "Consumer lag, by group and topic",
                "herald_consumer_lag_records summed over each group's instances (derive, a "
                "faust worker, is not covered).",
                (
                    Query(
                        "sum by (group, topic) (herald_consumer_lag_records)",
                        "{{group}} {{topic}}",
                    ),
                ),
                width=24,
            ),
            PanelSpec(
                "Retry-tier backlog, by tier topic",
                "The senders' retry groups' lag (herald-sender-<channel>-retry): records waiting "
                "in a retry tier for their due time.",
                (
                    Query(
                        _lag_by_topic('group=~"herald-sender-.+-retry"'),
                        "{{topic}}",
                    ),
                ),
            ),
            PanelSpec(
                "Dead-letter topic depth, by channel",
                "herald_dlq_records: records each notify.deliveries.<channel>.dlq holds.",
                (Query("max by (channel) (herald_dlq_records)", "{{channel}}"),),
            ),
        ),
    )
    refusals = Section(
        "Refusals and dead letters",
        (
            PanelSpec(
                "Ingest requests refused, by reason",
                "herald_ingest_refused_total: requests to POST /v1/events refused as a whole "
                "(broker_unavailable: the broker did not acknowledge); 0 while none.",
                (
                    Query(
                        _sum_rate("herald_ingest_refused_total", "reason", zero=True), "{{reason}}"
                    ),
                ),
                unit="reqps",
            ),
            PanelSpec(
                "Events dead-lettered by the router",
                "herald_router_events_total{outcome=dead_lettered}: events written to "
                "notify.events.dlq; 0 while none.",
                (
                    Query(
                        _sum_rate(
                            "herald_router_events_total",
                            selector='outcome="dead_lettered"',
                            zero=True,
                        ),
                        "dead-lettered",
                    ),
                ),
                unit="ops",
            ),
        ),
    )
    config_view = Section(
        "Router config view",
        (
            PanelSpec(
                "Config view ready",
                "herald_router_config_ready: 1 once every router instance caught up with the "
                "compacted config topics (min over instances).",
                (Query("min(herald_router_config_ready)"),),
                kind=Kind.STAT,
                width=6,
            ),
            PanelSpec(
                "Config view staleness",
                "herald_router_config_staleness_seconds: since the view last applied all the "
                "brokers had (max over instances).",
                (Query("max(herald_router_config_staleness_seconds)"),),
                unit="s",
                kind=Kind.STAT,
                width=6,
            ),
            PanelSpec(
                "Config records not applied yet",
                "herald_router_config_lag_records (max over instances).",
                (Query("max(herald_router_config_lag_records)"),),
                kind=Kind.STAT,
                width=12,
            ),
            PanelSpec(
                "Config view size, by kind",
                "herald_router_config_records: notifiers, apps and owners in the view.",
                (Query("max by (kind) (herald_router_config_records)", "{{kind}}"),),
            ),
            PanelSpec(
                "Config view staleness over time",
                "herald_router_config_staleness_seconds of each instance's view (max).",
                (Query("max(herald_router_config_staleness_seconds)", "staleness"),),
                unit="s",
            ),
        ),
    )
    return DashboardSpec(
        "herald-kafka",
        "Herald / Kafka",
        "Consumer lag, retry-tier backlog, dead-letter topics, ingest refusals and the "
        "router's config view.",
        (lag, refusals, config_view),
    )


def api() -> DashboardSpec:
    """The config API: its requests, its outbox to Kafka, its event streams."""
    requests = Section(
        "Requests",
        (
            PanelSpec(
                "Requests, by status",
                "herald_api_requests_total.",
                (Query(_sum_rate("herald_api_requests_total", "status"), "{{status}}"),),
                unit="reqps",
            ),
            PanelSpec(
                "Requests, by route",
                "herald_api_requests_total by route template.",
                (
                    Query(
                        _sum_rate("herald_api_requests_total", "method, route"),
                        "{{method}} {{route}}",
                    ),
                ),
                unit="reqps",
            ),
            PanelSpec(
                "Errors, by route",
                "Answers 5xx and 4xx; 0 while none.",
                (
                    Query(
                        _sum_rate("herald_api_requests_total", "route", 'status=~"5.."', zero=True),
                        "5xx {{route}}",
                    ),
                    Query(
                        _sum_rate("herald_api_requests_total", "route", 'status=~"4.."', zero=True),
                        "4xx {{route}}",
                    ),
                ),
                unit="reqps",
            ),
            PanelSpec(
                "Request duration",
                "herald_api_request_duration_seconds, every route.",
                _p50_p99("herald_api_request_duration_seconds"),
                unit="s",
            ),
        ),
    )
    outbox = Section(
        "Outbox and streams",
        (
            PanelSpec(
                "Outbox backlog",
                "herald_outbox_pending: rows committed and not yet published to Kafka (set by "
                "the relay's leader; max over instances).",
                (Query("max(herald_outbox_pending)", "pending"),),
                width=8,
            ),
            PanelSpec(
                "Oldest pending outbox row",
                "herald_outbox_oldest_pending_seconds: 0 when none waits.",
                (Query("max(herald_outbox_oldest_pending_seconds)", "age"),),
                unit="s",
                width=8,
            ),
            PanelSpec(
                "Outbox rows published / s",
                "herald_outbox_published_total.",
                (Query(_sum_rate("herald_outbox_published_total"), "published"),),
                unit="ops",
                width=8,
            ),
            PanelSpec(
                "Open event streams",
                "herald_api_streams_open: SSE and WebSocket streams, summed over instances.",
                (Query("sum(herald_api_streams_open)", "open"),),
            ),
            PanelSpec(
                "Notifier commands handled, by outcome",
                "herald_api_notifier_commands_total: DisableNotifier records the API applied "
                "or skipped; 0 while none.",
                (
                    Query(
                        _sum_rate("herald_api_notifier_commands_total", "outcome", zero=True),
                        "{{outcome}}",
                    ),
                ),
                unit="ops",
            ),
        ),
    )
    return DashboardSpec(
        "herald-api",
        "Herald / API",
        "The config API: request rate, latency and errors, the outbox to Kafka, open streams.",
        (requests, outbox),
    )


SPECS = (overview, channel, kafka, api)
"""The dashboards, in order; each file is named after its uid."""


# ---- building with the SDK ----


def _target(query: Query, ref_id: str) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(query.expr).ref_id(ref_id).datasource(DATASOURCE)
    return target.legend_format(query.legend) if query.legend else target


def _panel(spec: PanelSpec, panel_id: int) -> timeseries.Panel | stat.Panel:
    panel = timeseries.Panel() if spec.kind is Kind.TIMESERIES else stat.Panel()
    panel.id(panel_id).title(spec.title).description(spec.description).datasource(DATASOURCE)
    panel.unit(spec.unit).span(spec.width).height(8 if spec.kind is Kind.TIMESERIES else 4)
    for index, query in enumerate(spec.queries):
        panel.with_target(_target(query, chr(ord("A") + index)))
    return panel


def _variables(spec: DashboardSpec) -> list[gd.DatasourceVariable | gd.QueryVariable]:
    variables: list[gd.DatasourceVariable | gd.QueryVariable] = [
        gd.DatasourceVariable("datasource").label("Data source").type("prometheus")
    ]
    if spec.channel_variable:
        # Every running sender reports its DLQ depth from its start: its channel is listed
        # before it delivered anything.
        variables.append(
            gd.QueryVariable("channel")
            .label("Channel")
            .datasource(DATASOURCE)
            .query("label_values(herald_dlq_records, channel)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(VariableSort.ALPHABETICAL_ASC)
        )
    return variables


def build(spec: DashboardSpec) -> gd.Dashboard:
    """The SDK's dashboard builder for `spec`: rows in order, panel ids 1, 2, … by position."""
    board = (
        gd.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(list(spec.tags))
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .time("now-1h", "now")
        .timezone("browser")
        .refresh("30s")
    )
    for variable in _variables(spec):
        board.with_variable(variable)
    ids = iter(range(1, 1000))
    for section in spec.sections:
        board.with_row(gd.Row(section.title).id(next(ids)))
        for panel_spec in section.panels:
            board.with_panel(_panel(panel_spec, next(ids)))
    return board


def dashboard_json(spec: DashboardSpec) -> dict[str, Any]:
    """The dashboard model Grafana provisions, as plain JSON values."""
    encoded: dict[str, Any] = json.loads(json.dumps(build(spec).build(), cls=JSONEncoder))
    return encoded


def dump(document: Mapping[str, Any]) -> str:
    """A file's text: sorted keys, two-space indents, a trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, str]:
    """Every dashboard file: `<uid>.json` → exact text. Pure and deterministic."""
    specs = [make() for make in SPECS]
    return {f"{spec.uid}{SUFFIX}": dump(dashboard_json(spec)) for spec in specs}


# ---- reading generated JSON back ----


def _panels(panels: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """Every panel, the panels of collapsed rows included, in order."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or ())


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    """Every target of every panel of a dashboard's JSON (rows have none)."""
    uid = str(dashboard.get("uid", ""))
    return [
        PanelQuery(uid, str(panel.get("title", "")), str(target.get("refId", "")), target["expr"])
        for panel in _panels(dashboard.get("panels") or ())
        for target in panel.get("targets") or ()
        if "expr" in target
    ]


# ---- files: write and compare ----


@dataclass(frozen=True)
class Drift:
    """A file under the dashboard folder that differs from `render_all`."""

    name: str
    state: str  # changed, missing, or stale (no dashboard renders it any more)
    diff: tuple[str, ...] = ()


def drift(out: Path, rendered: Mapping[str, str] | None = None) -> list[Drift]:
    """How the JSON files under `out` differ from `rendered` (default `render_all()`).

    Reads the files; writes nothing. A changed file carries the first lines of its unified
    diff, from the committed text to the generated one.
    """
    expected = render_all() if rendered is None else rendered
    found = sorted(p.name for p in out.glob(f"*{SUFFIX}")) if out.is_dir() else []
    drifted = [Drift(name, "stale") for name in found if name not in expected]
    for name, text in sorted(expected.items()):
        path = out / name
        if not path.is_file():
            drifted.append(Drift(name, "missing"))
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != text:
            drifted.append(Drift(name, "changed", _diff(name, committed, text)))
    return sorted(drifted, key=lambda d: d.name)


def _diff(name: str, committed: str, generated: str, limit: int = 20) -> tuple[str, ...]:
    lines = difflib.unified_diff(
        committed.splitlines(),
        generated.splitlines(),
        f"committed/{name}",
        f"generated/{name}",
        lineterm="",
    )
    return tuple(line for _, line in zip(range(limit), lines, strict=False))


def generate(out: Path) -> list[str]:
    """Write the dashboard files that differ under `out`, remove stale ones.

    Returns the names it changed. Raises OSError when the files cannot be written.
    """
    expected = render_all()
    changed = drift(out, expected)
    out.mkdir(parents=True, exist_ok=True)
    for entry in changed:
        target = out / entry.name
        if entry.state == "stale":
            target.unlink()
        else:
            target.write_text(expected[entry.name], encoding="utf-8")
    return [entry.name for entry in changed]


def drift_report(out: Path, drifted: Sequence[Drift]) -> list[str]:
    """The lines `--check` prints: one per drifted file, then its diff's first lines."""
    lines = [
        f"{len(drifted)} dashboard file(s) under {out} differ from the generator; "
        "run `herald-dev dashboards` (make dashboards):"
    ]
    for entry in drifted:
        lines.append(f"  {entry.state}: {entry.name}")
        lines.extend(f"    {line}" for line in entry.diff)
    return lines
