"""Chaos scenarios: the whole stack as real processes, faults injected, the ledger's verdict.

One stack per run of this folder (`Stack` on free ports in a temporary home, as `herald-dev
up` starts it, without the services no scenario uses: derive, alerter, and in a short run
the e-mail and chat senders), started by the first
scenario and stopped after the last one (package scope), so the rest of `make test` does not
run beside it. One receiver for every scenario, webhooks and chat posts alike. In a full run
the e-mail sender mails the port of `ledger_smtp_port` (where the SMTP scenarios put their
receiver), the webhook sender gives up on a request after 5 s (the network scenarios hold
requests longer), and the chat sender (one process for every chat channel; the scenarios use
Slack, Mattermost, Rocket.Chat, Discord, Teams and Google Chat) runs with the webhook sender's
retry tiers and limits (the chat scenario's notifiers post to the receiver on loopback, which
the stack allows).

The broker sits behind a fault proxy (`broker_proxy`, healthy unless a scenario breaks it): it
advertises the proxy's port, so every Kafka client goes through it, the services' and this
process's own (the lag watch, the DLQ reads; the lag watch counts a failed sample and goes on,
the DLQ is read after the fault is healed). The proxy runs in a thread of its own, so the
link flows whatever the test's event loop is doing. Forwarding on loopback costs the short run
no measurable time.

Which scenarios run: without `HERALD_CHAOS=full` only those marked `chaos_short` are collected
(the others are deselected, not skipped): that is what `make test` and `make chaos-short` run.
`make chaos` sets `HERALD_CHAOS=full`: every scenario, with the longer profile.

At the end of the run the ledger's table (one row per scenario) is printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.processes import free_port
from herald_devstack.stack import Stack
from herald_testing.fault_proxy_thread import ThreadedFaultProxy
from herald_testing.ledger_receiver import LedgerReceiver
from herald_testing.ledger_table import Row, render_table

from chaos.chat_trial import CHAT_SERVICES
from chaos.harness import FULL, SHORT, Chaos, Profile
from chaos.selection import keep_short_only

FULL_RUN = os.environ.get("HERALD_CHAOS", "").strip().lower() == "full"
HERE = Path(__file__).resolve().parent
SERVICES = ("api", "ingest", "router", "recorder", "sender-webhook")
FULL_SERVICES = (*SERVICES, "sender-email", *CHAT_SERVICES)
SENDER_ENV = {
    # Retries scaled down from 10s … 6h so that a run takes seconds; the receiver is one host
    # standing for many endpoints, so the per-host limits are lifted.
    "HERALD_SENDER_RETRY_DELAYS_S": "[1, 2, 4, 8, 16]",
    "HERALD_SENDER_ENDPOINT_RATE_PER_S": "0",
    "HERALD_SENDER_ENDPOINT_CONCURRENCY": "64",
}
SERVICE_ENV = {
    "sender-webhook": SENDER_ENV,
    "ingest": {"HERALD_INGEST_READINESS_PROBE_S": "0.5"},
    "api": {"HERALD_API_READINESS_PROBE_S": "0.5", "HERALD_API_RELAY_POLL_S": "0.2"},
}
FULL_WEBHOOK_ENV = {"HERALD_SENDER_REQUEST_TIMEOUT_S": "5"}
EMAIL_RETRY_DELAYS_S = "[5, 10, 20, 40, 80]"
"""155 s in all: a delivery first refused at any time of a 2-minute SMTP outage still has a try
left after it."""
ROWS: list[Row] = []
STARTED: dict[str, float] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not FULL_RUN:
        keep_short_only(config, items, HERE, "chaos_short")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    mode = "full" if FULL_RUN else "short"
    # From the stack's start to its stop: the chaos scenarios' share of a longer session.
    took = STARTED.get("ended", time.monotonic()) - STARTED.get("at", time.monotonic())
    terminalreporter.write_line("")
    terminalreporter.write(
        render_table(ROWS, title=f"Delivery ledger ({mode} run, {took:.0f} s with the stack)")
    )


def full_service_env(smtp_port: int) -> dict[str, dict[str, str]]:
    """The full run's settings: the short run's, a webhook request timeout, the e-mail and chat
    senders'."""
    webhook = {**SERVICE_ENV["sender-webhook"], **FULL_WEBHOOK_ENV}
    email = {
        "HERALD_SENDER_RETRY_DELAYS_S": EMAIL_RETRY_DELAYS_S,
        "HERALD_SENDER_SMTP__PORT": str(smtp_port),
        "HERALD_SENDER_SMTP__TIMEOUT_S": "3",
    }
    chat = {name: SENDER_ENV for name in CHAT_SERVICES}
    return {**SERVICE_ENV, **chat, "sender-webhook": webhook, "sender-email": email}


@pytest.fixture(scope="package")
def ledger_smtp_port() -> int:
    """Where the stack's e-mail sender (full run) mails: the SMTP scenarios listen there."""
    return free_port()


@pytest.fixture(scope="package")
def broker_proxy() -> Iterator[ThreadedFaultProxy]:
    """The fault proxy in front of the stack's broker, whose port the broker advertises; a
    scenario that breaks it heals it before it ends. Started before the stack, stopped after."""
    with ThreadedFaultProxy("127.0.0.1", free_port()) as proxy:
        yield proxy


@pytest.fixture(scope="package")
def chaos_stack(ledger_smtp_port: int, broker_proxy: ThreadedFaultProxy) -> Iterator[Stack]:
    STARTED.setdefault("at", time.monotonic())
    services, env = (
        (FULL_SERVICES, full_service_env(ledger_smtp_port)) if FULL_RUN else (SERVICES, SERVICE_ENV)
    )
    try:
        # the broker's client port behind the proxy, which it advertises
        with stack_on_free_ports(
            services,
            prefix="herald-chaos-",
            service_env=env,
            kafka_port=broker_proxy.target[1],
            kafka_advertised_port=broker_proxy.port,
        ) as stack:
            yield stack
    finally:
        STARTED["ended"] = time.monotonic()


@pytest.fixture(scope="package")
def profile() -> Profile:
    return FULL if FULL_RUN else SHORT


@pytest.fixture(scope="package")
async def chaos(chaos_stack: Stack, profile: Profile) -> AsyncIterator[Chaos]:
    receiver = await LedgerReceiver().start()
    async with aiohttp.ClientSession() as http:
        yield Chaos(chaos_stack, receiver, http, profile, ROWS)
    await receiver.stop()
