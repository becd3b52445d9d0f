"""The retry tiers under faults: the sender SIGKILLed while every delivery waits in a tier, and
deliveries whose retries run out, dead-lettered, then sent again: through the API's redeliver
endpoint, and by the operator's `herald-ops dlq replay`.

The chaos stack's tiers are 1, 2, 4, 8 and 16 s (conftest.py): a delivery failing every attempt
is tried at about 0, 1, 3, 7 and 15 s, then waits 16 s in the last tier, and its sixth failure
dead-letters it (`exhausted`). The retry records are read back from the tier topics: each
carries its delivery's id (in the value), the attempt just failed (`x-attempt`) and when the
next one is due (`x-due-at`).

"None early", precisely: every attempt of a delivery after its first must be allowed by a retry
record of that delivery whose due time has passed, each record allowing one attempt (the
attempts, in the order they reached the receiver, are matched to the records in the order of
their due times). An attempt no record allows is early. The kill comes at a quiet moment (no
attempt for a second, every offset committed), so it leaves no attempt to be made twice.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from herald_core import headers as h
from herald_core.retry import due_at_ms
from herald_core.topics import Channel, retry_topic
from herald_core.topics import retry_tiers as topic_retry_tiers
from herald_kafka import Record
from herald_testing.ledger import Arrival, DeadLetter, Row
from herald_testing.ledger_receiver import OK, Behaviour, LedgerReceiver
from herald_testing.polling import eventually
from herald_testing.topics import records_now

from chaos.harness import Chaos, Trial, in_thread

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

TIERS = 5
TOLERANCE_S = 0.01  # x-due-at is in milliseconds


@dataclass(frozen=True)
class Waiting:
    """A retry record: its delivery, the attempt that failed, when the next one is due, and
    when it was written."""

    delivery_id: str
    attempt: int
    due: float
    written: float


def waiting_of(record: Record) -> Waiting:
    value = json.loads(record.value or b"{}")
    due_ms = due_at_ms(record.headers)
    assert due_ms is not None, "a retry record without x-due-at"
    return Waiting(
        delivery_id=str(value["id"]),
        attempt=int(h.header(list(record.headers), h.ATTEMPT) or 0),
        due=due_ms / 1000,
        written=record.timestamp / 1000,
    )


async def retry_records(bootstrap: str, delivery_ids: set[str]) -> list[Waiting]:
    """Every record of the webhook tiers for `delivery_ids`."""
    found: list[Waiting] = []
    for tier in topic_retry_tiers():
        records = await records_now(bootstrap, retry_topic(Channel.WEBHOOK, tier), _every)
        found += [w for w in map(waiting_of, records) if w.delivery_id in delivery_ids]
    return found


def _every(_: Record) -> bool:
    return True


def early_attempts(arrivals: Sequence[float], dues: Sequence[float]) -> list[float]:
    """How early each attempt of one delivery came that no due retry record allowed (see the
    module docstring): `arrivals` are the times of its attempts, `dues` its records' due
    times. Pure."""
    allowed, used, early = sorted(dues), 0, []
    for at in sorted(arrivals)[1:]:
        if used < len(allowed) and allowed[used] <= at + TOLERANCE_S:
            used += 1
        else:
            early.append(allowed[used] - at if used < len(allowed) else float("inf"))
    return early


def attempts_by_delivery(arrivals: Sequence[Arrival]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for arrival in arrivals:
        if arrival.webhook_id is not None:
            found[arrival.webhook_id].append(arrival.at)
    return found


async def judged_again(trial: Trial, label: str) -> Row:
    """The trial judged once more (after a repair): its own row, `<scenario>, <label>`."""
    judged = await trial.judge(trial.chaos.lag_watch())
    row = replace(judged, scenario=f"{judged.scenario}, {label}")
    trial.chaos.rows[-1] = row
    return row


def all_failed(trial: Trial, times: int, quiet_s: float) -> bool:
    """Every expected delivery was refused `times` times, the last attempt `quiet_s` ago."""
    expected = set(trial.ledger.expected().values())
    attempts = attempts_by_delivery(trial.ledger.arrivals)
    if not expected or any(len(attempts.get(ident, ())) < times for ident in expected):
        return False
    last = max(at for ident in expected for at in attempts[ident])
    return time.time() - last >= quiet_s


async def test_sender_killed_while_deliveries_wait_in_the_last_tier(chaos: Chaos) -> None:
    trial = await chaos.trial("sender SIGKILL, retries waiting", duplicates_allowed=True, apps=4)
    receiver, stack, marks = chaos.receiver, chaos.stack, {}

    async def fault(trial: Trial) -> None:
        receiver.behave(trial.prefix, Behaviour(503))
        try:
            await asyncio.sleep(2)  # the burst is accepted meanwhile
            await eventually(
                lambda: all_failed(trial, TIERS, quiet_s=1.0),
                timeout_s=120,
                interval_s=0.2,
                what="every delivery refused five times, waiting in the last tier",
            )
            marks["killed"] = time.time()
            assert await in_thread(stack.process("sender-webhook").kill), "sender not running"
            await in_thread(lambda: stack.start_service("sender-webhook"))
            marks["restarted"] = time.time()
        finally:
            receiver.behave(trial.prefix, OK)

    try:
        row = await trial.run(fault=fault, seconds=1, rate_per_s=40)
        assert row.passed, row.problems
        assert row.dead_lettered == 0, "every delivery made it within the retry tiers"
        expected = set(trial.ledger.expected().values())
        waiting = await retry_records(stack.kafka.bootstrap_servers, expected)
        dues: dict[str, list[float]] = defaultdict(list)
        for record in waiting:
            dues[record.delivery_id].append(record.due)
        attempts = attempts_by_delivery(trial.ledger.arrivals)
        early = {
            ident: found
            for ident in expected
            if (found := early_attempts(attempts[ident], dues[ident]))
        }
        assert early == {}, f"{len(early)} deliveries tried early, e.g. {list(early.items())[:3]}"
        across = [w for w in waiting if w.written < marks["killed"] < marks["restarted"] < w.due]
        print(
            f"\n  {len(waiting)} retry records; {len(across)} still waiting when the sender"
            f" was back ({marks['restarted'] - marks['killed']:.1f} s after the kill)"
        )
        assert across, "no record was still waiting when the sender came back"
        await trial.a_new_notifier_receives()
    finally:
        trial.close()


async def exhaust(trial: Trial, receiver: LedgerReceiver) -> dict[str, DeadLetter]:
    """Load the trial with its receiver refusing everything until every delivery has used its
    retry tiers and is dead-lettered (`exhausted`, after TIERS + 1 attempts); its dead letters
    by delivery id."""
    receiver.behave(trial.prefix, Behaviour(503))
    try:
        row = await trial.run(seconds=1, rate_per_s=20)
    finally:
        receiver.behave(trial.prefix, OK)
    assert row.passed, row.problems
    assert row.delivered == 0
    assert row.dead_lettered == row.expected > 0
    ours = {sub.notifier_id for sub in trial.ledger.subscribers.values()}
    letters = {dl.delivery_id: dl for dl in trial.ledger.dead_letters if dl.notifier_id in ours}
    assert {dl.reason for dl in letters.values()} == {"exhausted"}
    attempts = attempts_by_delivery(trial.ledger.arrivals)
    assert {len(attempts[ident]) for ident in letters} == {TIERS + 1}
    return letters


async def all_delivered_again(trial: Trial, label: str) -> None:
    """Every dead-lettered delivery reaches its receiver after the repair, and the trial's
    verdict, judged again, holds: delivered, none left in the DLQ."""
    await eventually(
        lambda: trial.ledger.outstanding() == 0,
        timeout_s=120,
        interval_s=0.5,
        what="every dead-lettered delivery at its receiver",
    )
    again = await judged_again(trial, label)
    assert again.passed, again.problems
    assert (again.delivered, again.dead_lettered) == (again.expected, 0)
    await trial.a_new_notifier_receives()


async def test_retries_exhausted_dead_lettered_then_redelivered(chaos: Chaos) -> None:
    trial = await chaos.trial("retries exhausted, DLQ", apps=4)
    try:
        letters = await exhaust(trial, chaos.receiver)
        for ident, letter in letters.items():
            assert letter.event_id is not None
            app_id = trial.ledger.sent[letter.event_id].app_id
            status, body = await chaos.admin.call(
                "POST", f"/v1/apps/{app_id}/deliveries/{ident}/redeliver"
            )
            assert status == 202, body
            assert body["redelivery"]["delivery_id"] == ident
            assert body["redelivery"]["attempt"] == TIERS + 2
        await all_delivered_again(trial, "then redelivered")
    finally:
        trial.close()


async def test_retries_exhausted_dead_lettered_then_replayed_by_the_operator(chaos: Chaos) -> None:
    """The operator's way back from an outage: `herald-ops dlq replay`, the installed command
    run as a process against the stack's broker, picks this trial's dead letters by reason and
    time and puts them back on the deliveries topic, each at attempt 1 with its delivery id."""
    trial = await chaos.trial("retries exhausted, DLQ, herald-ops", apps=4)
    try:
        since = datetime.now(UTC).isoformat()
        letters = await exhaust(trial, chaos.receiver)
        replayed = await in_thread(
            lambda: herald_ops(
                chaos.stack.kafka.bootstrap_servers,
                "dlq",
                "replay",
                "-c",
                "webhook",
                "--reason",
                "exhausted",
                "--since",
                since,
                "--yes",
            )
        )
        counted = re.search(r"matched (\d+), replayed (\d+)", replayed)
        assert counted is not None, replayed
        assert (int(counted[1]), int(counted[2])) == (len(letters), len(letters)), replayed
        await all_delivered_again(trial, "then replayed")
    finally:
        trial.close()


def herald_ops(bootstrap: str, *args: str) -> str:
    """The installed `herald-ops` command, run as a process; its output (it must succeed)."""
    command = Path(sys.executable).with_name("herald-ops")
    done = subprocess.run(
        [str(command), *args, "--bootstrap-servers", bootstrap],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout + done.stderr
