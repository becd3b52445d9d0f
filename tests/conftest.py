"""Shared fixtures. Integration fixtures start the real broker and database themselves and fail,
never skip, when they cannot (docs/contributing.md).

Registered here once as plugins, so that every directory shares one broker, one database and one
pipeline per test session:

- `herald_testing.fixtures` (libs/herald-testing): the broker, the database and what knows no
  Herald service (`infra`, `kafka_settings`, `postgres_url`, `producer`, `receiver`, `http`,
  `unique`, `fresh_database`);
- `support.pipeline` and `support.api` (tests/support, on pytest's `pythonpath`): Herald's own
  services in-process (`herald`, `herald_mail`, `mail_sink`; `api`, `admin`).
"""

import gc
import os
import sys

import structlog

# Bytecode caches stay on for the test session and the processes it starts, even where
# PYTHONDONTWRITEBYTECODE is set (some shells and sandboxes set it). Without them every run
# compiles every module it imports again, and pytest rewrites the asserts of every test module
# again: some 8 CPU-seconds, 40 % of a unit run. They go to `__pycache__/`, ignored by git.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# structlog as left unconfigured (services configure it in their `__main__`), except for
# tracebacks: plain, as the services print them. structlog's default renders them with rich,
# local variables included (secrets among them), at some 40 ms per logged exception.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)

pytest_plugins = ["herald_testing.fixtures", "support.pipeline", "support.api"]


def pytest_collection_finish(session):
    """What is alive once collection is over (modules, classes, the collected tests) stays to the
    end of the session: the garbage collector need not walk it again at every full collection."""
    gc.freeze()
