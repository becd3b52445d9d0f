"""docker-compose.yml run as described: every Herald container's command and environment, as
local processes against a local Kafka, Postgres and sinks (no Docker engine here).

What changes from the file is listed in docs/deploy.md: the host names of the third-party
containers and each service's port (all would listen on 8080), nothing else. Every service must
become ready on its healthcheck's path; an app and a webhook notifier created through the API
with the admin token of the test's `.env` (at the address the compose file gives the webhook
sink) and an event posted to ingest with the producer token become a webhook; an e-mail's
unsubscribe link opens on the API. Then a burst of events is posted while every service gets
SIGTERM, and each must exit 0 within its `stop_grace_period`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values
from herald_devstack.admin import ConfigApi, notifier_body, post_event, sample_event
from herald_devstack.cli import config_published
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.http_sink import read_requests
from herald_devstack.smoke.compose import (
    compose_specs,
    compose_target,
    image_config,
    load_compose,
    service_addresses,
    webhook_sink_address,
)
from herald_devstack.smoke.runner import SmokeRun, local_address
from herald_devstack.smtp_sink import read_messages
from herald_devstack.stack import Stack
from herald_testing.polling import until

from support.settings_names import unknown_settings
from support.smoke_burst import stop_during_burst, stopped_line

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _test_env(path: Path) -> dict[str, str | None]:
    """A `.env` as an operator writes it from .env.example: every secret a fresh random one."""
    example = dotenv_values(ROOT / ".env.example")
    values = {key: secrets.token_hex(16) for key in example}
    values["HERALD_API_ADMIN_TOKEN"] = "hrld_" + secrets.token_hex(16)
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return dotenv_values(path)


@pytest.fixture(scope="module")
def infra() -> Iterator[Stack]:
    """Kafka, Postgres, the SMTP and webhook sinks of a local stack, and none of its services:
    the compose file's containers are the services."""
    with stack_on_free_ports([], prefix="herald-compose-smoke-") as stack:
        yield stack


@pytest.mark.timeout(300)
def test_the_compose_stack_delivers_and_stops_cleanly(infra: Stack, tmp_path: Path) -> None:
    variables = _test_env(tmp_path / ".env")
    document = load_compose(ROOT / "docker-compose.yml", variables)
    specs = compose_specs(
        document, image_config(ROOT / "Dockerfile"), project_dir=ROOT, variables=variables
    )
    target = compose_target(
        document,
        kafka=infra.kafka_settings().bootstrap_servers,
        postgres=f"127.0.0.1:{infra.settings.postgres_port}",
        smtp=f"127.0.0.1:{infra.settings.smtp_port}",
        webhook_sink=f"127.0.0.1:{infra.settings.webhook_sink_port}",
        checkout=ROOT,
    )
    started = time.monotonic()
    with SmokeRun(
        specs,
        target,
        tmp_path / "run",
        service_addresses=service_addresses(document, specs),
        cwd=ROOT,
        check_env=unknown_settings,
        progress=lambda line: print(f"  {line}"),
    ) as run:
        print(f"  {len(specs)} containers ready in {time.monotonic() - started:.1f}s")
        services = {s.name for s in specs if not s.job}
        assert {"ingest", "api", "router", "sender-webhook", "sender-email"} <= services
        assert {"topic-init", "migrate"} == {s.name for s in specs if s.job}

        api = ConfigApi(run.url("api"), str(variables["HERALD_API_ADMIN_TOKEN"]))
        app_id = f"compose-{secrets.token_hex(4)}"
        api.ensure_app(app_id, "u-compose")
        # the address docker-compose.yml documents for its webhook sink, mapped like the rest
        hook_url = local_address(
            f"http://{webhook_sink_address(document)}/{app_id}", run.local_target
        )
        hook = api.create_notifier(
            app_id,
            notifier_body(
                platform="webhook",
                url=hook_url,
                events=["app_deployed"],
                send_all=False,
                name="hook",
            ),
        )
        mail_body = notifier_body(
            platform="email", url="", events=["app_deployed"], send_all=False, name="mail"
        )
        mail_body["notifier"]["type_data"] = {"emails": [f"ops-{app_id}@example.com"]}
        mail = api.create_notifier(app_id, mail_body)
        kafka = infra.kafka_settings("compose-smoke-test")
        for notifier in (hook, mail):
            assert asyncio.run(config_published(kafka, notifier["id"], timeout_s=60)), notifier

        token = str(variables["HERALD_INGEST_TOKENS"]).splitlines()[0]
        status, _ = post_event(run.url("ingest"), sample_event(app_id, "app_deployed"), None)
        assert status == 401, "ingest must refuse an event without a producer token"
        event = sample_event(app_id, "app_deployed")
        status, answer = post_event(run.url("ingest"), event, token)
        assert status == 202, answer

        hooks = until(
            lambda: [r for r in read_requests(infra.webhook_dir) if r["path"] == f"/{app_id}"],
            90,
            "webhook",
        )
        assert event["id"] in str(hooks[0]["body"])
        mails = until(
            lambda: [m for m in read_messages(infra.mail_dir) if app_id in str(m["To"])],
            90,
            "e-mail",
        )
        unsubscribe = str(mails[0]["List-Unsubscribe"]).strip("<>")
        assert unsubscribe.startswith(run.url("api", "/v1/unsubscribe/")), unsubscribe
        with urllib.request.urlopen(unsubscribe, timeout=10) as page:
            assert page.status == 200  # the API's page whose button unsubscribes

        # A burst of events in flight while every process is told to stop.
        results, burst_statuses = stop_during_burst(run, run.url("ingest"), app_id, token)

    print(stopped_line(results, burst_statuses))
    assert {r.name for r in results} == services
    unclean = [r for r in results if not r.clean]
    assert not unclean, unclean
    assert set(burst_statuses) <= {202, 503}, burst_statuses
