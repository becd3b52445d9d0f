"""A notifier edited (its selection changed), another disabled, a third deleted, through the
API, while their app's events flow; the other apps are under the usual load.

What the ledger expects of a changed notifier (herald_testing.ledger_changes), precisely:
the app's events and probes are posted one at a time, in one sequence, so their order on
`notify.events` (one partition per app) is the order of their 202s.

- Before a change is asked for, a barrier probe is posted and awaited at an unchanged notifier
  of the app: every event accepted before the barrier was posted was routed before the change
  existed, and must follow the old selection (`old_until`).
- After the API answered, probes are posted until one shows the change applied by the router:
  the edited notifier receives a probe only its new selection selects; for a disabled or
  deleted one, a probe reaches an unchanged notifier of the app while the router wrote no
  delivery of it for the changed one. Every event posted after that probe's 202 must follow
  the new selection (`new_from`).
- An event accepted in between may follow either: a delivery both selections make is expected,
  one only one of them makes is optional. A delivery the router did write is never optional:
  it must arrive (read back from the deliveries topic).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from herald_core import headers as h
from herald_core.headers import header
from herald_core.topics import Channel, deliveries_topic
from herald_testing.ledger import Subscriber
from herald_testing.ledger_changes import Change
from herald_testing.polling import eventually
from herald_testing.topics import records_now

from chaos.harness import Chaos, Fault, Trial, deployment

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FAILED_N, SUCCEEDED_N = 0, 1  # deployment(app, n): every fourth one failed


@dataclass
class AppSequence:
    """The changed app's events and probes, posted one at a time (a lock), so that the order
    of their 202s is their order on the topic."""

    trial: Trial
    app_id: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    accepted: dict[str, float] = field(default_factory=dict)
    """Probe id → when its 202 came back."""

    async def events(self, stop: asyncio.Event) -> None:
        n = 1
        while not stop.is_set():
            async with self.lock:
                await self.trial.send_one(self.app_id, n)
            n += 1
            await asyncio.sleep(0.05)

    async def probe(self, n: int) -> tuple[str, float]:
        """A probe (`n` picks failed or succeeded) in the sequence: its id, when it was posted."""
        event, _ = deployment(self.app_id, n)
        self.trial.ledger.probe(event["id"])
        http, url = self.trial.chaos.http, self.trial.chaos.events_url

        async def accepted() -> bool:
            headers = self.trial.chaos.ingest_headers
            async with http.post(url, json=event, headers=headers) as response:
                return response.status == 202

        async with self.lock:
            posted = time.time()
            await eventually(accepted, timeout_s=60, interval_s=0.5, what="a probe accepted")
            self.accepted[event["id"]] = time.time()
        return event["id"], posted


def arrived_at(trial: Trial, path: str, event_id: str) -> float | None:
    """When `event_id` first reached `path` (answered 2xx), if it did."""
    times = [
        a.at
        for a in trial.ledger.arrivals + trial.chaos.receiver.unclaimed
        if a.path == path and a.event_id == event_id and a.ok
    ]
    return min(times, default=None)


def arrived(trial: Trial, path: str, event_id: str) -> bool:
    return arrived_at(trial, path, event_id) is not None


async def routed_to(trial: Trial, notifier_id: str, event_ids: set[str]) -> set[str]:
    """The events of `event_ids` the router wrote a delivery of to `notifier_id`."""
    records = await records_now(
        trial.chaos.stack.kafka.bootstrap_servers,
        deliveries_topic(Channel.WEBHOOK),
        lambda r: r.key == notifier_id.encode() and header(r.headers, h.CE_ID) in event_ids,
    )
    return {header(r.headers, h.CE_ID) or "" for r in records}


Shown = Callable[[str], Awaitable[bool]]


@dataclass
class Changer:
    """Asks for one change and brackets the moment it took effect (see the module doc)."""

    trial: Trial
    sequence: AppSequence
    witness: Subscriber
    """An unchanged notifier of the app selecting every deployment."""

    async def change(
        self,
        target: Subscriber,
        selects: frozenset[str],
        call: Callable[[], Awaitable[int]],
        probe_n: int,
        shown: Shown,
    ) -> None:
        barrier, old_until = await self.sequence.probe(FAILED_N)
        await eventually(
            lambda: arrived(self.trial, self.witness.path, barrier),
            timeout_s=60,
            interval_s=0.2,
            what="the barrier probe",
        )
        asked = time.time()
        assert await call() in (200, 204)
        new_from = await self.applied(probe_n, shown)
        self.trial.ledger.changed(Change(target.path, selects, old_until, new_from))
        kind = target.path.rsplit("/", 1)[-1]
        print(
            f"\n  {kind}: applied within {new_from - asked:.1f} s of the request;"
            f" window {new_from - old_until:.1f} s"
        )

    async def applied(self, probe_n: int, shown: Shown, timeout_s: float = 60) -> float:
        """Probe every half second until a probe shows the change applied; when the 202 of the
        earliest such probe came back (later events are routed after it)."""
        deadline = time.monotonic() + timeout_s
        pending: list[str] = []
        while time.monotonic() < deadline:
            probe, _ = await self.sequence.probe(probe_n)
            pending.append(probe)
            await asyncio.sleep(0.5)
            showing = [probe for probe in pending if await shown(probe)]
            if showing:
                return min(self.sequence.accepted[probe] for probe in showing)
        raise AssertionError("no probe showed the change applied")

    @property
    def base(self) -> str:
        return f"/v1/apps/{self.sequence.app_id}/notifiers"

    async def patch(self, target: Subscriber, changes: dict[str, object]) -> int:
        path = f"{self.base}/{target.notifier_id}"
        status, body = await self.trial.chaos.admin.call("PATCH", path, {"notifier": changes})
        assert status == 200, body
        return int(status)

    async def delete(self, target: Subscriber) -> int:
        path = f"{self.base}/{target.notifier_id}"
        status, body = await self.trial.chaos.admin.call("DELETE", path)
        assert status == 204, body
        return int(status)

    async def reached(self, target: Subscriber, probe: str) -> bool:
        return arrived(self.trial, target.path, probe)

    async def none_routed(self, target: Subscriber, probe: str) -> bool:
        """The probe reached the witness, and the router wrote no delivery of it to `target`
        (it writes an event's deliveries together: a second after the witness's arrival,
        the target's would be on the topic too)."""
        at = arrived_at(self.trial, self.witness.path, probe)
        if at is None or time.time() - at < 1.0:
            return False
        return await routed_to(self.trial, target.notifier_id, {probe}) == set()


@dataclass(frozen=True)
class Changed:
    """The changed app's notifiers: an unchanged witness, and one per change."""

    witness: Subscriber
    edited: Subscriber
    disabled: Subscriber
    deleted: Subscriber


async def changed_app(trial: Trial) -> Changed:
    """An app of its own (no load from the generator), its notifiers routed to."""
    app_id = f"{trial.apps[0][:36]}-changed"
    await trial.register(app_id)
    witness = await trial.add_notifier(app_id, "deploys", ("app_deployed",))
    await trial.add_notifier(app_id, "fails", ("DEPLOYMENT_FAIL",))
    changed = Changed(
        witness,
        await trial.add_notifier(app_id, "edited", ("DEPLOYMENT_FAIL",)),
        await trial.add_notifier(app_id, "disabled", ("app_deployed",)),
        await trial.add_notifier(app_id, "deleted", ("app_deployed",)),
    )
    await trial.probe_until_routed([witness, changed.edited, changed.disabled, changed.deleted])
    return changed


def three_changes(changer: Changer, app: Changed) -> Fault:
    """The fault: the app's events flow while its notifiers are edited, disabled, deleted."""
    success = frozenset({"DEPLOYMENT_SUCCESS"})

    async def fault(trial: Trial) -> None:
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            flowing = group.create_task(changer.sequence.events(stop))
            await asyncio.sleep(2)
            await changer.change(
                app.edited,
                success,
                lambda: changer.patch(app.edited, {"selected_event_ids": sorted(success)}),
                SUCCEEDED_N,
                lambda probe: changer.reached(app.edited, probe),
            )
            await asyncio.sleep(2)
            await changer.change(
                app.disabled,
                frozenset(),
                lambda: changer.patch(app.disabled, {"active": False}),
                FAILED_N,
                lambda probe: changer.none_routed(app.disabled, probe),
            )
            await asyncio.sleep(2)
            await changer.change(
                app.deleted,
                frozenset(),
                lambda: changer.delete(app.deleted),
                FAILED_N,
                lambda probe: changer.none_routed(app.deleted, probe),
            )
            await asyncio.sleep(3)
            stop.set()
            await flowing

    return fault


async def test_notifiers_edited_disabled_and_deleted_while_their_events_flow(
    chaos: Chaos,
) -> None:
    trial = await chaos.trial("notifier edited, disabled, deleted")
    try:
        app = await changed_app(trial)
        changer = Changer(trial, AppSequence(trial, app.witness.app_id), app.witness)
        row = await trial.run(fault=three_changes(changer, app))
        maybe = trial.ledger.optional()
        made = trial.ledger.delivered_keys() & set(maybe)
        print(f"  optional deliveries: {len(maybe)}, {len(made)} made")
        assert row.passed, row.problems
        for target in (app.edited, app.disabled, app.deleted):
            events = {event for event, notifier in maybe if notifier == target.notifier_id}
            written = await routed_to(trial, target.notifier_id, events)
            missing = {e for e in written if (e, target.notifier_id) not in made}
            assert missing == set(), f"{target.path}: routed but never delivered: {missing}"
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
