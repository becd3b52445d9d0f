"""The fault proxy's pure decisions (`Fault`): a new connection's fate, a chunk's delay, pacing."""

from __future__ import annotations

import pytest
from herald_testing.fault_proxy import Accept, Fault, Mode


def test_a_healthy_link_forwards_at_once_in_one_piece() -> None:
    fault = Fault()
    assert fault.accept(0.0) is Accept.FORWARD
    assert fault.delay_s(0.99) == 0.0
    assert fault.slices(b"abc") == [b"abc"]
    assert fault.transfer_s(1_000_000) == 0.0
    assert fault.flows
    assert fault.listens


@pytest.mark.parametrize("mode", [Mode.RESET, Mode.REFUSE])
def test_reset_and_refuse_reset_new_connections(mode: Mode) -> None:
    assert Fault(mode=mode).accept(0.99) is Accept.RESET


def test_drops_follow_the_roll() -> None:
    fault = Fault(drop_probability=0.25)
    assert fault.accept(0.1) is Accept.CLOSE
    assert fault.accept(0.3) is Accept.FORWARD


def test_latency_with_jitter_stays_within_its_bounds_and_never_negative() -> None:
    assert Fault(latency_ms=100, jitter_ms=20).delay_s(0.0) == pytest.approx(0.08)
    assert Fault(latency_ms=100, jitter_ms=20).delay_s(0.5) == pytest.approx(0.1)
    assert Fault(latency_ms=10, jitter_ms=50).delay_s(0.0) == 0.0


def test_bandwidth_cuts_into_slices_of_50_ms() -> None:
    fault = Fault(bytes_per_s=1000)
    assert fault.slices(b"x" * 120) == [b"x" * 50, b"x" * 50, b"x" * 20]
    assert fault.transfer_s(50) == pytest.approx(0.05)


def test_a_blackhole_holds_everything() -> None:
    assert not Fault(mode=Mode.BLACKHOLE).flows


@pytest.mark.parametrize(
    "kwargs",
    [{"latency_ms": -1}, {"jitter_ms": -1}, {"bytes_per_s": 0}, {"drop_probability": 1.5}],
)
def test_nonsense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        Fault(**kwargs)  # type: ignore[arg-type]
