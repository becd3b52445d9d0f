"""The Helm chart run as rendered: every Job and Deployment container of `helm template`'s output,
as local processes against a local Kafka, Postgres and sinks (no cluster here).

The chart is rendered for deploy/helm/values/minimal.yaml plus tests/integration/
helm-smoke-values.yaml (which says why each of its few values is there: webhooks on loopback).
`herald_devstack.smoke.helm` reads each container's command, arguments and environment with the
rendered Secrets resolved and its mounted files; what changes when it runs here is listed in
docs/deploy.md: the host names (the broker, Postgres, the SMTP server, the Services' cluster
names), each service's port (all would listen on 8080), and the image's and emptyDir folders.

The topic and migration Jobs run first and must exit 0; then one process per Deployment, each
ready on its readiness probe. An app and a webhook notifier created through the API with the
admin token of the rendered Secret, and an event posted to ingest with the Secret's producer
token, become a webhook. Then a burst of events is posted while every process gets SIGTERM,
and each must exit 0 within the pod's `terminationGracePeriodSeconds`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from herald_devstack.admin import ConfigApi, notifier_body, post_event, sample_event
from herald_devstack.cli import config_published
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.http_sink import read_requests
from herald_devstack.smoke.helm import empty_dir_paths, process_specs, service_addresses
from herald_devstack.smoke.runner import SmokeRun
from herald_devstack.stack import Stack
from herald_testing.polling import until

from support.helm_smoke import NAMESPACE, ROOT, helm_target, render
from support.settings_names import unknown_settings
from support.smoke_burst import stop_during_burst, stopped_line

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def infra() -> Iterator[Stack]:
    """Kafka, Postgres, the SMTP and webhook sinks of a local stack, and none of its services:
    the chart's containers are the services, and its topic job creates the topics."""
    with stack_on_free_ports([], prefix="herald-helm-smoke-", topics=False) as stack:
        yield stack


@pytest.mark.timeout(300)
def test_the_rendered_chart_delivers_and_stops_cleanly(infra: Stack, tmp_path: Path) -> None:
    rendered = render()
    specs = process_specs(rendered)
    services = {s.name for s in specs if not s.job}
    assert {s.name for s in specs if s.job} == {"herald-topics", "herald-migrate"}
    assert {"herald-api", "herald-ingest", "herald-router", "herald-sender-webhook"} <= services
    assert len(services) == rendered.count("\nkind: Deployment\n")  # one container each
    empty_dirs = empty_dir_paths(rendered)
    target = helm_target(
        kafka=infra.kafka_settings().bootstrap_servers,
        postgres=f"127.0.0.1:{infra.settings.postgres_port}",
        smtp=f"127.0.0.1:{infra.settings.smtp_port}",
        volumes=tmp_path / "volumes",
        empty_dirs=empty_dirs,
    )
    for mount in empty_dirs:  # each pod gets its emptyDir volumes created, empty
        Path(target.paths[mount]).mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with SmokeRun(
        specs,
        target,
        tmp_path / "run",
        service_addresses=service_addresses(rendered, NAMESPACE),
        cwd=ROOT,
        check_env=unknown_settings,
        progress=lambda line: print(f"  {line}"),
    ) as run:
        print(f"  {len(specs)} containers done or ready in {time.monotonic() - started:.1f}s")
        created = re.search(r"create (\d+) topics", run.log("herald-topics"))
        assert created, run.log("herald-topics")
        assert int(created[1]) > 0, run.log("herald-topics")
        print(f"  the topic job created {created[1]} topics")
        api_spec = next(s for s in specs if s.name == "herald-api")
        ingest_spec = next(s for s in specs if s.name == "herald-ingest")
        # The credentials the chart generated into its Secret, as the pods get them.
        admin_token = api_spec.env["HERALD_API_ADMIN_TOKEN"]
        token_file = ingest_spec.env["HERALD_INGEST_AUTH__TOKEN_FILE"]
        token = ingest_spec.files[token_file].decode().split()[0]

        api = ConfigApi(run.url("herald-api"), admin_token)
        app_id = f"helm-{secrets.token_hex(4)}"
        api.ensure_app(app_id, "u-helm")
        hook = api.create_notifier(
            app_id,
            notifier_body(
                platform="webhook",
                url=f"{infra.webhook_sink_url}/{app_id}",
                events=["app_deployed"],
                send_all=False,
                name="hook",
            ),
        )
        kafka = infra.kafka_settings("helm-smoke-test")
        assert asyncio.run(config_published(kafka, hook["id"], timeout_s=60)), hook

        status, _ = post_event(run.url("herald-ingest"), sample_event(app_id, "app_deployed"))
        assert status == 401, "ingest must refuse an event without a producer token"
        event = sample_event(app_id, "app_deployed")
        status, answer = post_event(run.url("herald-ingest"), event, token)
        assert status == 202, answer
        hooks = until(
            lambda: [r for r in read_requests(infra.webhook_dir) if r["path"] == f"/{app_id}"],
            90,
            "webhook",
        )
        assert event["id"] in str(hooks[0]["body"])
        print(f"  webhook delivered {time.monotonic() - started:.1f}s after the start")

        # A burst of events in flight while every process is told to stop.
        results, burst_statuses = stop_during_burst(run, run.url("herald-ingest"), app_id, token)

    print(stopped_line(results, burst_statuses) + f"; total {time.monotonic() - started:.1f}s")
    assert {r.name for r in results} == services
    unclean = [r for r in results if not r.clean]
    assert not unclean, unclean
    assert set(burst_statuses) <= {202, 503}, burst_statuses
