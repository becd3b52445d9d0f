"""The smoke runs' last step (tests/integration/test_compose_smoke.py, test_helm_smoke.py):
a burst of events posted to ingest while every process is told to stop (SIGTERM), as a rollout
or `docker compose down` does."""

from __future__ import annotations

import threading

from herald_devstack.admin import post_event, sample_event
from herald_devstack.smoke.runner import SmokeRun, StopResult
from herald_testing.polling import until


def stop_during_burst(
    run: SmokeRun, ingest_url: str, app_id: str, token: str
) -> tuple[list[StopResult], list[int]]:
    """Post `app_deployed` events of `app_id` to `ingest_url` from a thread; once ten are in,
    SIGTERM every process. Returns each process's stop and the statuses ingest answered."""
    statuses: list[int] = []

    def burst() -> None:
        for _ in range(200):
            try:
                code, _ = post_event(ingest_url, sample_event(app_id, "app_deployed"), token)
            except OSError:
                break  # ingest has stopped listening
            statuses.append(code)

    poster = threading.Thread(target=burst, daemon=True)
    poster.start()
    until(lambda: len(statuses) >= 10, 30, "burst under way")
    results = run.stop_all_with_sigterm()
    poster.join(timeout=30)
    return results, statuses


def stopped_line(results: list[StopResult], statuses: list[int]) -> str:
    """One line saying how each process stopped and what the burst got."""
    return (
        "  stopped: "
        + ", ".join(f"{r.name} {r.exit_code} in {r.seconds:.1f}s/{r.grace_s:g}s" for r in results)
        + f"; burst: {len(statuses)} posted, statuses {sorted(set(statuses))}"
    )
