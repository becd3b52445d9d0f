"""`herald-dev fault` on real processes: the CLI finds a service by its pid file under the
stack's home and signals it, as it would on the stack that `make up` started."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from herald_devstack.cli import app
from herald_devstack.processes import ManagedProcess
from typer.testing import CliRunner

pytestmark = pytest.mark.integration


def state_of(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HERALD_DEV_HOME", str(tmp_path))
    return tmp_path


def test_pause_resume_and_kill_a_service(home: Path) -> None:
    router = ManagedProcess("router", home)  # stands in for the service: same pid file
    pid = router.start([sys.executable, "-c", "import time; time.sleep(60)"])
    runner = CliRunner()
    try:
        paused = runner.invoke(app, ["fault", "pause", "router"])
        assert paused.exit_code == 0, paused.output
        assert "router paused (SIGSTOP)" in paused.output
        assert state_of(pid) in {"T", "t"}
        resumed = runner.invoke(app, ["fault", "resume", "router"])
        assert resumed.exit_code == 0, resumed.output
        assert state_of(pid) in {"S", "R"}
        killed = runner.invoke(app, ["fault", "kill", "router"])
        assert killed.exit_code == 0, killed.output
        assert "router killed (SIGKILL)" in killed.output
        assert not router.pid_file.exists()
        again = runner.invoke(app, ["fault", "kill", "router"])
        assert again.exit_code == 1
        assert "router is not running" in again.output
    finally:
        router.stop(timeout_s=1)


def test_unknown_components_and_postgres_pause_are_refused(home: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["fault", "kill", "rooter"])
    assert unknown.exit_code == 1
    assert "unknown component 'rooter'" in unknown.output
    assert "sender-webhook" in unknown.output  # the names to choose from
    paused = runner.invoke(app, ["fault", "pause", "postgres"])
    assert paused.exit_code == 1
    assert "fault kill postgres" in paused.output
