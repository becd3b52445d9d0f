"""Postgres stopped in immediate mode (a crash, as far as its data is concerned) for 20 s while
notifiers are edited through the API and events flow.

The API answers 503 with `Retry-After` (never a 500) and its `/readyz` turns false, then true
again after the restart; every write answered 2xx is read back afterwards; the outbox catches
up (the edits reach the router: an edited notifier receives what its new selection selects,
a notifier created around the crash receives its events); the recorder keeps one terminal
history row per delivery (the ledger checks it); nothing is lost. The chaos stack's Postgres
runs durable (fsync, synchronous commit, full-page writes), as `make up` runs it.

An `app_renamed` event sent through ingest during the outage reaches the API's directory once
the database is back, and an audit-only event the recorder's audit log: their consumers wait
for the database, they do not skip the event.

The editing clients behave: a 503 is tried again after its `Retry-After`, a POST with the same
`Idempotency-Key`. Routing and delivery do not need the database, so the load goes on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from herald_testing.api_client import ApiClient
from herald_testing.ledger import Subscriber
from herald_testing.polling import eventually

from chaos.harness import Chaos, Trial, in_thread, new_secret
from chaos.patience import Answer, ReadinessWatch, call_until_2xx

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DOWN_S = 20.0
BEFORE_S = 3.0
OWNER = "chaos-owner"  # the harness's apps' owner
EDITED_FROM, EDITED_TO = ("DEPLOYMENT_SUCCESS",), ("DEPLOYMENT_FAIL",)


@dataclass
class Editor:
    """Edits the notifiers of one app (no load of its own), one call after the other: creates
    a notifier, renames the `edited` one, and again, until told to stop."""

    trial: Trial
    app_id: str
    answers: list[Answer]
    edited: Subscriber | None = None
    created: list[Subscriber] = field(default_factory=list)
    last_name: str | None = None
    audited: list[str] = field(default_factory=list)

    @property
    def api(self) -> ApiClient:
        return self.trial.chaos.admin

    @property
    def base(self) -> str:
        return f"/v1/apps/{self.app_id}/notifiers"

    async def prepare(self) -> None:
        await self.trial.register(self.app_id)
        self.edited = await self.create("edited", EDITED_FROM)

    async def create(self, kind: str, selects: tuple[str, ...]) -> Subscriber:
        path, secret = f"{self.trial.prefix}/{self.app_id}/{kind}", new_secret()
        url = self.trial.chaos.receiver.url(path)
        body = {
            "notifier": {
                "name": f"pg {kind}",
                "platform_id": "webhook",
                "selected_event_ids": list(selects),
                "type_data": {"webhook_url": url, "secret": secret},
            }
        }
        key = {"Idempotency-Key": uuid.uuid4().hex}
        made = await call_until_2xx(
            self.api, "POST", self.base, body, answers=self.answers, headers=key
        )
        self.trial.chaos.receiver.expect(path, secret)
        return Subscriber(made["notifier"]["id"], self.app_id, path, frozenset(selects))

    async def patch(self, changes: dict[str, object]) -> None:
        assert self.edited is not None
        path = f"{self.base}/{self.edited.notifier_id}"
        await call_until_2xx(self.api, "PATCH", path, {"notifier": changes}, answers=self.answers)

    async def run(self, stop: asyncio.Event) -> None:
        round_ = 0
        while not stop.is_set():
            self.created.append(await self.create(f"c{round_}", ("app_deployed",)))
            name = f"pg edited {round_}"
            await self.patch({"name": name})
            self.last_name = name
            round_ += 1
            await asyncio.sleep(0.2)

    async def reselect(self) -> None:
        """The edit whose effect the router must see: FAIL instead of SUCCESS."""
        await self.patch({"selected_event_ids": list(EDITED_TO)})

    @property
    def new_name(self) -> str:
        return f"{self.app_id}-renamed"

    async def platform_news(self) -> None:
        """Through ingest (which needs no database): an `app_renamed` event, for the API's
        directory, and an audit-only one, for the recorder's audit log."""
        renamed = {
            "id": f"ev-{uuid.uuid4().hex}",
            "type": "app_renamed",
            "created_at": datetime.now(UTC).isoformat(),
            "source": "deployer",
            "app_id": self.app_id,
            "app_name": self.new_name,
            "owner_id": OWNER,
            "type_data": {"old_name": self.app_id, "new_name": self.new_name},
        }
        audited = {
            **renamed,
            "id": f"ev-{uuid.uuid4().hex}",
            "type": "app:budget:set",
            "source": "convox-rack",
            "rack": "chaos-rack",
            "type_data": {"actor": "chaos@example.com"},
        }
        for event in (renamed, audited):
            async with self.trial.chaos.http.post(
                self.trial.chaos.events_url, json=event, headers=self.trial.chaos.ingest_headers
            ) as sent:
                assert sent.status == 202, await sent.text()
        self.audited.append(audited["id"])

    async def directory_renamed(self) -> bool:
        status, body = await self.api.call("GET", f"/v1/apps/{self.app_id}")
        assert status == 200, body
        return bool(body["app"]["name"] == self.new_name)

    def now_selecting(self) -> list[Subscriber]:
        assert self.edited is not None
        edited = Subscriber(
            self.edited.notifier_id, self.app_id, self.edited.path, frozenset(EDITED_TO)
        )
        return [edited, *self.created]


