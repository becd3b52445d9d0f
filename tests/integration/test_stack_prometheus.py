"""Prometheus in the local stack, as `herald-dev up` runs it: the pinned server scrapes every
service instance, loads Herald's alert rules, follows a scale change, and every panel of the
committed Grafana dashboards (deploy/grafana/dashboards) returns data through its HTTP API once
traffic went through the stack.

The stack is the session's `secured_stack` (tests/integration/conftest.py): Prometheus scrapes
it every second.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from herald_devstack.admin import ConfigApi, notifier_body, post_event, sample_event
from herald_devstack.http_sink import read_requests
from herald_devstack.prometheus import COMPOSE_CONFIG, compose_job_names, job_names
from herald_devstack.smtp_sink import read_messages
from herald_devstack.stack import CHAT_CHANNELS, CHAT_SENDER, Stack
from herald_testing.polling import until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "herald.rules.yml"
# What Grafana puts in place of its variables; `$channel` is each channel the traffic goes
# through: webhooks (a sender of its own) and Slack (in the one process of every chat channel).
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "5s",
    "$__range": "5m",
}
CHANNELS = ("webhook", "slack")
EVENTS = 12


def query(stack: Stack, expr: str) -> list[dict[str, Any]]:
    """The instant vector (or scalar, as one sample) Prometheus answers for `expr`."""
    url = f"{stack.prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}]
    return list(data["result"])


def finite(samples: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(sample["value"][1])) for sample in samples)


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


def panel_targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expression) of every query of every panel, rows' nested panels too."""
    for panel in dashboard.get("panels", []):
        yield from panel_targets(panel)
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield str(panel.get("title", "")), str(target["expr"])


def with_variables(expr: str, channel: str) -> str:
    for name, value in {**GRAFANA_VARIABLES, "${channel}": channel, "$channel": channel}.items():
        expr = expr.replace(name, value)
    return expr


def all_targets_up(stack: Stack) -> bool:
    up, total = stack.prometheus.targets_up()
    return total == len(stack.scrape_targets()) and up == total


def test_prometheus_scrapes_every_instance_loads_the_rules_and_follows_scaling(
    secured_stack: Stack,
) -> None:
    stack = secured_stack
    config = yaml.safe_load(stack.prometheus.config_file.read_text())
    jobs = job_names(config)
    assert jobs == [spec.name for spec in stack.services]
    combined = {CHAT_SENDER: [channel.value for channel in CHAT_CHANNELS]}
    compose_jobs = set(compose_job_names(yaml.safe_load(COMPOSE_CONFIG.read_text()), combined))
    assert set(jobs) <= compose_jobs, "a local job the compose configuration does not scrape"
    until(lambda: all_targets_up(stack), 60, "every instance scraped and up")
    active = get_json(f"{stack.prometheus.url}/api/v1/targets?state=active")["data"]
    by_name = {t["labels"]["instance_name"]: t["labels"] for t in active["activeTargets"]}
    assert by_name["sender-webhook"]["channel"] == "webhook"
    assert by_name["router"]["job"] == "router"
    # every chat channel in one process: no `channel` of the target's, its metrics carry theirs
    assert by_name[CHAT_SENDER]["job"] == CHAT_SENDER
    assert "channel" not in by_name[CHAT_SENDER]

    rules = get_json(f"{stack.prometheus.url}/api/v1/rules?type=alert")["data"]["groups"]
    loaded = {rule["name"] for group in rules for rule in group["rules"]}
    written = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert written
    assert loaded == written

    parts = {part.name: part for part in stack.status()}
    assert parts["prometheus"].running
    assert parts["prometheus"].detail.endswith(" targets up"), parts["prometheus"]

    stack.scale_to("router", 2)  # the configuration is rewritten and reloaded
    try:
        until(lambda: "router-2" in names_up(stack), 60, "router-2 scraped")
    finally:
        stack.scale_to("router", 1)
    until(lambda: "router-2" not in names_up(stack, every=True), 60, "router-2 dropped")


