"""`herald_testing.scrape.sample_value` on an exposition text prometheus_client wrote."""

from __future__ import annotations

from herald_testing.scrape import sample_value
from prometheus_client import CollectorRegistry, Counter, generate_latest


def test_sample_value_finds_a_sample_by_name_and_labels() -> None:
    registry = CollectorRegistry()
    counter = Counter("herald_things_total", "Things", ["reason"], registry=registry)
    counter.labels("a").inc(3)
    counter.labels("b").inc()
    scraped = generate_latest(registry).decode()

    assert sample_value(scraped, "herald_things_total", {"reason": "a"}) == 3
    assert sample_value(scraped, "herald_things_total", {"reason": "b"}) == 1
    assert sample_value(scraped, "herald_things_total", {"reason": "c"}) is None
    assert sample_value(scraped, "herald_other_total") is None
