"""The delivery ledger's books and verdict (herald_testing.ledger), on planted data: no broker."""

from __future__ import annotations

import pytest
from herald_core.deliveries import delivery_id
from herald_kafka.lag import group_lag
from herald_testing.ledger import Arrival, DeadLetter, Ledger, Sent, Subscriber
from herald_testing.ledger_table import COLUMNS, FAIL, PASS, Row, render_table

DEPLOYS = Subscriber("n-deploys", "app-1", "/s/app-1/deploys", frozenset({"app_deployed"}))
FAILURES = Subscriber("n-fails", "app-1", "/s/app-1/fails", frozenset({"DEPLOYMENT_FAIL"}))
OTHER_APP = Subscriber("n-other", "app-2", "/s/app-2/deploys", frozenset({"app_deployed"}))
SUCCESS = frozenset({"app_deployed", "DEPLOYMENT_SUCCESS"})
FAILED = frozenset({"app_deployed", "DEPLOYMENT_FAIL"})


def books(*, duplicates_allowed: bool = False) -> Ledger:
    ledger = Ledger("unit", duplicates_allowed=duplicates_allowed)
    for subscriber in (DEPLOYS, FAILURES, OTHER_APP):
        ledger.subscribe(subscriber)
    return ledger


def arrival(
    sub: Subscriber,
    event_id: str,
    *,
    at: float = 10.0,
    status: int = 200,
    valid: bool | None = True,
    webhook_id: str | None = None,
) -> Arrival:
    return Arrival(
        path=sub.path,
        webhook_id=webhook_id or delivery_id(event_id, sub.notifier_id),
        event_id=event_id,
        status=status,
        signature_valid=valid,
        at=at,
    )


def letter(sub: Subscriber, event_id: str, reason: str | None = "gone", at: float = 11.0):
    return DeadLetter(delivery_id(event_id, sub.notifier_id), event_id, sub.notifier_id, reason, at)


def loaded() -> Ledger:
    """e1 succeeded (→ deploys), e2 failed (→ deploys and fails), e3 on app-2 (→ other)."""
    ledger = books()
    ledger.accepted(Sent("e1", "app-1", SUCCESS, 1.0))
    ledger.accepted(Sent("e2", "app-1", FAILED, 2.0, tries=3))
    ledger.accepted(Sent("e3", "app-2", SUCCESS, 3.0))
    return ledger


def deliver_all(ledger: Ledger, *, valid: bool | None = True) -> None:
    for sub, event_id, at in [
        (DEPLOYS, "e1", 10.0),
        (DEPLOYS, "e2", 11.0),
        (FAILURES, "e2", 12.0),
        (OTHER_APP, "e3", 13.0),
    ]:
        ledger.arrived(arrival(sub, event_id, at=at, valid=valid))


def test_expected_is_each_event_times_each_subscriber_that_selects_it():
    assert loaded().expected() == {
        ("e1", "n-deploys"): delivery_id("e1", "n-deploys"),
        ("e2", "n-deploys"): delivery_id("e2", "n-deploys"),
        ("e2", "n-fails"): delivery_id("e2", "n-fails"),
        ("e3", "n-other"): delivery_id("e3", "n-other"),
    }


def test_everything_delivered_once_passes():
    ledger = loaded()
    deliver_all(ledger)
    row = ledger.verdict(ordered=True)
    assert row == Row(
        scenario="unit",
        events=3,
        expected=4,
        delivered=4,
        dead_lettered=0,
        duplicates=0,
        lost=0,
        phantom=0,
        retried=1,
    )
    assert row.passed
    assert row.verdict == PASS
    assert ledger.outstanding() == 0


def test_a_missing_delivery_is_lost():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrivals = [a for a in ledger.arrivals if a.path != FAILURES.path]
    row = ledger.verdict()
    assert (row.lost, row.delivered, row.verdict) == (1, 3, FAIL)
    assert row.problems[0] == "1 lost, e.g. ('e2', 'n-fails')"
    assert ledger.outstanding() == 1


def test_an_answer_other_than_2xx_is_an_attempt_not_a_delivery():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrivals[0] = arrival(DEPLOYS, "e1", status=503)
    row = ledger.verdict()
    assert (row.lost, row.delivered) == (1, 3)


@pytest.mark.parametrize(
    ("sub", "event_id"),
    [
        (FAILURES, "e1"),  # an event the notifier does not select
        (OTHER_APP, "e1"),  # another app's notifier
        (DEPLOYS, "e-never-sent"),  # an event ingest never accepted
        (DEPLOYS, None),  # a body that is not an event
    ],
)
def test_an_unexpected_arrival_is_a_phantom(sub, event_id):
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrived(
        Arrival(sub.path, "whatever", event_id, 200, signature_valid=True, at=20.0),
    )
    row = ledger.verdict()
    assert (row.phantom, row.lost, row.verdict) == (1, 0, FAIL)
    assert "phantom" in row.problems[0]


