"""Grafana dashboards as code (`herald_devstack.dashboards`): the committed JSON matches the
generator (and the check can fail), every panel queries metrics the services really export,
with valid PromQL and no per-app or per-notifier label, and the provisioning files are sound.

The exported metric names are read from the code, not from a list: every `Counter(`,
`Gauge(`, `Histogram(`, `Summary(` (and `…MetricFamily(`) call of `services/*/src` and
`libs/*/src` whose first argument is a string, with prometheus_client's naming rules applied.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import promql_parser
import pytest
import yaml
from herald_devstack import dashboards
from herald_devstack.cli import app
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
SOURCES = sorted([*ROOT.glob("services/*/src"), *ROOT.glob("libs/*/src")])
PER_TENANT_LABELS = frozenset({"app_id", "notifier_id", "app", "notifier"})
# What the panel-data test substitutes for Grafana's variables before asking Prometheus.
VARIABLES = {"$__rate_interval": "30s", "$__interval": "5s", "$channel": "webhook"}

SUFFIXES = {
    "Counter": ("_total",),
    "CounterMetricFamily": ("_total",),
    "Gauge": ("",),
    "GaugeMetricFamily": ("",),
    "Histogram": ("_bucket", "_sum", "_count"),
    "HistogramMetricFamily": ("_bucket", "_sum", "_count"),
    "Summary": ("_sum", "_count", ""),
    "SummaryMetricFamily": ("_sum", "_count", ""),
}


def exposed_names(kind: str, name: str) -> set[str]:
    """The series names prometheus_client exposes for a `kind` collector called `name`."""
    if kind.startswith("Counter") and name.endswith("_total"):
        name = name.removesuffix("_total")  # a Counter `x_total` is exposed as `x_total`
    return {name + suffix for suffix in SUFFIXES[kind]}


def constructed_metrics(source: str) -> set[str]:
    """Series names of the metric constructors called in one module's source."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        kind = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        first = node.args[0]
        if kind in SUFFIXES and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names |= exposed_names(kind, first.value)
    return names


@pytest.fixture(scope="module")
def exported() -> set[str]:
    names: set[str] = set()
    for src in SOURCES:
        for path in src.rglob("*.py"):
            names |= constructed_metrics(path.read_text(encoding="utf-8"))
    return names


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, object]]:
    return {name: json.loads(text) for name, text in dashboards.render_all().items()}


def queries() -> list[dashboards.PanelQuery]:
    return [
        query
        for text in dashboards.render_all().values()
        for query in dashboards.panel_queries(json.loads(text))
    ]


