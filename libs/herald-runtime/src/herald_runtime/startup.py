"""A service's first act: read `HERALD_ENV`, and refuse to start on unsafe settings.

    environment = refuse_unsafe_start("api", lambda env: production_problems(settings, env))

Runs in `__main__`, after the settings are read and before anything connects. When the problems
are not empty the service exits with EX_CONFIG (78), every problem printed at once on stderr (one
line each, no traceback) and logged as one `start_refused` event, so that a failing deployment
says all that is wrong in its first log lines. An invalid `HERALD_ENV` is such a problem too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

import structlog
from herald_core.deployment import Environment, environment_of

log = structlog.get_logger(__name__)

EX_CONFIG = 78
"""sysexits.h: a configuration error; a supervisor should not restart in a loop hoping."""

ProblemsOf = Callable[[Environment], list[str]]


def start_problems(
    problems_of: ProblemsOf, environ: Mapping[str, str]
) -> tuple[Environment | None, list[str]]:
    """The environment `environ` names and what keeps the service from starting in it. Pure
    when `problems_of` is."""
    try:
        environment = environment_of(environ)
    except ValueError as error:
        return None, [str(error)]
    return environment, problems_of(environment)


def refusal_text(service: str, environment: Environment | None, problems: list[str]) -> str:
    """What a refused start prints: a header and one line per problem. Pure."""
    where = f" in {environment.value}" if environment else ""
    lines = [f"herald {service} refuses to start{where}: {len(problems)} problem(s)"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append('See docs/operations.md, "Running in production".')
    return "\n".join(lines)


def refuse_unsafe_start(
    service: str,
    problems_of: ProblemsOf,
    *,
    environ: Mapping[str, str] | None = None,
    stderr: TextIO | None = None,
) -> Environment:
    """The environment the service runs in, once its settings may be used there.

    Raises:
        SystemExit: EX_CONFIG, after printing and logging every problem, when there is one.
    """
    environment, problems = start_problems(problems_of, os.environ if environ is None else environ)
    if problems or environment is None:
        log.error("start_refused", service=service, environment=environment, problems=problems)
        print(refusal_text(service, environment, problems), file=stderr or sys.stderr, flush=True)
        raise SystemExit(EX_CONFIG)
    log.info("environment", service=service, environment=environment.value)
    return environment


def no_problems(environment: Environment) -> list[str]:
    """The problems of a service whose settings hold no secret and reach nothing but Kafka."""
    return []
