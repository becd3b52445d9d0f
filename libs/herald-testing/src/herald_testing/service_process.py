"""A Herald service as a real process (`python -m herald_<name>`) on the session broker.

The stream processors (derive, alerter) are tested this way: derive runs faust's own loop, and
a restart test needs a process to stop. They run with their production app ids, so their
changelogs are the ones deploy/topics.yaml declares; tests share those groups one process at a
time and keep apart by unique app ids.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from herald_devstack.processes import free_port
from prometheus_client.parser import text_string_to_metric_families

from herald_testing.polling import eventually


class ServiceProcess:
    """`python -m herald_<name>` with its settings from `HERALD_<NAME>_…`, its health port free,
    its log in `log`."""

    def __init__(self, name: str, bootstrap: str, log: Path, **settings: str) -> None:
        self.name = name
        self.port = free_port()
        prefix = f"HERALD_{name.upper()}_"
        self.env = {
            **os.environ,
            f"{prefix}KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            f"{prefix}HTTP__PORT": str(self.port),
            f"{prefix}LOG__JSON": "false",
            f"{prefix}COMMIT_INTERVAL_S": "0.5",
            **{f"{prefix}{key.upper()}": value for key, value in settings.items()},
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"herald_{self.name}"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        """Whether `/readyz` answers 200. Raises AssertionError (with the log) if it exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.process.returncode}:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def assigned(self, role: str = "active") -> dict[str, set[int]]:
        """The partitions the group gave this worker, by topic (`assigned_partitions`)."""
        return assigned_partitions(self.metrics(), role)

    def kill(self) -> None:
        """SIGKILL: no drain, no commit, no leaving the group (a crash)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        """SIGTERM, then wait for the drain; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


ASSIGNED_FAMILIES = ("herald_faust_assigned_partitions", "herald_alerter_assigned_partitions")
"""derive's (faust: `role` active or standby) and the alerter's (no `role`: all active)."""


def assigned_partitions(scraped: str, role: str = "active") -> dict[str, set[int]]:
    """The partitions of one role in a `/metrics` text (`ASSIGNED_FAMILIES`), by topic."""
    found: dict[str, set[int]] = {}
    for family in text_string_to_metric_families(scraped):
        if family.name not in ASSIGNED_FAMILIES:
            continue
        for sample in family.samples:
            if sample.labels.get("role", "active") == role and sample.value == 1:
                topic = sample.labels["topic"]
                found.setdefault(topic, set()).add(int(sample.labels["partition"]))
    return found


async def started(service: ServiceProcess, timeout_s: float = 60) -> None:
    """Start the process and wait until it is ready; the log's tail is in the failure."""
    started_at = time.monotonic()
    service.start()
    try:
        await eventually(
            service.ready, timeout_s=timeout_s, interval_s=0.2, what=f"{service.name} ready"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- {service.name} log ---\n{service.tail()}") from None
    print(f"{service.name} ready in {time.monotonic() - started_at:.1f}s")  # noqa: T201
