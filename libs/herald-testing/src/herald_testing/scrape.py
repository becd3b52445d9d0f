"""Read one sample out of a service's `/metrics` text (the Prometheus exposition format)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample_value(scraped: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of the sample `name` whose labels include `labels`; None when there is none.

    `name` is the sample's own name (`herald_ingest_refused_total`, `…_count`). Pure.
    """
    wanted = labels or {}
    for family in text_string_to_metric_families(scraped):
        for sample in family.samples:
            if sample.name == name and wanted.items() <= sample.labels.items():
                return float(sample.value)
    return None