def test_an_unexpected_dead_letter_is_a_phantom_too():
    ledger = loaded()
    deliver_all(ledger)
    ledger.dead_lettered([letter(FAILURES, "e1")])
    assert ledger.verdict().phantom == 1


def test_probes_are_neither_expected_nor_phantoms():
    ledger = loaded()
    deliver_all(ledger)
    ledger.probe("p1")
    ledger.arrived(arrival(DEPLOYS, "p1"))
    ledger.arrived(arrival(DEPLOYS, "p1"))
    row = ledger.verdict()
    assert (row.expected, row.phantom, row.duplicates, row.verdict) == (4, 0, 0, PASS)


def test_duplicates_fail_a_run_that_allows_none_and_are_counted_in_one_that_does():
    strict, lenient = loaded(), books(duplicates_allowed=True)
    for sent in strict.sent.values():
        lenient.accepted(sent)
    for ledger in (strict, lenient):
        deliver_all(ledger)
        ledger.arrived(arrival(DEPLOYS, "e1", at=30.0))
        ledger.arrived(arrival(DEPLOYS, "e1", at=31.0))
    assert (strict.verdict().duplicates, strict.verdict().verdict) == (2, FAIL)
    assert "duplicate" in strict.verdict().problems[0]
    assert (lenient.verdict().duplicates, lenient.verdict().verdict) == (2, PASS)


def test_a_bad_signature_fails_the_run_even_on_a_probe():
    ledger = loaded()
    deliver_all(ledger)
    ledger.probe("p1")
    ledger.arrived(arrival(DEPLOYS, "p1", valid=False))
    row = ledger.verdict()
    assert row.verdict == FAIL
    assert row.problems == ("1 arrivals with an invalid signature",)


def test_an_unsigned_chat_post_is_not_held_against_the_run():
    ledger = loaded()
    deliver_all(ledger, valid=None)
    row = ledger.verdict(ordered=True)
    assert (row.delivered, row.verdict, row.problems) == (4, PASS, ())


def test_a_chat_post_without_its_delivery_id_fails_the_run():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrived(
        Arrival(DEPLOYS.path, None, "e1", 200, signature_valid=None, at=40.0),
    )
    row = ledger.verdict()
    assert row.verdict == FAIL
    assert row.duplicates == 1
    assert any("X-Herald-Delivery-Id" in problem for problem in row.problems)


def test_a_webhook_id_other_than_the_delivery_id_fails_the_run():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrived(arrival(DEPLOYS, "e1", webhook_id="another-id", at=40.0))
    row = ledger.verdict(ordered=True)
    assert row.verdict == FAIL
    assert any("webhook-id" in problem for problem in row.problems)


def test_a_dead_letter_with_a_reason_accounts_for_a_delivery():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrivals = [a for a in ledger.arrivals if a.path != FAILURES.path]
    ledger.arrived(arrival(FAILURES, "e2", status=410, at=12.0))
    ledger.dead_lettered([letter(FAILURES, "e2", "gone", at=12.5)])
    row = ledger.verdict()
    assert (row.delivered, row.dead_lettered, row.lost, row.verdict) == (3, 1, 0, PASS)


def test_a_dead_letter_without_a_reason_does_not():
    ledger = loaded()
    deliver_all(ledger)
    ledger.arrivals = [a for a in ledger.arrivals if a.path != FAILURES.path]
    ledger.dead_lettered([letter(FAILURES, "e2", None)])
    row = ledger.verdict()
    assert (row.dead_lettered, row.lost, row.verdict) == (0, 1, FAIL)
    assert any("no reason" in problem for problem in row.problems)


def test_a_delivery_both_delivered_and_dead_lettered_counts_once_as_delivered():
    ledger = loaded()
    deliver_all(ledger)
    ledger.dead_lettered([letter(DEPLOYS, "e1", "server_error")])
    row = ledger.verdict()
    assert (row.delivered, row.dead_lettered, row.verdict) == (4, 0, PASS)


def history_of(ledger: Ledger, **override: list[str]) -> dict[str, list[str]]:
    rows = {ident: ["delivered"] for ident in ledger.expected().values()}
    rows.update(override)
    return rows


def test_history_with_one_terminal_row_per_delivery_passes():
    ledger = loaded()
    deliver_all(ledger)
    ledger.recorded(history_of(ledger))
    assert ledger.verdict().verdict == PASS