def substituted(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def parsed(expr: str) -> promql_parser.Expr:
    return promql_parser.parse(substituted(expr))


def selectors_and_labels(expr: str) -> tuple[set[str], set[str]]:
    """The metric names an expression selects, and every label name it mentions."""
    metrics: set[str] = set()
    labels: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                metrics.add(node.name)
            labels.update(m.name for m in node.matchers.matchers)
            labels.update(m.name for group in node.matchers.or_matchers for m in group)
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            if node.modifier.matching is not None:
                labels.update(node.modifier.matching.labels)
            labels.update(node.modifier.group_labels or ())

    promql_parser.walk(parsed(expr), visit)
    labels.discard("__name__")
    return metrics, labels


# ---- the committed files and the drift check ----


def test_committed_dashboards_do_not_drift():
    drifted = dashboards.drift(DASHBOARDS)  # `make dashboards-check`
    assert drifted == [], "\n".join(dashboards.drift_report(DASHBOARDS, drifted))


def test_the_default_directory_is_the_projects():
    assert dashboards.default_dashboard_dir() == DASHBOARDS


def test_render_is_deterministic_and_newline_terminated(boards):
    first, second = dashboards.render_all(), dashboards.render_all()
    assert first == second
    assert sorted(first) == [
        "herald-api.json",
        "herald-channel.json",
        "herald-kafka.json",
        "herald-overview.json",
    ]
    for name, text in first.items():
        assert text.endswith("}\n")
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
        assert boards[name]["uid"] == name.removesuffix(".json")


def test_drift_reports_an_altered_rendered_dashboard(tmp_path):
    assert dashboards.generate(tmp_path) == sorted(dashboards.render_all())
    assert dashboards.drift(tmp_path) == []
    # The generator changes (one panel's query), the committed files do not.
    rendered = dashboards.render_all()
    board = json.loads(rendered["herald-kafka.json"])
    board["panels"][1]["targets"][0]["expr"] = "sum(herald_consumer_lag_records)"
    altered = {**rendered, "herald-kafka.json": dashboards.dump(board)}
    drifted = dashboards.drift(tmp_path, altered)
    assert [(d.name, d.state) for d in drifted] == [("herald-kafka.json", "changed")]
    assert '+          "expr": "sum(herald_consumer_lag_records)",' in drifted[0].diff
    report = "\n".join(dashboards.drift_report(tmp_path, drifted))
    assert "changed: herald-kafka.json" in report


def test_drift_reports_missing_and_stale_files_and_generate_repairs_them(tmp_path):
    dashboards.generate(tmp_path)
    (tmp_path / "herald-api.json").unlink()
    (tmp_path / "old-board.json").write_text("{}\n", encoding="utf-8")
    overview = tmp_path / "herald-overview.json"
    overview.write_text(overview.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert [(d.name, d.state) for d in dashboards.drift(tmp_path)] == [
        ("herald-api.json", "missing"),
        ("herald-overview.json", "changed"),
        ("old-board.json", "stale"),
    ]
    changed = dashboards.generate(tmp_path)
    assert changed == ["herald-api.json", "herald-overview.json", "old-board.json"]
    assert dashboards.drift(tmp_path) == []
    assert not (tmp_path / "old-board.json").exists()


def test_the_cli_check_exits_1_on_drift_and_0_once_regenerated(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["dashboards", "--out", str(tmp_path)]).exit_code == 0
    checked = runner.invoke(app, ["dashboards", "--check", "--out", str(tmp_path)])
    assert checked.exit_code == 0, checked.output
    path = tmp_path / "herald-channel.json"
    path.write_text(path.read_text(encoding="utf-8").replace("herald_dlq_records", "x"), "utf-8")
    checked = runner.invoke(app, ["dashboards", "--check", "--out", str(tmp_path)])
    assert checked.exit_code == 1
    assert "changed: herald-channel.json" in checked.output
    assert "herald_dlq_records" in checked.output  # the diff's first lines
    assert runner.invoke(app, ["dashboards", "--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["dashboards", "--check", "--out", str(tmp_path)]).exit_code == 0


# ---- what the dashboards hold ----


def test_uids_are_unique_and_stable(boards):
    uids = [board["uid"] for board in boards.values()]
    assert len(set(uids)) == len(uids) == 4
    assert set(uids) == {"herald-overview", "herald-channel", "herald-kafka", "herald-api"}


def test_every_dashboard_has_panels_with_unique_ids(boards):
    for name, board in boards.items():
        panels = [p for p in board["panels"] if p["type"] != "row"]
        assert len(panels) >= 5, name
        ids = [p["id"] for p in board["panels"]]
        assert len(set(ids)) == len(ids), name


def test_every_panel_has_a_target_with_an_expression(boards):
    for name, board in boards.items():
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            exprs = [t.get("expr", "").strip() for t in panel.get("targets", [])]
            assert exprs, f"{name}: {panel['title']} has no target"
            assert all(exprs), f"{name}: {panel['title']} has an empty expression"
            ref_ids = [t["refId"] for t in panel["targets"]]
            assert all(ref_ids), panel["title"]
            assert len(set(ref_ids)) == len(ref_ids), panel["title"]


def test_panel_queries_lists_every_target(boards):
    found = queries()
    targets = sum(len(p.get("targets", [])) for b in boards.values() for p in b["panels"])
    assert len(found) == targets >= 40
    assert {q.dashboard_uid for q in found} == {b["uid"] for b in boards.values()}
    latency = [q for q in found if q.panel_title == "Receiver response time"]
    assert [q.ref_id for q in latency] == ["A", "B"]
    assert "herald_sender_response_seconds_bucket" in latency[1].expr


def test_panel_queries_reads_collapsed_rows():
    board = {
        "uid": "u",
        "panels": [
            {
                "type": "row",
                "title": "r",
                "panels": [{"title": "p", "targets": [{"refId": "A", "expr": "up"}]}],
            }
        ],
    }
    assert dashboards.panel_queries(board) == [dashboards.PanelQuery("u", "p", "A", "up")]


def test_every_panel_and_target_uses_the_datasource_variable(boards):
    for name, board in boards.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, name
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_the_channel_dashboard_has_a_channel_variable(boards, exported):
    variables = {v["name"]: v for v in boards["herald-channel.json"]["templating"]["list"]}
    assert variables["channel"]["type"] == "query"
    assert variables["channel"]["datasource"]["uid"] == "${datasource}"
    # Every running sender reports its DLQ depth from its start, traffic or not.
    assert variables["channel"]["query"] == "label_values(herald_dlq_records, channel)"
    assert "herald_dlq_records" in exported
    channel_queries = [q for q in queries() if q.dashboard_uid == "herald-channel"]
    assert all("$channel" in q.expr for q in channel_queries)


@pytest.mark.parametrize("query", queries(), ids=lambda q: f"{q.dashboard_uid}:{q.panel_title}")
def test_every_expression_is_valid_promql_on_exported_metrics(query, exported):
    assert "$" not in substituted(query.expr), "a variable the panel-data test does not set"
    metrics, labels = selectors_and_labels(query.expr)
    assert metrics, "selects no metric"
    assert metrics <= exported, f"not exported by any service: {sorted(metrics - exported)}"
    assert not labels & PER_TENANT_LABELS, f"per-app or per-notifier label: {labels}"


def test_the_label_and_metric_readers_can_fail(exported):
    metrics, labels = selectors_and_labels(
        'sum by (app_id) (rate(herald_made_up_total{notifier="n"}[$__rate_interval])) '
        "/ on (app) group_left (notifier_id) herald_dlq_records"
    )
    assert metrics == {"herald_made_up_total", "herald_dlq_records"}
    assert labels & PER_TENANT_LABELS == {"app_id", "notifier", "app", "notifier_id"}
    assert "herald_made_up_total" not in exported
    with pytest.raises(ValueError, match=r".+"):
        parsed("sum(rate(herald_notifications_total[$__rate_interval])")  # unbalanced


def test_exported_names_follow_prometheus_client_naming(exported):
    assert {
        "herald_notifications_total",  # Counter("herald_notifications_total")
        "herald_task_restarts_total",  # Counter("herald_task_restarts"): _total added
        "herald_sender_response_seconds_bucket",  # Histogram
        "herald_sender_response_seconds_count",
        "herald_dlq_records",  # Gauge
        "herald_consumer_lag_records",
        "herald_api_notifier_commands_total",  # built inside a handler, not a metrics module
    } <= exported
    assert "herald_sender_response_seconds" not in exported  # a histogram has no bare series
    assert "herald_task_restarts" not in exported


# ---- provisioning ----


def test_the_dashboard_provider_reads_files():
    document = yaml.safe_load((PROVISIONING / "dashboards" / "herald.yaml").read_text())
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
    assert provider["folder"] == "Herald"


def test_the_datasource_is_a_prometheus():
    document = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())
    assert document["apiVersion"] == 1
    [source] = document["datasources"]
    assert source["type"] == "prometheus"
    assert source["access"] == "proxy"
    assert source["url"].startswith("http")
