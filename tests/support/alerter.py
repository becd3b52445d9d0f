"""Waiting for `python -m herald_alerter` processes to have read the alert rules written so far.

Every alerter worker reads all of `notify.config.alerts`; `herald_alerter_config_offset
{partition}` on its `/metrics` says how far. A test that writes rules, then points, first waits
until each worker has applied the topic up to its end offsets as they are once the rules are
acknowledged: otherwise the points could find no rule yet (`no_rule`).
"""

from __future__ import annotations

from collections.abc import Iterable

from herald_core.settings import KafkaSettings
from herald_core.topics import CONFIG_ALERTS
from herald_kafka.reader import AssignedReader
from herald_testing.polling import eventually
from herald_testing.service_process import ServiceProcess
from prometheus_client.parser import text_string_to_metric_families


def config_offsets(scraped: str) -> dict[int, int]:
    """`herald_alerter_config_offset` by partition in a `/metrics` text."""
    found: dict[int, int] = {}
    for family in text_string_to_metric_families(scraped):
        if family.name == "herald_alerter_config_offset":
            for sample in family.samples:
                found[int(sample.labels["partition"])] = int(sample.value)
    return found


async def rules_read(bootstrap: str, workers: Iterable[ServiceProcess]) -> None:
    """Wait until every worker has applied notify.config.alerts up to its current end."""
    async with AssignedReader(KafkaSettings(bootstrap_servers=bootstrap), [CONFIG_ALERTS]) as r:
        ends = {tp.partition: bounds.end for tp, bounds in r.bounds.items()}
    pending = list(workers)

    def caught_up() -> bool:
        for worker in pending:
            read = config_offsets(worker.metrics())
            if any(read.get(p, 0) < end for p, end in ends.items()):
                return False
        return True

    await eventually(caught_up, timeout_s=60, interval_s=0.2, what="alert rules read")
