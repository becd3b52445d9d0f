"""The local stack with `kafka_security=sasl_ssl`: every service it runs reaches the broker over
SASL_SSL (SCRAM-SHA-512, the broker's certificate checked against the stack's CA), and an
event posted to ingest becomes both a signed webhook (verified with the `standardwebhooks`
package) and an e-mail.

The stack is the session's `secured_stack` (tests/integration/conftest.py), which
tests/integration/test_stack_prometheus.py scrapes too.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from herald_devstack.admin import ConfigApi, notifier_body, post_event, sample_event
from herald_devstack.cli import config_published
from herald_devstack.http_sink import read_requests
from herald_devstack.smtp_sink import read_messages
from herald_devstack.stack import Stack
from herald_testing.polling import until
from standardwebhooks import Webhook

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _environ(stack: Stack, name: str) -> dict[str, str]:
    pid = stack.process(name).pid()
    assert pid is not None, name
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


@pytest.mark.timeout(300)  # Kafka, Postgres and seven services from cold (the first user)
def test_webhook_and_email_over_a_sasl_ssl_broker(secured_stack: Stack) -> None:
    stack = secured_stack
    secure = f"127.0.0.1:{stack.settings.kafka_secure_port}"
    for spec in stack.services:  # each service was told the secured listener, not the plain one
        env = _environ(stack, spec.name)
        p = f"{spec.env_prefix}KAFKA__"
        assert env[f"{p}BOOTSTRAP_SERVERS"] == secure, spec.name
        assert env[f"{p}SECURITY_PROTOCOL"] == "SASL_SSL", spec.name
        assert env[f"{p}SASL_MECHANISM"] == "SCRAM-SHA-512", spec.name
        assert Path(env[f"{p}SASL_PASSWORD_FILE"]).is_relative_to(stack.settings.home)
        assert Path(env[f"{p}SSL_CAFILE"]).is_file()
        assert f"{p}SSL_CHECK_HOSTNAME" not in env  # the default: certificates are verified

    api = ConfigApi(stack.api_url, stack.settings.api_admin_token)
    app_id = f"secured-{int(time.time())}"
    api.ensure_app(app_id, "u-dev")
    hook_url = f"{stack.webhook_sink_url}/{app_id}"
    hook_body = notifier_body(
        platform="webhook",
        url=hook_url,
        events=["app_deployed"],
        send_all=False,
        name="secured webhook",
    )
    key = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    hook_body["notifier"]["type_data"]["secret"] = key
    hook = api.create_notifier(app_id, hook_body)
    mail_body = notifier_body(
        platform="email", url="", events=["app_deployed"], send_all=False, name="mail"
    )
    mail_body["notifier"]["type_data"] = {"emails": ["ops@example.com"]}
    mail = api.create_notifier(app_id, mail_body)
    # the API's outbox publishes them (read back here over SASL_SSL too); the router applies them
    kafka = stack.kafka_settings("secstack-test")
    for notifier in (hook, mail):
        assert asyncio.run(config_published(kafka, notifier["id"], timeout_s=30)), notifier
    time.sleep(1)

    status, answer = post_event(
        stack.ingest_url, sample_event(app_id, "app_deployed"), stack.settings.ingest_token
    )
    assert status == 202, answer
    event_id = answer["id"]

    hooks = until(
        lambda: [r for r in read_requests(stack.webhook_dir) if r["path"] == f"/{app_id}"],
        60,
        "webhook",
    )
    Webhook(key).verify(str(hooks[0]["body"]), dict(hooks[0]["headers"]))  # raises if not
    assert event_id in str(hooks[0]["body"])
    mails = until(
        lambda: [m for m in read_messages(stack.mail_dir) if "ops@example.com" in str(m["To"])],
        60,
        "mail",
    )
    assert mails[0]["X-Herald-Rcpt-To"] == "ops@example.com"
    assert app_id in str(mails[0]["Subject"]), mails[0]["Subject"]

    status_out = subprocess.run(
        [sys.executable, "-m", "herald_devstack", "status"],
        env={**os.environ, "HERALD_DEV_HOME": str(stack.settings.home), "COLUMNS": "250"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "sasl_ssl" in status_out.stdout, status_out.stdout + status_out.stderr
