"""A router restarted on a large config: its view equals a fresh rebuild, and it routes nothing
before it has caught up.

`VIEW_NOTIFIERS` generated notifiers (`herald_testing.config_corpus`, as the router benchmark
writes them; 1 000 000 in the full run, `HERALD_CHAOS_VIEW_NOTIFIERS` to change it) go onto
`notify.config.notifiers` beside the trial's own, and the running router takes them in. Then,
under load, the router is stopped (SIGTERM) and started again; it reads the compacted topics from
the beginning while events keep coming. Checked:

- The view's digest (`GET /view`, `herald_router.digest`: order-independent, over every field of
  every notifier) is the same three ways: the running router's, kept current record by record
  as the notifiers arrived; the restarted router's, read in one go; and the test's own, from
  the notifiers it generated plus a fresh rebuild of the rest from the topic (last value of
  each key, tombstones delete, a record that does not decode keeps the previous value).
- Nothing routed before the view caught up: `/readyz` answers 503 while it loads; no delivery
  of an event sent after the stop arrives before the restarted router said it routes; it
  counts no event unmatched nor dead-lettered; and the ledger finds every delivery (events sent
  while it loaded wait on `notify.events` and are routed once it is ready).

Afterwards the generated notifiers are deleted (tombstones) and the router restarted, so the
scenarios after this one meet a small router again (it still reads the tombstoned records
until the broker compacts them: a later restart of the router takes a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import aiohttp
import pytest
from herald_core.notifiers import Notifier
from herald_core.settings import KafkaSettings
from herald_core.topics import CONFIG_NOTIFIERS
from herald_kafka.reader import AssignedReader
from herald_router.digest import ViewDigest, digest_of
from herald_testing.config_corpus import KEY_PREFIX, notifier_record, produce_notifiers
from herald_testing.polling import eventually

from chaos.harness import Chaos, Trial, in_thread
from chaos.observe import rss_mib

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

ROUTER = "router"
LOAD_TIMEOUT_S = 900.0


def view_notifiers(full: bool) -> int:
    default = 1_000_000 if full else 20_000
    return int(os.environ.get("HERALD_CHAOS_VIEW_NOTIFIERS", default))


def generated_digest(count: int) -> ViewDigest:
    """The digest of notifiers 0..count-1 as generated (not read back). Pure, CPU-bound."""
    return digest_of(Notifier.model_validate_json(notifier_record(k)[1]) for k in range(count))


async def rebuilt_others(bootstrap: str) -> tuple[ViewDigest, int]:
    """A fresh rebuild of the notifiers not generated here, read from the topic to its end:
    their digest, and how many generated keys the topic holds a value for."""
    others: dict[bytes, Notifier] = {}
    generated: set[bytes] = set()
    prefix = KEY_PREFIX.encode()
    settings = KafkaSettings(bootstrap_servers=bootstrap, client_id="chaos-rebuild")
    async with AssignedReader(settings, [CONFIG_NOTIFIERS]) as reader:
        async for records in reader.read_until_end():
            for record in records:
                key = record.key or b""
                if key.startswith(prefix) and record.value is not None:
                    generated.add(key)
                elif key.startswith(prefix):
                    generated.discard(key)
                elif record.value is None:
                    others.pop(key, None)
                else:  # as the view: a value that does not decode keeps the previous one
                    with contextlib.suppress(ValueError):
                        others[key] = Notifier.model_validate_json(record.value)
    return digest_of(others.values()), len(generated)


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int | None, Any]:
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with http.get(url, timeout=timeout) as response:
            return response.status, await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None, None


async def metric(http: aiohttp.ClientSession, url: str, name: str) -> float:
    """One sample of the router's /metrics text (0 when absent)."""
    async with http.get(url) as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


