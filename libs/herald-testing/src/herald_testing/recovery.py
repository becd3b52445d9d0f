"""How long a fault kept deliveries late: the recovery time of a ledger run. Pure.

The delay of a delivery is from the moment the load generator made its event (before ingest
accepted it, so a POST held up or answered 503 during the fault counts) to its first 2xx
arrival at the receiver. Before the fault, the 99th percentile of those delays is the
baseline; a delivery is late when its delay is above `max(floor_s, factor * baseline)`.

    recovery_s  from the fault (the SIGKILL, the SIGTERM sent) until the last late delivery
                arrived: after that, every delivery arrives on time again. 0 when none was
                late.
    max_delay_s the longest delay of a delivery that arrived after the fault began.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from herald_testing.ledger import Arrival


@dataclass(frozen=True)
class Recovery:
    """The figures of one run (seconds)."""

    baseline_s: float
    """The 99th percentile delay of deliveries of events made before the fault."""
    late_s: float
    """Above this delay a delivery is late."""
    recovery_s: float
    max_delay_s: float
    late: int
    """Deliveries that were late."""


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile of `values` (nearest rank), 0 for none. Pure."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def first_arrivals(
    arrivals: Iterable[Arrival], made: Mapping[str, float]
) -> dict[tuple[str, str], tuple[float, float]]:
    """Each delivery's (made, first 2xx arrival) times, by (event id, path): the deliveries of
    events in `made` only (probes and other trials' are not). Pure."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for arrival in arrivals:
        event_id = arrival.event_id
        if not arrival.ok or event_id is None or event_id not in made:
            continue
        key = (event_id, arrival.path)
        at = made[event_id]
        if key not in found or arrival.at < found[key][1]:
            found[key] = (at, arrival.at)
    return found


def recovery(
    fault_at: float,
    made: Mapping[str, float],
    arrivals: Iterable[Arrival],
    *,
    floor_s: float = 2.0,
    factor: float = 3.0,
) -> Recovery:
    """The run's recovery figures for a fault that began at `fault_at` (see the module
    docstring); `made` gives each judged event's making time. Pure."""
    deliveries = first_arrivals(arrivals, made).values()
    before = [arrived - at for at, arrived in deliveries if arrived < fault_at]
    baseline = percentile(before, 0.99)
    late_s = max(floor_s, factor * baseline)
    after = [(at, arrived) for at, arrived in deliveries if arrived >= fault_at]
    late = [arrived for at, arrived in after if arrived - at > late_s]
    return Recovery(
        baseline_s=baseline,
        late_s=late_s,
        recovery_s=max(late, default=fault_at) - fault_at,
        max_delay_s=max((arrived - at for at, arrived in after), default=0.0),
        late=len(late),
    )
