"""The chaos scenarios' harness: one trial = apps and signed webhook notifiers made through the
real API, open-loop load through ingest, a fault beside it, then the ledger's verdict.

    trial = await chaos.trial("sender SIGKILL x5", duplicates_allowed=True)
    row = await trial.run(fault=kill_and_restart("sender-webhook", times=5))
    assert row.passed, row.problems

A trial's notifiers are its own (paths `/<trial>/<app>/<kind>` on the ledger's receiver, one
signing secret each), so trials never read each other's deliveries. Before the load, probe
events go to every app until each notifier has received one: the router has them in its view
(Herald does not promise to route an event to a notifier it has not seen yet; probes are not
judged). After the verdict, a notifier created through the API must receive a probe too: no
task is left dead by the fault. A trial made with `url_base` has its notifiers post there
instead (a fault proxy in front of the receiver); `channels` says which senders' groups and
DLQs the verdict reads (a subclass with notifiers of other channels sets it).
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from herald_core.settings import KafkaSettings
from herald_core.topics import Channel, deliveries_topic, delivery_dlq_topic, retry_topic
from herald_core.topics import retry_tiers as topic_retry_tiers
from herald_devstack.stack import Stack
from herald_testing.api_client import ApiClient
from herald_testing.ledger import Arrival, Ledger, Row, Sent, Subscriber
from herald_testing.ledger_io import LagWatch, dead_letters, history
from herald_testing.ledger_receiver import LedgerReceiver
from herald_testing.load import LoadGenerator, LoadReport
from herald_testing.polling import eventually

WEBHOOK = Channel.WEBHOOK
SUCCESS = frozenset({"app_deployed", "DEPLOYMENT_SUCCESS"})
FAILED = frozenset({"app_deployed", "DEPLOYMENT_FAIL"})
KINDS: dict[str, tuple[str, ...]] = {"deploys": ("app_deployed",), "fails": ("DEPLOYMENT_FAIL",)}
"""The notifiers of each app: every deployment, and the failed ones only."""

Fault = Callable[["Trial"], Awaitable[None]]


@dataclass(frozen=True)
class Profile:
    """How hard a run pushes: short for CI (`make chaos-short`), full for `make chaos`."""

    full: bool
    rate_per_s: float
    seconds: float
    apps: int
    settle_timeout_s: float


SHORT = Profile(full=False, rate_per_s=30, seconds=10, apps=6, settle_timeout_s=90)
FULL = Profile(full=True, rate_per_s=50, seconds=20, apps=10, settle_timeout_s=150)


def deployment(app_id: str, n: int) -> tuple[dict[str, Any], frozenset[str]]:
    """A deployment of `app_id` (every fourth one failed) and the ids it answers to."""
    failed = n % 4 == 0
    event = {
        "id": f"ev-{uuid.uuid4().hex}",
        "type": "app_deployed",
        "created_at": datetime.now(UTC).isoformat(),
        "source": "deployer",
        "app_id": app_id,
        "app_name": app_id,
        "owner_id": "chaos-owner",
        "type_data": {
            "deployment_id": f"d-{n}",
            "pusher": "chaos",
            "git_ref": "0123456789abcdef",
            "status": "build-error" if failed else "success",
            "duration": 40,
        },
    }
    return event, FAILED if failed else SUCCESS


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def watched_groups(*channels: Channel) -> dict[str, list[str]]:
    """The consumer groups a delivery on one of `channels` (the webhook's when none) goes
    through, with their topics."""
    from herald_core.topics import DELIVERY_RESULTS, EVENTS, PLATFORM_EVENTS

    groups = {"herald-ingest": [PLATFORM_EVENTS], "herald-router": [EVENTS]}
    for channel in channels or (WEBHOOK,):
        sender = f"herald-sender-{channel.value}"
        groups[sender] = [deliveries_topic(channel)]
        groups[f"{sender}-retry"] = [retry_topic(channel, t) for t in topic_retry_tiers()]
    return {**groups, "herald-recorder": [DELIVERY_RESULTS]}


@dataclass
class Chaos:
    """What every trial shares: the stack, the receiver, an HTTP session, the API as admin."""

    stack: Stack
    receiver: LedgerReceiver
    http: aiohttp.ClientSession
    profile: Profile
    rows: list[Row] = field(default_factory=list)

    @property
    def kafka(self) -> KafkaSettings:
        """A client of the stack's Kafka: every node's address on a cluster."""
        return KafkaSettings(bootstrap_servers=self.stack.cluster.bootstrap_servers)

    @property
    def admin(self) -> ApiClient:
        settings = self.stack.settings
        return ApiClient(self.http, settings.api_port, settings.api_admin_token)

    @property
    def events_url(self) -> str:
        return f"{self.stack.ingest_url}/v1/events"

    @property
    def ingest_headers(self) -> dict[str, str]:
        """The stack's producer token, which ingest asks of every POST."""
        return self.stack.ingest_headers

    def lag_watch(self, *channels: Channel) -> LagWatch:
        return LagWatch(self.kafka, watched_groups(*channels))

    async def trial(
        self,
        name: str,
        *,
        duplicates_allowed: bool = False,
        apps: int | None = None,
        url_base: str | None = None,
        profile: Profile | None = None,
    ) -> Trial:
        """A trial set up (apps, notifiers, probes) and ready to run; `profile` replaces the
        run's for this trial only (a scenario that needs more load than the others)."""
        ledger = Ledger(name, duplicates_allowed=duplicates_allowed)
        trial = Trial(self, ledger, url_base=url_base, own_profile=profile)
        await trial.setup(apps or trial.profile.apps)
        return trial


@dataclass
class Trial:
    chaos: Chaos
    ledger: Ledger
    apps: list[str] = field(default_factory=list)
    report: LoadReport | None = None
    url_base: str | None = None
    """Where the notifiers post (`http://host:port`); None: the ledger's receiver."""
    channels: tuple[Channel, ...] = (WEBHOOK,)
    """The channels of the trial's notifiers: whose senders' groups and DLQs are watched."""
    own_profile: Profile | None = None
    """This trial's load and patience when not the run's (`Chaos.trial(profile=…)`)."""

    @property
    def profile(self) -> Profile:
        """How hard this trial pushes: its own profile, else the run's."""
        return self.own_profile or self.chaos.profile

    @property
    def prefix(self) -> str:
        return f"/{slug(self.ledger.scenario)}"

    def notifier_url(self, path: str) -> str:
        return self.chaos.receiver.url(path) if self.url_base is None else self.url_base + path

    def unclaimed(self) -> list[Arrival]:
        """What the receiver got on paths no ledger owns (a probe may arrive before it is)."""
        return self.chaos.receiver.unclaimed

    # --- set-up through the API ----------------------------------------------------------------
    async def setup(self, apps: int) -> None:
        self.chaos.receiver.attach(self.ledger)
        tag = uuid.uuid4().hex[:6]
        self.apps = [f"{slug(self.ledger.scenario)[:30]}-{tag}-{i}" for i in range(apps)]
        made: list[Subscriber] = []
        for app_id in self.apps:
            await self.register(app_id)
            for kind, selects in KINDS.items():
                made.append(await self.add_notifier(app_id, kind, selects))
        await self.probe_until_routed(made)

    async def register(self, app_id: str) -> None:
        status, body = await self.chaos.admin.call(
            "PUT", f"/v1/apps/{app_id}", {"app": {"name": app_id, "owner_id": "chaos-owner"}}
        )
        assert status == 201, body

    async def add_notifier(
        self, app_id: str, kind: str, selects: Sequence[str], *, judged: bool = True
    ) -> Subscriber:
        """A signed webhook notifier of `app_id` on its own path, made through the API."""
        path = f"{self.prefix}/{app_id}/{kind}"
        secret = new_secret()
        status, created = await self.chaos.admin.call(
            "POST",
            f"/v1/apps/{app_id}/notifiers",
            {
                "notifier": {
                    "name": f"chaos {kind}",
                    "platform_id": "webhook",
                    "selected_event_ids": list(selects),
                    "type_data": {"webhook_url": self.notifier_url(path), "secret": secret},
                }
            },
        )
        assert status == 201, created
        subscriber = Subscriber(created["notifier"]["id"], app_id, path, frozenset(selects))
        self.chaos.receiver.expect(path, secret)
        if judged:
            self.ledger.subscribe(subscriber)
        return subscriber

    async def probe(self, app_id: str) -> None:
        """One failed deployment every notifier of the app selects; not judged."""
        event, _ = deployment(app_id, 0)
        self.ledger.probe(event["id"])
        async with self.chaos.http.post(
            self.chaos.events_url, json=event, headers=self.chaos.ingest_headers
        ) as response:
            assert response.status in (202, 503), await response.text()

    async def send_one(self, app_id: str, n: int = 0) -> str:
        """One judged event of `app_id` (a failed deployment when `n % 4 == 0`), sent until
        ingest accepts it; its id."""
        event, answers_to = deployment(app_id, n)

        async def accepted() -> bool:
            async with self.chaos.http.post(
                self.chaos.events_url, json=event, headers=self.chaos.ingest_headers
            ) as response:
                assert response.status in (202, 503), await response.text()
                return response.status == 202

        await eventually(accepted, timeout_s=60, interval_s=0.5, what="the event accepted")
        self.ledger.accepted(Sent(event["id"], app_id, answers_to, time.time()))
        return str(event["id"])

    async def probe_until_routed(self, subscribers: Sequence[Subscriber], timeout_s: float = 120):
        """Probe the apps of `subscribers` until each has received a probe. Two minutes by
        default: after a scenario that scaled a service or faulted the broker, the groups may
        still be settling on a loaded machine. On timeout, says which apps still wait and what
        each service's /readyz answers."""
        paths = {sub.path: sub.app_id for sub in subscribers}

        def waiting() -> set[str]:
            arrived = {
                a.path
                for a in self.ledger.arrivals + self.unclaimed()
                if a.event_id in self.ledger.probes
            }
            return {app for path, app in paths.items() if path not in arrived}

        async def routed() -> bool:
            apps = waiting()
            for app_id in apps:
                await self.probe(app_id)
            return not apps

        try:
            await eventually(
                routed, timeout_s=timeout_s, interval_s=1.0, what="a probe at every notifier"
            )
        except AssertionError as error:
            stack = self.chaos.stack
            states = await in_thread(stack.status)
            services = ", ".join(f"{c.name}: {c.detail or 'no detail'}" for c in states)
            logs = "\n".join(
                f"--- {name} ---\n{stack.process(name).tail(12)}"
                for name in ("api", "router", "sender-webhook")
                if name in {spec.name for spec in stack.services}
            )
            raise AssertionError(
                f"{error}; still waiting: {sorted(waiting())}; {services}\n{logs}"
            ) from None

    # --- the run ---------------------------------------------------------------------------------
    async def run(
        self,
        *,
        fault: Fault | None = None,
        seconds: float | None = None,
        rate_per_s: float | None = None,
        ordered: bool = False,
    ) -> Row:
        """Load (and the fault beside it), settle, judge; the row joins the session's table."""
        profile = self.profile
        generator = LoadGenerator(
            self.chaos.http,
            self.chaos.events_url,
            self.ledger,
            self.apps,
            deployment,
            rate_per_s=rate_per_s or profile.rate_per_s,
            headers=self.chaos.ingest_headers,
        )
        watch = self.chaos.lag_watch(*self.channels)
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            watching = group.create_task(watch.watch(stop))
            load = group.create_task(generator.run(seconds or profile.seconds))
            if fault is not None:
                await fault(self)
                self.ledger.fault_ended(time.time())
            self.report = await load
            stop.set()
            await watching
        return await self.judge(watch, ordered=ordered)

    async def judge(self, watch: LagWatch, *, ordered: bool = False) -> Row:
        """Wait for quiet, read the DLQ and the history, and take the verdict."""
        quiet = await watch.quiet(
            lambda: len(self.ledger.arrivals), timeout_s=self.profile.settle_timeout_s
        )
        if not quiet:
            self.ledger.problem(f"not quiet after the settle timeout; lags {watch.last}")
        if self.report is not None:
            if self.report.refused:
                self.ledger.problem(f"ingest refused events: {self.report.refused[:3]}")
            if self.report.abandoned:
                self.ledger.problem(f"{self.report.abandoned} events never accepted")
        if watch.max_total is not None:
            self.ledger.lag_seen(watch.max_total)
        bootstrap = self.chaos.stack.cluster.bootstrap_servers
        for channel in self.channels:
            self.ledger.dead_lettered(await dead_letters(bootstrap, delivery_dlq_topic(channel)))
        notifier_ids = [sub.notifier_id for sub in self.ledger.subscribers.values()]
        self.ledger.recorded(await history(self.chaos.stack.postgres.url, notifier_ids))
        row = self.ledger.verdict(ordered=ordered)
        self.chaos.rows.append(row)
        return row

    async def a_new_notifier_receives(self, timeout_s: float = 60) -> None:
        """After the fault: a notifier made now through the API receives the next events."""
        app_id = self.apps[0]
        late = await self.add_notifier(app_id, "late", ("app_deployed",), judged=False)
        await self.probe_until_routed([late], timeout_s=timeout_s)

    def close(self) -> None:
        self.chaos.receiver.detach(self.ledger)


async def in_thread(call: Callable[[], Any]) -> Any:
    """A blocking stack operation (start and wait for readiness) off the event loop."""
    return await asyncio.to_thread(call)


def kill_and_restart(service: str, *, times: int, every_s: float) -> Fault:
    """SIGKILL `service` `times` times, `every_s` apart, each time started again by the stack
    (and ready) before the next pause."""

    async def fault(trial: Trial) -> None:
        stack = trial.chaos.stack
        for _ in range(times):
            await asyncio.sleep(every_s)
            killed = await in_thread(stack.process(service).kill)
            assert killed, f"{service} was not running"
            await in_thread(lambda: stack.start_service(service))

    return fault


def broker_killed(*, after_s: float, down_s: float = 0.0) -> Fault:
    """SIGKILL the broker `after_s` into the load, start it again `down_s` later, and wait
    until it answers."""

    async def fault(trial: Trial) -> None:
        from herald_kafka.admin import wait_until_ready

        kafka = trial.chaos.stack.kafka
        await asyncio.sleep(after_s)
        assert await in_thread(kafka.process.kill), "the broker was not running"
        await asyncio.sleep(down_s)
        await in_thread(kafka.start)
        await wait_until_ready(kafka.client_settings(), timeout_s=120)

    return fault


def broker_paused(*, after_s: float, paused_s: float) -> Fault:
    """SIGSTOP the broker `after_s` into the load for `paused_s`, then SIGCONT."""

    async def fault(trial: Trial) -> None:
        kafka = trial.chaos.stack.kafka
        await asyncio.sleep(after_s)
        assert kafka.process.pause(), "the broker was not running"
        try:
            await asyncio.sleep(paused_s)
        finally:
            kafka.process.resume()

    return fault


async def restart_service(
    stack: Stack, name: str, *, env: dict[str, str] | None = None, timeout_s: float = 90.0
) -> None:
    """Stop service `name` (SIGTERM: it drains and commits) and start it again, with `env`
    added to its environment for this start only; returns once it is ready."""
    await in_thread(stack.process(name).stop)
    await in_thread(lambda: stack.start_service(name, env=env, timeout_s=timeout_s))
