"""Ledger runs on a three-broker Kafka cluster: the whole stack as processes (`Stack` with
`brokers=3` on free ports in a temporary home, so the topics get the prod profile: replication
factor 3, min.insync.replicas=2, unclean leader election off), a broker lost under load, and
the ledger's verdict: no loss, no phantom; duplicates and the recovery time reported.

Services: api, ingest, router, recorder and the webhook sender (with the chaos runs' scaled-down
retry delays), every one bootstrapping from the three brokers. No fault proxy: the faults are
the brokers' own processes (`KafkaCluster.kill`, `terminate`).

Which runs: without `HERALD_CLUSTER=full` only the scenarios marked `cluster_short` are
collected (the others are deselected), with the short load (~2 000 events): that is what `make
test` runs. `make cluster` sets `HERALD_CLUSTER=full`: every scenario, ~20 000 events each.

At the end of the run the ledger's table is printed, then each run's fault and recovery figures
(herald_testing.recovery: the recovery time is from the fault until the last late delivery
arrived).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.stack import Stack
from herald_testing.ledger_receiver import LedgerReceiver
from herald_testing.ledger_table import Row, render_table

from chaos.harness import Chaos, Profile
from chaos.selection import keep_short_only
from cluster.broker_faults import FIGURES

FULL_RUN = os.environ.get("HERALD_CLUSTER", "").strip().lower() == "full"
HERE = Path(__file__).resolve().parent
SERVICES = ("api", "ingest", "router", "recorder", "sender-webhook")
SERVICE_ENV = {
    # Retries scaled down from 10s … 6h so that a run takes minutes; the receiver is one host
    # standing for many endpoints, so the per-host limits are lifted.
    "sender-webhook": {
        "HERALD_SENDER_RETRY_DELAYS_S": "[1, 2, 4, 8, 16]",
        "HERALD_SENDER_ENDPOINT_RATE_PER_S": "0",
        "HERALD_SENDER_ENDPOINT_CONCURRENCY": "64",
    },
    "ingest": {"HERALD_INGEST_READINESS_PROBE_S": "0.5"},
    "api": {"HERALD_API_READINESS_PROBE_S": "0.5", "HERALD_API_RELAY_POLL_S": "0.2"},
}
SHORT = Profile(full=False, rate_per_s=40, seconds=50, apps=12, settle_timeout_s=180)
"""2 000 events. The load generator posts each app's events one after the other (their order
on notify.events), so the apps share the rate: with acks=all on three brokers a POST takes
longer than on one, and too few apps would queue the load in the generator."""
FULL = Profile(full=True, rate_per_s=75, seconds=268, apps=40, settle_timeout_s=600)
"""20 100 events, at a rate the stack on three brokers keeps up with on a shared 2-core machine
(at 150 events/s it fell behind before any fault: docs/guarantees.md)."""
ROWS: list[Row] = []
STARTED: dict[str, float] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not FULL_RUN:
        keep_short_only(config, items, HERE, "cluster_short")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    mode = "full" if FULL_RUN else "short"
    took = STARTED.get("ended", time.monotonic()) - STARTED.get("at", time.monotonic())
    terminalreporter.write_line("")
    terminalreporter.write(
        render_table(
            ROWS, title=f"Delivery ledger, 3 brokers ({mode} run, {took:.0f} s with the stack)"
        )
    )
    for line in FIGURES:
        terminalreporter.write_line(line)


@pytest.fixture(scope="package")
def cluster_stack() -> Iterator[Stack]:
    STARTED.setdefault("at", time.monotonic())
    try:
        with stack_on_free_ports(
            SERVICES, prefix="herald-cluster-", service_env=SERVICE_ENV, brokers=3
        ) as stack:
            yield stack
    finally:
        STARTED["ended"] = time.monotonic()


@pytest.fixture(scope="package")
def profile() -> Profile:
    return FULL if FULL_RUN else SHORT


@pytest.fixture(scope="package")
async def chaos(cluster_stack: Stack, profile: Profile) -> AsyncIterator[Chaos]:
    receiver = await LedgerReceiver().start()
    async with aiohttp.ClientSession() as http:
        yield Chaos(cluster_stack, receiver, http, profile, ROWS)
    await receiver.stop()
