"""Several instances of one service in the local stack: their names, their health ports and
the `--scale` syntax. Pure: no I/O.

Instance 1 of a service keeps the service's own name and port (`router` on `router_port`), so a
stack of one instance each is what it always was. Instance k ≥ 2 is named `<service>-<k>`
(`router-2`, `sender-webhook-3`) and listens on a port of the *instance block*, a range of
consecutive ports that nothing else of the stack uses:

    instance_ports_base + service_index * (max_instances - 1) + (k - 2)

`service_index` is the service's place in the stack's full list of services (`api` 0,
`ingest` 1, `router` 2, …), whatever subset a stack runs, so a port depends on the settings
alone: a later `herald-dev status` or `down` finds `router-2` where `up` started it. With the
defaults (`instance_ports_base` 18200, `max_instances` 5, 9 services) the block is
18200 to 18235.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

INSTANCE_SEPARATOR = "-"


def instance_name(service: str, instance: int) -> str:
    """The process name of `service`'s `instance` (1-based): the service's own name for the
    first, `<service>-<k>` for the others."""
    return service if instance == 1 else f"{service}{INSTANCE_SEPARATOR}{instance}"


def split_instance(name: str, services: Collection[str]) -> tuple[str, int]:
    """The service and instance number a process name stands for (`router-2` → `router`, 2;
    `router` → `router`, 1). No service name ends with `-<digits>`, so this is unambiguous.

    Raises:
        KeyError: when `name` is no instance of one of `services`.
    """
    if name in services:
        return name, 1
    service, _, number = name.rpartition(INSTANCE_SEPARATOR)
    if service in services and number.isdigit() and int(number) >= 2 and number[0] != "0":
        return service, int(number)
    raise KeyError(name)


def instance_block_size(service_count: int, max_instances: int) -> int:
    """How many ports the instance block holds: one per instance beyond the first of each
    service."""
    return service_count * (max_instances - 1)


def instance_port(
    *, base: int, service_index: int, instance: int, max_instances: int, first_port: int
) -> int:
    """The health port of a service's `instance`: `first_port` (the service's own setting) for
    instance 1, else its slot of the instance block starting at `base`.

    Raises:
        ValueError: when `instance` is below 1 or above `max_instances`.
    """
    if not 1 <= instance <= max_instances:
        raise ValueError(f"instance {instance} is outside 1..{max_instances} (max_instances)")
    if instance == 1:
        return first_port
    return base + service_index * (max_instances - 1) + (instance - 2)


def parse_scale(text: str) -> dict[str, int]:
    """`router=2,sender-webhook=3` as {"router": 2, "sender-webhook": 3}; blanks around the
    parts are ignored and an empty text is no scale at all. Which names exist and which counts
    are allowed is `check_scale`'s business.

    Raises:
        ValueError: on a part that is not `<service>=<whole number>`, or a service named twice.
    """
    scale: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, equals, count = (s.strip() for s in part.partition("="))
        if not equals or not name or not count.lstrip("-").isdigit():
            raise ValueError(f"{part!r}: expected <service>=<instances>, e.g. router=2")
        if name in scale:
            raise ValueError(f"{name} is scaled twice")
        scale[name] = int(count)
    return scale


def check_scale(
    scale: Mapping[str, int], services: Sequence[str], max_instances: int
) -> dict[str, int]:
    """`scale` as given, once every name is one of `services` and every count in
    1..`max_instances`.

    Raises:
        ValueError: naming every unknown service, or the first count out of range.
    """
    unknown = sorted(set(scale) - set(services))
    if unknown:
        raise ValueError(f"cannot scale unknown services {unknown}; the stack has {list(services)}")
    for name, count in scale.items():
        if not 1 <= count <= max_instances:
            raise ValueError(
                f"{name}={count}: a service runs 1 to {max_instances} instances "
                "(HERALD_DEV_MAX_INSTANCES)"
            )
    return dict(scale)