def outage_with_edits(editors: list[Editor], watch: ReadinessWatch, marks: dict[str, float]):
    """The fault: editors at work, the selection edits answered, Postgres stopped for
    `DOWN_S`, started; the editors stop once the API is ready again. Then the edited and
    created notifiers join the ledger and get events of their own."""

    async def fault(trial: Trial) -> None:
        stop_editing, stop_watching = asyncio.Event(), asyncio.Event()
        async with asyncio.TaskGroup() as group:
            group.create_task(watch.watch(stop_watching))
            editing = [group.create_task(editor.run(stop_editing)) for editor in editors]
            await asyncio.sleep(BEFORE_S)
            for editor in editors:
                await editor.reselect()
            postgres = trial.chaos.stack.postgres
            marks["stopping"] = time.time()
            assert await in_thread(lambda: postgres.stop("immediate")), "postgres not running"
            marks["stopped"] = time.time()
            await asyncio.sleep(DOWN_S / 2)
            for editor in editors:  # the platform's own news, for the API's directory
                await editor.platform_news()
            await asyncio.sleep(DOWN_S / 2)
            await in_thread(postgres.start)
            marks["started"] = time.time()
            await eventually(
                lambda: watch.first(200, after=marks["started"]) is not None,
                timeout_s=120,
                interval_s=0.5,
                what="the API ready again",
            )
            await asyncio.sleep(1.0)  # a few more writes with the database back
            stop_editing.set()
            await asyncio.gather(*editing)
            stop_watching.set()
        subscribers = [sub for editor in editors for sub in editor.now_selecting()]
        for subscriber in subscribers:
            trial.ledger.subscribe(subscriber)
        # A probe is a failed deployment: the edited notifier receives it only once the router
        # has its new selection, so this waits for the outbox to have caught up.
        await trial.probe_until_routed(subscribers, timeout_s=120)
        for editor in editors:
            for n in range(4):
                await trial.send_one(editor.app_id, n)

    return fault


def unexpected_answers(answers: list[Answer]) -> list[Answer]:
    """Answers a database outage must not produce: a 5xx but 503, a 503 without
    `Retry-After`. Pure."""
    return [
        a
        for a in answers
        if a.status is not None and a.status >= 500 and (a.status != 503 or not a.retry_after)
    ]


async def test_postgres_stopped_20_s_while_notifiers_are_edited(chaos: Chaos) -> None:
    assert chaos.stack.postgres.durable, "the chaos stack's postgres must be crash-safe"
    trial = await chaos.trial("postgres immediate stop 20 s")
    try:
        answers: list[Answer] = []
        editors = [Editor(trial, f"{trial.apps[0][:36]}-edit{i}", answers) for i in range(3)]
        for editor in editors:
            await editor.prepare()
        watch = ReadinessWatch(chaos.http, f"{chaos.stack.api_url}/readyz")
        marks: dict[str, float] = {}
        row = await trial.run(
            fault=outage_with_edits(editors, watch, marks), seconds=BEFORE_S + DOWN_S + 5
        )

        statuses = sorted({str(a.status) for a in answers})
        just_before = [
            a
            for a in answers
            if a.status is not None and a.status < 300 and 0 <= marks["stopping"] - a.at < 1
        ]
        print(f"\n  API answers during the run: {statuses}, {len(answers)} tries;")
        print(f"  {len(just_before)} writes acknowledged in the second before the crash")
        assert unexpected_answers(answers) == []
        assert any(a.status == 503 for a in answers), "no write met the outage"
        unready = watch.first(503, after=marks["stopping"])
        ready = watch.first(200, after=marks["started"])
        assert unready is not None, "/readyz never false"
        assert unready < marks["started"], "/readyz false only after the restart"
        assert unready - marks["stopped"] < 10, "/readyz slow to see the database gone"
        assert ready is not None, "/readyz never true again"
        print(
            f"  pg_ctl stop -m immediate took {marks['stopped'] - marks['stopping']:.1f} s;"
            f" /readyz false {unready - marks['stopping']:.1f} s after it began,"
            f" true {ready - marks['started']:.1f} s after the start"
        )
        for editor in editors:
            await written_back(editor)
        for editor in editors:  # sent while the database was out: applied once it is back
            await eventually(
                editor.directory_renamed, timeout_s=60, interval_s=0.5, what="the app renamed"
            )
        audited = {ident for editor in editors for ident in editor.audited}
        await eventually(
            lambda: audit_logged(chaos, audited), timeout_s=60, interval_s=0.5, what="audit log"
        )
        assert row.passed, row.problems
        await trial.a_new_notifier_receives()
    finally:
        trial.close()


async def audit_logged(chaos: Chaos, event_ids: set[str]) -> bool:
    status, body = await chaos.admin.call("GET", f"/v1/owners/{OWNER}/audit-log", limit="200")
    assert status == 200, body
    return event_ids <= {entry["id"] for entry in body["entries"]}


async def written_back(editor: Editor) -> None:
    """Every write the API acknowledged is there after the crash."""
    assert editor.edited is not None
    status, body = await editor.api.call("GET", f"{editor.base}/{editor.edited.notifier_id}")
    assert status == 200, body
    assert body["notifier"]["name"] == editor.last_name
    assert body["notifier"]["selected_event_ids"] == list(EDITED_TO)
    status, listed = await editor.api.call("GET", editor.base)
    assert status == 200, listed
    present = {notifier["id"] for notifier in listed["notifiers"]}
    missing = [sub.notifier_id for sub in editor.created if sub.notifier_id not in present]
    assert missing == [], f"acknowledged creations lost: {missing}"