def names_up(stack: Stack, *, every: bool = False) -> set[str]:
    active = get_json(f"{stack.prometheus.url}/api/v1/targets?state=active")["data"]
    return {
        t["labels"]["instance_name"]
        for t in active["activeTargets"]
        if every or t["health"] == "up"
    }


def send_traffic(stack: Stack) -> None:
    """A webhook, a Slack and an e-mail notifier, `EVENTS` events through ingest, all
    delivered (the Slack posts to the webhook sink, which records any path)."""
    api = ConfigApi(stack.api_url, stack.settings.api_admin_token)
    app_id = f"observed-{int(time.time())}"
    api.ensure_app(app_id, "u-dev")
    api.create_notifier(
        app_id,
        notifier_body(
            platform="webhook",
            url=f"{stack.webhook_sink_url}/{app_id}",
            events=["app_deployed"],
            send_all=False,
            name="observed webhook",
        ),
    )
    api.create_notifier(
        app_id,
        notifier_body(
            platform="slack",
            url=f"{stack.webhook_sink_url}/slack/{app_id}",
            events=["app_deployed"],
            send_all=False,
            name="observed slack",
        ),
    )
    mail = notifier_body(
        platform="email", url="", events=["app_deployed"], send_all=False, name="mail"
    )
    mail["notifier"]["type_data"] = {"emails": ["observed@example.com"]}
    api.create_notifier(app_id, mail)

    def hooks() -> list[Any]:
        return [r for r in read_requests(stack.webhook_dir) if r["path"] == f"/{app_id}"]

    # the router applies the new notifiers within a moment: post until the first one lands
    def first_delivered() -> bool:
        status, answer = post_event(
            stack.ingest_url, sample_event(app_id, "app_deployed"), stack.settings.ingest_token
        )
        assert status == 202, answer
        time.sleep(1)
        return bool(hooks())

    until(first_delivered, 60, "the first webhook")
    sent = 0
    while sent < EVENTS:
        status, answer = post_event(
            stack.ingest_url, sample_event(app_id, "app_deployed"), stack.settings.ingest_token
        )
        assert status == 202, answer
        sent += 1
    until(lambda: len(hooks()) > EVENTS, 60, f"{EVENTS} more webhooks")
    until(
        lambda: [r for r in read_requests(stack.webhook_dir) if r["path"] == f"/slack/{app_id}"],
        60,
        "the Slack posts",
    )
    until(
        lambda: [m for m in read_messages(stack.mail_dir) if "observed@" in str(m["To"])],
        60,
        "the e-mails",
    )


def test_every_dashboard_panel_returns_data_after_traffic(secured_stack: Stack) -> None:
    stack = secured_stack
    files = sorted(DASHBOARDS.glob("*.json"))
    assert files, f"no dashboard in {DASHBOARDS}"
    until(lambda: all_targets_up(stack), 60, "every instance scraped and up")
    send_traffic(stack)
    time.sleep(3 * stack.settings.prometheus_scrape_interval_s)  # the last scrapes land

    queries = [
        (path.stem, title, with_variables(expr, channel))
        for path in files
        for title, expr in panel_targets(json.loads(path.read_text()))
        for channel in (CHANNELS if "channel}" in expr or "$channel" in expr else CHANNELS[:1])
    ]
    assert len(queries) >= len(files) * 3, queries

    def empty_ones() -> list[str]:
        return [
            f"{dashboard} / {title}: {expr}"
            for dashboard, title, expr in queries
            if not finite(query(stack, expr))
        ]

    # a rate needs two scrapes of the new values and a sampled gauge (lag, DLQ depth) its
    # first sample: a few seconds
    empty: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        empty = empty_ones()
        if not empty:
            break
        time.sleep(2)
    assert not empty, "panels without data:\n" + "\n".join(empty)
    # the senders' own `channel` label is kept (honor_labels), not renamed beside the target's
    assert query(stack, 'count(herald_notifications_total{channel="webhook"})')
    assert query(
        stack, f'count(herald_notifications_total{{channel="slack", job="{CHAT_SENDER}"}})'
    )
    assert not query(stack, '{__name__=~"herald_.+", exported_channel!=""}')
