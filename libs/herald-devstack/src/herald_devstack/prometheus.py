"""Prometheus in the local stack: the pinned server `make install` builds, scraping every
service instance the stack runs and evaluating Herald's alert rules.

The configuration is generated from the stack's instances (`scrape_config`, pure): one job per
service, named as in `deploy/prometheus/prometheus.yml` (the compose stack's), each instance a
target on its health port with an `instance_name` label (`router-2`), and a one-channel
sender's `channel` label (`sender-webhook`: `webhook`). The process of every chat channel
(`sender-chat`) has no `channel` target label: its metrics carry each channel's own, and the
compose stack's jobs of those channels (`sender-slack`, …) are its one job here
(`compose_job_names`). Scaling a service rewrites the configuration and asks the server to
reload (`/-/reload`).
State (the TSDB, the generated file, the log) lives in `<home>/prometheus`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from herald_core.topics import Channel

from herald_devstack.kafka import PROJECT_ROOT
from herald_devstack.processes import ManagedProcess
from herald_devstack.tools import tool_path

RULES_DIR = PROJECT_ROOT / "deploy" / "prometheus" / "rules"
COMPOSE_CONFIG = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
SENDER_JOB_PREFIX = "sender-"
CHANNELS = frozenset(channel.value for channel in Channel)


@dataclass(frozen=True)
class Target:
    """One service instance to scrape: its job (the service), its name and its health port."""

    job: str
    instance_name: str
    port: int


def rule_files(rules_dir: Path = RULES_DIR) -> list[str]:
    """Herald's rule files (not their promtool tests), absolute paths in name order."""
    return sorted(str(path) for path in rules_dir.glob("*.rules.yml"))


def scrape_config(
    targets: Sequence[Target], *, interval_s: float, rules: Sequence[str]
) -> dict[str, Any]:
    """The Prometheus configuration scraping `targets` every `interval_s`, one job per service
    in the order given, and evaluating `rules` at the same interval. Pure."""
    interval = f"{interval_s:g}s"
    jobs: dict[str, list[Target]] = {}
    for target in targets:
        jobs.setdefault(target.job, []).append(target)
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": list(rules),
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": "/metrics",
                # a sender's metrics carry `channel` themselves: theirs wins over the target's
                # (else Prometheus renames theirs `exported_channel`)
                **({"honor_labels": True} if job.startswith(SENDER_JOB_PREFIX) else {}),
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{target.port}"],
                        "labels": _labels(target),
                    }
                    for target in members
                ],
            }
            for job, members in jobs.items()
        ],
    }


def _labels(target: Target) -> dict[str, str]:
    labels = {"instance_name": target.instance_name}
    channel = target.job.removeprefix(SENDER_JOB_PREFIX)
    if target.job.startswith(SENDER_JOB_PREFIX) and channel in CHANNELS:
        # one channel's sender; a process of several channels has no label of its own
        labels["channel"] = channel
    return labels


def job_names(config: Mapping[str, Any]) -> list[str]:
    """The job names of a Prometheus configuration, in order. Pure."""
    return [job["job_name"] for job in config.get("scrape_configs", [])]


def compose_job_names(
    config: Mapping[str, Any], combined: Mapping[str, Sequence[str]]
) -> list[str]:
    """The job names of a configuration with one job per sender channel (the compose stack's),
    as the local stack names them: the jobs of the channels a combined process sends
    (`combined`, e.g. {"sender-chat": ["slack", …]}) become that process's one job, where the
    first of them was. Pure."""
    merged = {f"{SENDER_JOB_PREFIX}{c}": job for job, cs in combined.items() for c in cs}
    names: list[str] = []
    for name in job_names(config):
        name = merged.get(name, name)
        if name not in names:
            names.append(name)
    return names


class PrometheusNode:
    """The local Prometheus server: its generated configuration, process and HTTP API."""

    def __init__(self, home: Path, *, port: int, interval_s: float) -> None:
        self.dir = home / "prometheus"
        self.port = port
        self.interval_s = interval_s
        self.process = ManagedProcess("prometheus", home)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.dir / "prometheus.yml"

    def write_config(self, targets: Sequence[Target]) -> None:
        """Write the configuration scraping `targets` (atomically: a reload never reads half)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        config = scrape_config(targets, interval_s=self.interval_s, rules=rule_files())
        text = "# Generated by herald-dev from the stack's instances: edits are overwritten.\n"
        text += yaml.safe_dump(config, sort_keys=False)
        partial = self.config_file.with_suffix(".tmp")
        partial.write_text(text)
        partial.replace(self.config_file)

    def start(self) -> None:
        """Start the server on the written configuration (it must be written first).

        Raises:
            herald_devstack.tools.ToolMissing: when `make install` has not built it.
        """
        binary = tool_path("prometheus")
        self.process.start(
            [
                str(binary),
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",  # POST /-/reload after a scale change
                "--storage.tsdb.retention.time=7d",
                "--log.level=warn",
            ]
        )

    def ready(self) -> bool:
        return _get(f"{self.url}/-/ready") is not None

    def reload(self) -> None:
        """Make the running server read its configuration again.

        Raises:
            OSError: when it does not answer or refuses the configuration.
        """
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass

    def targets_up(self) -> tuple[int, int]:
        """How many of its active scrape targets were up at their last scrape, of how many."""
        body = _get(f"{self.url}/api/v1/targets?state=active")
        if body is None:
            return 0, 0
        active = json.loads(body)["data"]["activeTargets"]
        return sum(1 for t in active if t["health"] == "up"), len(active)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bytes(response.read()) if response.status == 200 else None
    except OSError:
        return None
