"""A local stack's settings on free ports, for tests and for stacks run side by side."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from herald_devstack.dev_settings import DevSettings
from herald_devstack.instances import instance_block_size
from herald_devstack.processes import bindable, free_port, free_ports_below_ephemeral
from herald_devstack.stack import SERVICE_NAMES, Stack

INSTANCE_BLOCK = "instance_ports_base"


def port_fields() -> list[str]:
    """Every single-port setting of `DevSettings` (the optional advertised port aside)."""
    return [
        name
        for name, field in DevSettings.model_fields.items()
        if name.endswith("_port") and field.annotation is int
    ]


def on_free_ports(home: Path, **fixed: Any) -> DevSettings:
    """`DevSettings` in `home`, every port one that is free now, except those `fixed` gives
    (with any other setting); the instance block (the ports of every service's instances 2 and
    up) clear of the rest. With
    `brokers` above 1, every node's client and controller ports are free and distinct.
    Prometheus stays off unless `prometheus=True` is given: only the tests that scrape pay
    for it."""
    taken = {v for k, v in fixed.items() if k.endswith("_port") and isinstance(v, int)}
    ports: dict[str, int] = {}
    brokers = int(fixed.get("brokers", 1))
    step = int(
        fixed.get("kafka_node_port_step", DevSettings.model_fields["kafka_node_port_step"].default)
    )
    for name in ("kafka_port", "kafka_controller_port"):
        if brokers > 1 and name not in fixed:
            ports[name] = node_block(taken, brokers, step)
    for name in port_fields():
        if name not in fixed and name not in ports:
            ports[name] = taken_too(taken)
    max_instances = int(
        fixed.get("max_instances", DevSettings.model_fields["max_instances"].default)
    )
    size = instance_block_size(len(SERVICE_NAMES), max_instances)
    instances = fixed.pop(INSTANCE_BLOCK, None) or instance_block(size, taken)
    fixed.setdefault("prometheus", False)  # a test that scrapes asks for it
    return DevSettings(home=home, **{INSTANCE_BLOCK: instances, **ports, **fixed})


def taken_too(taken: set[int]) -> int:
    """A port free now and not in `taken` (a port only chosen is not held: the kernel may
    offer it again), added to `taken`."""
    while (port := free_port()) in taken:
        pass
    taken.add(port)
    return port


def node_block(taken: set[int], brokers: int, step: int) -> int:
    """A port such that it and the `brokers - 1` ports `step` apart after it are free now and
    not in `taken` (all added to `taken`): one port of each node of a cluster."""
    while True:
        first = taken_too(taken)
        others = [first + step * i for i in range(1, brokers)]
        if all(p <= 65535 and p not in taken and bindable(p) for p in others):
            taken.update(others)
            return first


def instance_block(size: int, taken: set[int]) -> int:
    """The first of `size` consecutive ports free now, none in `taken`, below the kernel's
    ephemeral range: an instance may start long after the ports were chosen (`scale_to`
    minutes into a run), and a port of the ephemeral range may be some connection's by then."""
    while True:
        first = free_ports_below_ephemeral(max(size, 1))
        if taken.isdisjoint(range(first, first + size)):
            return first


@contextmanager
def stack_on_free_ports(
    services: Sequence[str],
    *,
    prefix: str = "herald-stack-",
    service_env: Mapping[str, Mapping[str, str]] | None = None,
    scale: Mapping[str, int] | None = None,
    topics: bool = True,
    **fixed: Any,
) -> Iterator[Stack]:
    """A `Stack` of `services` (at `scale`) up in a temporary home on free ports
    (`on_free_ports(home, **fixed)`), its progress printed; stopped, every instance of every
    service, and its home removed afterwards. Without `topics`, no topic is created (a
    description's own topic job does it)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(home, 0o755)  # noqa: S103 - postgres runs as its own user when we are root
    stack = Stack(
        on_free_ports(home, **fixed), services=services, service_env=service_env, scale=scale
    )
    try:
        stack.up(lambda line: print(f"  {line}"), topics=topics)  # noqa: T201 - a test's progress
        yield stack
    finally:
        stack.down(lambda line: None)
        shutil.rmtree(home, ignore_errors=True)
