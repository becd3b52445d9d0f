"""What a deployment description says to run, and where its hosts really are on this machine.

A deployment description (docker-compose.yml, the Helm chart's rendered manifests) is read by an
adapter (`herald_devstack.smoke.compose`, `herald_devstack.smoke.helm`) into `ProcessSpec`s:
each container's command and environment exactly as described, nothing made up. A `LocalTarget`
says where the hosts the description names (`kafka:9092`, `postgres:5432`, `mailpit:1025`) are
on this machine; `herald_devstack.smoke.runner` runs the specs against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProcessSpec:
    """One container of a description, as its process would run.

    `argv` is the entrypoint followed by the command/args; `env` the container's resolved
    environment (the image's ENV, then the description's, Secrets/ConfigMaps/.env resolved);
    `files` maps an absolute in-container path to its content (mounted secrets, config).
    `port` is the container port the probes use (None for a job); `grace_s` the time it has
    to exit after SIGTERM (terminationGracePeriodSeconds, stop_grace_period). A `job` runs to
    completion before the services start (migrations, topic init).
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    files: Mapping[str, bytes]
    port: int | None
    ready_path: str = "/readyz"
    live_path: str = "/livez"
    grace_s: float = 30.0
    job: bool = False


@dataclass(frozen=True)
class LocalTarget:
    """Where the described hosts are on this machine.

    `hosts` maps a described `host:port` (or a bare host name) to its local `host:port` (or
    host): `"kafka:9092" -> "127.0.0.1:19092"`, `"0.0.0.0" -> "127.0.0.1"`. A host the
    description names and `hosts` does not map fails the run (`UnmappedHost`). `paths` maps
    a directory of the image to the local directory holding the same files
    (`"/app" -> the checkout`: the image installs the workspace there, the same layout).
    """

    hosts: Mapping[str, str]
    paths: Mapping[str, str] = field(default_factory=dict)
