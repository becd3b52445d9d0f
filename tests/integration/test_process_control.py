"""Process control for fault tests: SIGKILL, SIGSTOP and SIGCONT on a real child process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from herald_devstack.processes import ManagedProcess

pytestmark = pytest.mark.integration


def state_of(pid: int) -> str:
    """The process state letter of /proc/<pid>/stat: R, S, T (stopped), Z…"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_pause_resume_and_kill(tmp_path: Path) -> None:
    process = ManagedProcess("sleeper", tmp_path)
    pid = process.start([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process.pause()
        assert state_of(pid) == "T"
        assert process.resume()
        assert state_of(pid) in {"S", "R"}
        assert process.kill()
        assert process.pid() is None
        assert not process.pid_file.exists()
        assert not Path(f"/proc/{pid}").exists()  # reaped: no zombie left
    finally:
        process.stop(timeout_s=1)
    assert not process.kill()  # nothing left to kill
    assert not process.pause()
