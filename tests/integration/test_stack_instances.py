"""Several instances of a service in the local stack, as processes: two derive workers (faust),
each on its own health port and data directory, and two alerter workers side by side, and the
router scaled with `scale_to` while the stack runs; `down` stops every instance.

Only those services run, on free ports in a temporary home, with the stack's own Kafka and
Postgres.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from herald_devstack.free_stack import stack_on_free_ports
from herald_devstack.stack import Component, Stack
from herald_testing.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SERVICES = ("router", "derive", "alerter")


def environ(stack: Stack, name: str) -> dict[str, str]:
    pid = stack.process(name).pid()
    assert pid is not None, name
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


def all_ready(stack: Stack, names: tuple[str, ...]) -> dict[str, Component] | None:
    """The stack's parts by name once every one of `names` runs and is ready, else None."""
    parts = {part.name: part for part in stack.status()}
    ready = all(name in parts and parts[name].detail == "ready" for name in names)
    return parts if ready else None


def test_instances_run_side_by_side_and_scale_while_the_stack_runs() -> None:
    scale = {"router": 2, "derive": 2, "alerter": 2}
    with stack_on_free_ports(SERVICES, prefix="herald-scale-", scale=scale) as stack:
        names = ("router", "router-2", "derive", "derive-2", "alerter", "alerter-2")
        # a faust worker is not ready while its group rebalances (the second one joining)
        parts = asyncio.run(eventually(lambda: all_ready(stack, names), timeout_s=180))
        assert len({part.address for part in parts.values()}) == len(parts)
        home = stack.settings.home
        for name in ("derive", "derive-2"):
            data_dir = environ(stack, name)["HERALD_DERIVE_DATA_DIR"]
            assert data_dir == str(home / "faust" / name)
            assert Path(data_dir).is_dir()  # faust made it: the worker really uses its own
        assert "HERALD_ALERTER_DATA_DIR" not in environ(stack, "alerter-2")  # not faust

        said: list[str] = []
        stack.scale_to("router", 1, progress=said.append)
        assert stack.running_instances("router") == ["router"]
        assert "stopped router-2" in said
        stack.scale_to("router", 3)
        assert stack.running_instances("router") == ["router", "router-2", "router-3"]

        stack.down(lambda line: None)
        for service in SERVICES:
            assert stack.running_instances(service) == [], service
