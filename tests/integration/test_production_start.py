"""Each service, started as a process with `HERALD_ENV=production` and a development default,
exits 78 before connecting to anything, naming every problem on stderr without a traceback.

No broker or database is needed: the bootstrap and database point at a port nothing listens on,
and the refusal comes before any connect. The checks themselves, one test per refused default:
tests/unit/test_production_defaults.py. A production start that passes: test_ingest_producers.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from herald_core.deployment import DEV_ADMIN_TOKEN

pytestmark = pytest.mark.integration

NOWHERE = "127.0.0.1:9"  # discard: nothing answers, and nothing should try

CASES = {
    "api with every default": (
        ["herald_api"],
        {
            "HERALD_ENV": "production",
            "HERALD_API_KAFKA__BOOTSTRAP_SERVERS": NOWHERE,
            "HERALD_API_DATABASE_URL": f"postgresql://herald@{NOWHERE}/herald",
            "HERALD_API_ADMIN_TOKEN": DEV_ADMIN_TOKEN,
            "HERALD_API_ALLOW_LOOPBACK_TARGETS": "true",
        },
        [
            "HERALD_API_JWT_SECRET",
            "HERALD_UNSUBSCRIBE_SECRET",
            "HERALD_API_ADMIN_TOKEN",
            "HERALD_API_ALLOW_LOOPBACK_TARGETS",
        ],
    ),
    "e-mail sender with its defaults": (
        ["herald_sender", "--channel", "email"],
        {
            "HERALD_ENV": "production",
            "HERALD_SENDER_KAFKA__BOOTSTRAP_SERVERS": NOWHERE,
            "HERALD_SENDER_ALLOW_LOOPBACK_TARGETS": "true",
        },
        ["HERALD_SENDER_ALLOW_LOOPBACK_TARGETS", "HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET"],
    ),
    "ingest opened": (
        ["herald_ingest"],
        {
            "HERALD_ENV": "production",
            "HERALD_INGEST_KAFKA__BOOTSTRAP_SERVERS": NOWHERE,
            "HERALD_INGEST_AUTH__OPEN": "true",
        },
        ["HERALD_INGEST_AUTH__OPEN is true"],
    ),
    "ingest without a way in, even in development": (
        ["herald_ingest"],
        {"HERALD_INGEST_KAFKA__BOOTSTRAP_SERVERS": NOWHERE},
        ["ingest accepts no producer"],
    ),
    "router with a misspelt environment": (
        ["herald_router"],
        {"HERALD_ENV": "prod", "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": NOWHERE},
        ["HERALD_ENV='prod' is not one of development, production"],
    ),
}


def clean_environment(**settings: str) -> dict[str, str]:
    """Ours without any HERALD_ variable (the test run's must not decide), plus `settings`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    return kept | settings


@pytest.mark.parametrize("case", list(CASES))
def test_a_service_refuses_to_start_with_a_development_default(case):
    argv, settings, named = CASES[case]
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        env=clean_environment(**settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 78, done.stderr[-3000:]
    stderr = done.stderr
    assert "refuses to start" in stderr
    for name in named:
        assert name in stderr, stderr
    assert stderr.count("\n  - ") == len(named), "one line per problem, all at once"
    assert "Traceback" not in stderr + done.stdout
