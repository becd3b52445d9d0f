"""Smoke runs of deployment descriptions: each described container run here as a process.

There is no container engine or cluster on the build machines, so a description is proven by
running exactly the commands and environments it describes against the local broker, Postgres
and sinks (docs/deploy.md, "How the descriptions are proven"). `model` holds the shapes,
`runner` localizes and runs them, `compose` reads docker-compose.yml, `helm` the rendered chart.
"""

from herald_devstack.smoke.model import LocalTarget, ProcessSpec
from herald_devstack.smoke.runner import (
    LocalizeError,
    SmokeFailure,
    SmokeRun,
    StopResult,
    local_address,
    localize,
)

__all__ = [
    "LocalTarget",
    "LocalizeError",
    "ProcessSpec",
    "SmokeFailure",
    "SmokeRun",
    "StopResult",
    "local_address",
    "localize",
]
