"""The local stack's instances as processes: what `status` and `down` find from the pid files,
whatever scale the stack object was told (another `herald-dev` command may have scaled)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from herald_devstack.processes import ManagedProcess
from herald_devstack.stack import DevSettings, Stack

pytestmark = pytest.mark.integration


def test_status_and_down_find_every_running_instance_whatever_the_scale(tmp_path: Path) -> None:
    """Another command scaled the router up: a stack told nothing lists `router-3` from its pid
    file, and `down` stops it. (A `sleep` stands in for the service: no broker needed.)"""
    settings = DevSettings(home=tmp_path)
    extra = ManagedProcess("router-3", tmp_path)
    extra.start([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stack = Stack(settings)
        assert stack.running_instances("router") == ["router-3"]
        listed = {part.name: part for part in stack.status()}
        assert listed["router-3"].running
        assert listed["router-3"].address == f"http://127.0.0.1:{stack.instance_port('router', 3)}"
        assert not listed["router"].running
        assert "router-2" not in listed
        said: list[str] = []
        stack.down(said.append)
        assert "stopped router-3" in said
        assert stack.running_instances("router") == []
    finally:
        extra.kill()
