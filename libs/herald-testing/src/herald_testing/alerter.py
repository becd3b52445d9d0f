"""The alerter as a real process (`python -m herald_alerter`) on the session broker, for tests.

It runs with its production faust app id, `herald-alerter`, so its changelogs are the ones
deploy/topics.yaml declares; tests share that group one process at a time, apart by app ids.
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

from herald_testing.polling import eventually


class AlerterProcess:
    """`python -m herald_alerter` on the session broker, with its health port."""

    def __init__(self, bootstrap: str, log: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "HERALD_ALERTER_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "HERALD_ALERTER_HTTP__PORT": str(self.port),
            "HERALD_ALERTER_LOG__JSON": "false",
            "HERALD_ALERTER_COMMIT_INTERVAL_S": "0.5",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "herald_alerter"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"alerter exited {self.process.returncode}:\n{self.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
            return str(r.read().decode())

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


async def started(alerter: AlerterProcess) -> None:
    started_at = time.monotonic()
    alerter.start()
    try:
        await eventually(alerter.ready, timeout_s=60, interval_s=0.2, what="alerter ready")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- alerter log ---\n{alerter.tail()}") from None
    print(f"alerter ready in {time.monotonic() - started_at:.1f}s")  # noqa: T201 - test output