@pytest.mark.parametrize(
    "statuses",
    [[], ["retry_scheduled"], ["dead_lettered"], ["delivered", "delivered"]],
)
def test_history_missing_unfinished_or_disagreeing_fails(statuses):
    ledger = loaded()
    deliver_all(ledger)
    ledger.recorded(history_of(ledger, **{delivery_id("e1", "n-deploys"): statuses}))
    row = ledger.verdict()
    assert row.verdict == FAIL
    assert "history" in row.problems[0]


def test_a_history_row_nothing_explains_fails():
    ledger = loaded()
    deliver_all(ledger)
    ledger.recorded(history_of(ledger, stray=["delivered"]))
    assert ledger.verdict().problems == ("1 history rows no expected delivery explains",)


def test_order_is_checked_per_subscriber_when_asked():
    ledger = loaded()
    ledger.arrived(arrival(DEPLOYS, "e2", at=10.0))
    ledger.arrived(arrival(DEPLOYS, "e1", at=11.0))  # e1 was accepted first
    ledger.arrived(arrival(FAILURES, "e2", at=12.0))
    ledger.arrived(arrival(OTHER_APP, "e3", at=13.0))
    assert ledger.verdict().verdict == PASS
    row = ledger.verdict(ordered=True)
    assert row.problems == (f"{DEPLOYS.path}: deliveries out of the order ingest accepted them",)


def test_recovery_is_from_the_fault_end_to_the_last_delivery_or_dead_letter():
    ledger = loaded()
    deliver_all(ledger)  # last delivery at 13.0
    assert ledger.verdict().recovery_s is None
    ledger.fault_ended(9.0)
    assert ledger.verdict().recovery_s == pytest.approx(4.0)
    ledger.arrivals = [a for a in ledger.arrivals if a.path != OTHER_APP.path]
    ledger.dead_lettered([letter(OTHER_APP, "e3", "exhausted", at=20.0)])
    assert ledger.verdict().recovery_s == pytest.approx(11.0)
    ledger.fault_ended(30.0)
    assert ledger.verdict().recovery_s == 0.0


def test_lag_samples_keep_the_largest_and_a_scenario_adds_its_own_problems():
    ledger = loaded()
    deliver_all(ledger)
    for lag in (3, 40, 0):
        ledger.lag_seen(lag)
    ledger.problem("ingest answered 202 for an event missing from notify.events")
    row = ledger.verdict()
    assert row.max_lag == 40
    assert row.problems == ("ingest answered 202 for an event missing from notify.events",)
    assert row.verdict == FAIL


def test_render_table_prints_every_row_and_the_problems_of_failed_ones():
    good = Row("steady", 600, 750, 750, 0, 0, 0, 0, max_lag=12)
    bad = Row(
        "router SIGKILL x5",
        400,
        500,
        498,
        1,
        37,
        1,
        0,
        retried=3,
        max_lag=220,
        recovery_s=4.3,
        verdict=FAIL,
        problems=("1 lost, e.g. ('e9', 'n-1')",),
    )
    text = render_table([good, bad])
    lines = text.splitlines()
    header = next(line for line in lines if "scenario" in line)
    for name in ("scenario", "events", "expected", "dead-lettered", "recovery s", "verdict"):
        assert name in header
    assert len(COLUMNS) == 12
    steady = next(line for line in lines if "steady" in line)
    cells = [cell.strip() for cell in steady.split("│")[1:-1]]
    assert cells == ["steady", "600", "750", "750", "0", "0", "0", "0", "0", "12", "-", "pass"]
    router = [c.strip() for c in next(x for x in lines if "router" in x).split("│")[1:-1]]
    assert router[-3:] == ["220", "4.3", "FAIL"]
    assert text.rstrip().endswith("router SIGKILL x5: 1 lost, e.g. ('e9', 'n-1')")
    assert "\x1b[" not in text  # no colour codes: it goes to logs and docs


def test_render_table_of_no_rows_is_an_empty_table():
    assert "scenario" in render_table([])


@pytest.mark.parametrize(
    ("committed", "expected"),
    [
        ({}, 10 + 5),  # nothing committed: from each partition's beginning
        ({0: 10, 1: 7}, 0),
        ({0: 4, 1: -1}, 6 + 5),  # -1: no commit on that partition
        ({0: 12, 1: 7}, 0),  # never negative
    ],
)
def test_group_lag_counts_from_commits_else_from_the_beginning(committed, expected):
    from herald_kafka import TopicPartition

    tps = [TopicPartition("t", 0), TopicPartition("t", 1)]
    beginnings = {tps[0]: 0, tps[1]: 2}
    ends = {tps[0]: 10, tps[1]: 7}
    given = {tps[p]: offset for p, offset in committed.items()}
    assert group_lag(tps, given, beginnings, ends) == expected
