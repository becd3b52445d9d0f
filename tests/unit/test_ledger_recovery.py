"""The recovery time of a ledger run (herald_testing.recovery): from the fault until the last
late delivery arrived, late measured against the delays before the fault."""

from __future__ import annotations

from herald_testing.ledger import Arrival
from herald_testing.recovery import first_arrivals, percentile, recovery


def arrival(event: str, at: float, status: int = 200, path: str = "/a") -> Arrival:
    return Arrival(path, "wh", event, status, True, at)


def test_percentile_by_nearest_rank() -> None:
    assert percentile([], 0.99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0


def test_only_the_first_2xx_of_each_judged_delivery_counts() -> None:
    made = {"e1": 10.0}
    found = first_arrivals(
        [arrival("e1", 12.0, 503), arrival("e1", 13.0), arrival("e1", 12.5), arrival("probe", 11)],
        made,
    )
    assert found == {("e1", "/a"): (10.0, 12.5)}


def test_recovery_runs_to_the_last_late_delivery() -> None:
    made = {f"b{n}": float(n) for n in range(10)}  # before the fault: 0.5 s each
    arrivals = [arrival(f"b{n}", n + 0.5) for n in range(10)]
    made |= {"stuck": 19.0, "held": 21.0, "fine": 30.0}
    arrivals += [arrival("stuck", 29.0), arrival("held", 25.0), arrival("fine", 30.4)]
    figures = recovery(20.0, made, arrivals)
    assert figures.baseline_s == 0.5
    assert figures.late_s == 2.0  # the floor: 3 x 0.5 is less
    assert figures.late == 2
    assert figures.recovery_s == 9.0  # "stuck" arrived at 29, the fault began at 20
    assert figures.max_delay_s == 10.0


def test_no_late_delivery_is_no_recovery_time() -> None:
    made = {"a": 0.0, "b": 30.0}
    figures = recovery(20.0, made, [arrival("a", 0.2), arrival("b", 30.3)])
    assert (figures.recovery_s, figures.late) == (0.0, 0)