class Restart:
    """The fault: stop the router 2 s into the load, start it, watch it load until it routes."""

    def __init__(self, chaos: Chaos) -> None:
        self.chaos = chaos
        base = f"http://127.0.0.1:{chaos.stack.settings.router_port}"
        self.view_url, self.ready_url, self.metrics_url = (
            f"{base}/view",
            f"{base}/readyz",
            f"{base}/metrics",
        )
        self.stopped_at = self.routing_at = 0.0
        self.load_s = self.view_ready_s = 0.0
        self.loading: list[tuple[float, int | None, Any]] = []

    async def __call__(self, trial: Trial) -> None:
        stack = self.chaos.stack
        await asyncio.sleep(2)
        await in_thread(stack.process(ROUTER).stop)
        self.stopped_at = time.time()
        started = time.monotonic()
        stack.launch_service(ROUTER)
        while time.monotonic() - started < LOAD_TIMEOUT_S:
            status, _ = await get_json(self.chaos.http, self.ready_url)
            _, view = await get_json(self.chaos.http, self.view_url)
            self.loading.append((time.monotonic() - started, status, view))
            if view and view["ready"] and not self.view_ready_s:
                self.view_ready_s = time.monotonic() - started
            if view and view["routing"] and status == 200:
                self.load_s, self.routing_at = time.monotonic() - started, time.time()
                return
            assert stack.process(ROUTER).pid() is not None, stack.process(ROUTER).tail(30)
            await asyncio.sleep(0.5)
        raise AssertionError(f"the router did not route within {LOAD_TIMEOUT_S} s")

    def routed_while_loading(self) -> list[str]:
        """Samples where the router said it routes, or /readyz said 200, before its view was
        ready."""
        return [
            f"{at:.1f} s: readyz {status}, view {view}"
            for at, status, view in self.loading
            if view is not None and not view["ready"] and (status == 200 or view["routing"])
        ]


async def live_view(chaos: Chaos, url: str, at_least: int) -> dict[str, Any]:
    """The running router's /view once it holds `at_least` notifiers with no lag."""
    found: dict[str, Any] = {}

    async def caught_up() -> bool:
        _, view = await get_json(chaos.http, url)
        if view is None:
            return False
        found.update(view)
        return bool(view["notifiers"] >= at_least and view["lag"] == 0)

    await eventually(caught_up, timeout_s=LOAD_TIMEOUT_S, interval_s=1.0, what="live view")
    return found


async def cleanup(chaos: Chaos, count: int) -> None:
    """Tombstone the generated notifiers, restart the router (small again) and wait for it."""
    bootstrap = chaos.stack.kafka.bootstrap_servers
    await produce_notifiers(bootstrap, 0, count, tombstones=True)
    stack = chaos.stack
    await in_thread(stack.process(ROUTER).stop)
    started = time.monotonic()
    await in_thread(lambda: stack.start_service(ROUTER, timeout_s=LOAD_TIMEOUT_S))
    pid = stack.process(ROUTER).pid()
    rss = rss_mib(pid) if pid is not None else None
    print(f"cleanup: router ready again in {time.monotonic() - started:.1f} s, RSS {rss} MiB")


async def test_a_router_restarted_on_a_large_view(chaos: Chaos) -> None:
    count = view_notifiers(chaos.profile.full)
    bootstrap = chaos.stack.kafka.bootstrap_servers
    trial = await chaos.trial(f"router restart, {count} notifiers")
    restart = Restart(chaos)
    written = False
    try:
        began = time.monotonic()
        write_s = await produce_notifiers(bootstrap, 0, count)
        written = True
        expected_generated = asyncio.create_task(in_thread(lambda: generated_digest(count)))
        live = await live_view(chaos, restart.view_url, count)
        live_s = time.monotonic() - began
        others, generated_on_topic = await rebuilt_others(bootstrap)
        expected = (await expected_generated).merge(others)
        assert generated_on_topic == count
        assert live["digest"] == expected.text, "the running view differs from a rebuild"
        unmatched = 'herald_router_events_total{outcome="unmatched"}'
        dead = 'herald_router_events_total{outcome="dead_lettered"}'
        seconds = 30.0 if chaos.profile.full else 15.0
        row = await trial.run(fault=restart, seconds=seconds)
        _, view = await get_json(chaos.http, restart.view_url)
        print(
            f"\nview of {view['notifiers']} notifiers ({count} generated, written in "
            f"{write_s:.1f} s, live view caught up {live_s:.1f} s after the first write); "
            f"restarted router: view ready after {restart.view_ready_s:.1f} s, routing after "
            f"{restart.load_s:.1f} s; digest {view['digest']} (live {live['digest']}, "
            f"expected {expected.text}); {len(restart.loading)} samples while loading"
        )
        assert row.passed, row.problems
        assert view["digest"] == expected.text, "the restarted view differs from a rebuild"
        assert restart.routed_while_loading() == []
        assert any(s[1] == 503 for s in restart.loading), "never saw /readyz say 503"
        early = [
            a
            for a in trial.ledger.arrivals
            if a.event_id in trial.ledger.sent
            and trial.ledger.sent[a.event_id].at > restart.stopped_at
            and a.at < restart.routing_at - 1.0
        ]
        assert early == [], f"{len(early)} deliveries before the router routed: {early[:3]}"
        assert await metric(chaos.http, restart.metrics_url, unmatched) == 0
        assert await metric(chaos.http, restart.metrics_url, dead) == 0
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
        if written:
            await cleanup(chaos, count)
