"""The alerter's state in memory, without Kafka: what each record does (docs/alerts.md).

    AlerterTables(metrics, checkpoint_s)
        .handle_config(key, value)        one `notify.config.alerts` record → the rules; the
                                          states of deleted, disabled, re-targeted rules go
        .handle_points(partition, records)
                                          a batch of one `platform.metrics` partition →
                                          evaluate → the alert events to emit, in order
        .checkpoint()                     the state records to write: every transition, and a
                                          quiet rule's `last_at` every `checkpoint_s`
        .written(records)                 those records are on the changelog now
        .hold(partition, records)         a partition taken on: its states from the changelog,
                                          less those whose rule is gone meanwhile
        .release(partitions)              partitions given up: their states are forgotten

The rules of every app are held (every worker reads all of `notify.config.alerts`); states only
for the partitions this worker holds, each under its partition's number, which is also the
changelog partition it is written to (both topics are keyed by app id: docs/alerts.md).

The shell (`herald_alerter.app`) sends `handle_points`' events and awaits their acks before it
asks for `checkpoint()`, and commits offsets only once the checkpoint is acked: a crash between
the two repeats the same events (deterministic ids), it never loses one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import structlog
from herald_core import headers as h
from herald_core.alerts import AlertRule, AppAlerts, Metric
from herald_kafka import Record
from herald_kafka.producer import OutgoingRecord, event_record
from pydantic import ValidationError

from herald_alerter.evaluate import (
    AlertState,
    Verdict,
    dropped_rules,
    evaluate,
    needs_checkpoint,
    outlived,
    parse_point,
)
from herald_alerter.metrics import AlerterMetrics, ConfigOutcome, PointOutcome

log = structlog.get_logger(__name__)

Watch = tuple[Metric, str]


def state_key(app_id: str, alert_id: str) -> bytes:
    """The key of one rule's state: `<app id>␟<alert id>` (unit separator)."""
    return f"{app_id}\x1f{alert_id}".encode()


@dataclass(frozen=True)
class AppRules:
    """One app's rules, and its active ones by what they watch (metric, container type), each
    with its state key."""

    alerts: AppAlerts
    watching: dict[Watch, tuple[tuple[AlertRule, bytes], ...]]

    @classmethod
    def of(cls, alerts: AppAlerts) -> AppRules:
        watching: dict[Watch, list[tuple[AlertRule, bytes]]] = {}
        for rule in alerts.alerts:
            if not rule.disabled:
                entry = (rule, state_key(alerts.app_id, rule.id))
                watching.setdefault((rule.metric, rule.container_type), []).append(entry)
        return cls(alerts, {w: tuple(rules) for w, rules in watching.items()})


class StateRecord(NamedTuple):
    """A record of the state changelog: a state (None: a tombstone) in its partition."""

    partition: int
    key: bytes
    state: AlertState | None

    @property
    def value(self) -> bytes | None:
        return None if self.state is None else self.state.to_json()


@dataclass
class Shard:
    """The states of one partition: the latest in memory, and those the changelog holds."""

    latest: dict[bytes, AlertState] = field(default_factory=dict)
    stored: dict[bytes, AlertState] = field(default_factory=dict)
    due: set[bytes] = field(default_factory=set)  # to write at the next checkpoint


class AlerterTables:
    """Every app's rules and the held partitions' states, and what records do to them."""

    def __init__(self, metrics: AlerterMetrics, checkpoint_s: float) -> None:
        self.metrics = metrics
        self.rules: dict[bytes, AppRules] = {}
        self.shards: dict[int, Shard] = {}
        self._checkpoint_s = checkpoint_s
        self._points = {o: metrics.points.labels(o.value) for o in PointOutcome}
        self._verdicts = {v: metrics.evaluations.labels(v.value) for v in Verdict}
        self._configs = {o: metrics.configs.labels(o.value) for o in ConfigOutcome}

    def state(self, app_id: str, alert_id: str) -> AlertState | None:
        """The latest state of one rule, if a held partition has it."""
        key = state_key(app_id, alert_id)
        for shard in self.shards.values():
            if key in shard.latest:
                return shard.latest[key]
        return None

    def handle_config(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one `notify.config.alerts` record: store the rules, drop orphaned states."""
        if not key:
            self._configs[ConfigOutcome.MISKEYED].inc()
            return
        new: AppAlerts | None = None
        if value:
            try:
                new = AppAlerts.model_validate_json(value)
            except ValidationError:
                self._configs[ConfigOutcome.UNPARSABLE].inc()
                return
            if new.app_id.encode() != key:
                self._configs[ConfigOutcome.MISKEYED].inc()
                return
        old = self.rules.get(key)
        app_id = key.decode()
        for alert_id in sorted(dropped_rules(old.alerts if old else None, new)):
            self._drop(state_key(app_id, alert_id), app_id, alert_id)
        if new is None:
            self.rules.pop(key, None)
            self._configs[ConfigOutcome.DELETED].inc()
            return
        self.rules[key] = AppRules.of(new)
        self._configs[ConfigOutcome.APPLIED].inc()

    def _drop(self, key: bytes, app_id: str, alert_id: str) -> None:
        for shard in self.shards.values():
            if key in shard.latest:
                del shard.latest[key]
                shard.due.add(key)
                log.info("alert_state_dropped", app_id=app_id, alert_id=alert_id)

    def handle_points(self, partition: int, records: Iterable[Record]) -> list[OutgoingRecord]:
        """Evaluate a batch of one partition's points, in offset order; the events to emit.

        A record that fails (a bug, never bad input) is logged and counted, and the batch goes
        on: one record must not hold its partition up.
        """
        shard = self.shards.setdefault(partition, Shard())
        outcomes = dict.fromkeys(PointOutcome, 0)
        verdicts = dict.fromkeys(Verdict, 0)
        events: list[OutgoingRecord] = []
        for record in records:
            try:
                outcome = self._point(shard, record, verdicts, events)
            except Exception as exc:  # one record never stops the batch (as handle_guarded)
                outcome = PointOutcome.FAILED
                log.warning(
                    "record_failed",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    error_type=type(exc).__name__,
                    error=str(exc)[:500],
                )
            outcomes[outcome] += 1
        for outcome, n in outcomes.items():
            if n:
                self._points[outcome].inc(n)
        for verdict, n in verdicts.items():
            if n:
                self._verdicts[verdict].inc(n)
        return events

    def _point(
        self,
        shard: Shard,
        record: Record,
        verdicts: dict[Verdict, int],
        events: list[OutgoingRecord],
    ) -> PointOutcome:
        try:
            point = parse_point(record.value or b"")
        except ValidationError as exc:
            unknown = any(e["loc"] == ("metric",) for e in exc.errors())
            return PointOutcome.UNKNOWN_METRIC if unknown else PointOutcome.UNPARSABLE
        app_key = point.app_id.encode()
        if record.key != app_key:  # a shard is the record's partition: trust app keys only
            return PointOutcome.MISKEYED
        rules = self.rules.get(app_key)
        watching = rules.watching.get((point.metric, point.container_type)) if rules else None
        if rules is None or not watching:
            return PointOutcome.NO_RULE
        latest, stored = shard.latest, shard.stored
        for rule, skey in watching:
            state = latest.get(skey)
            result = evaluate(state, point, rule, rules.alerts)
            verdicts[result.verdict] += 1
            if result.events:
                traceparent = h.header(list(record.headers), h.TRACEPARENT)
                events.extend(event_record(e, traceparent) for e in result.events)
                self.metrics.emitted.labels(result.verdict.value).inc(len(result.events))
                log.info(
                    "alert_events_emitted",
                    app_id=point.app_id,
                    alert_id=rule.id,
                    verdict=result.verdict.value,
                    event_ids=[e.id for e in result.events],
                )
            new = result.state
            if new is not None and new is not state:
                latest[skey] = new
                if needs_checkpoint(stored.get(skey), new, self._checkpoint_s):
                    shard.due.add(skey)
        return PointOutcome.EVALUATED

    def checkpoint(self) -> list[StateRecord]:
        """The states to write now: each state the changelog does not hold closely enough
        (`needs_checkpoint`, as they were evaluated), a tombstone for each dropped one. Call
        `written` once they are acknowledged, `unwritten` if they could not be."""
        found: list[StateRecord] = []
        for partition, shard in self.shards.items():
            for key in shard.due:
                new = shard.latest.get(key)
                if new is not None:
                    found.append(StateRecord(partition, key, new))
                elif key in shard.stored:
                    found.append(StateRecord(partition, key, None))
            shard.due.clear()
        return found

    def written(self, records: Sequence[StateRecord]) -> None:
        """`records` (from `checkpoint`) are acknowledged: the changelog holds them."""
        for record in records:
            shard = self.shards.get(record.partition)
            if shard is None:
                continue  # given up meanwhile
            if record.state is None:
                shard.stored.pop(record.key, None)
            else:
                shard.stored[record.key] = record.state

    def unwritten(self, records: Sequence[StateRecord]) -> None:
        """`records` (from `checkpoint`) could not be written: they are due again."""
        for record in records:
            shard = self.shards.get(record.partition)
            if shard is not None:
                shard.due.add(record.key)

    def hold(self, partition: int, changelog: Iterable[tuple[bytes | None, bytes | None]]) -> int:
        """Take a partition on from its changelog records (key, value), in offset order.

        States whose rule was deleted, disabled or re-targeted while nobody held the
        partition are dropped (a tombstone at the next checkpoint). Returns the states held.
        """
        shard = Shard()
        for key, value in changelog:
            if key is None:
                continue
            if value is None:
                shard.stored.pop(key, None)
                continue
            try:
                shard.stored[key] = AlertState.from_json(value)
            except ValidationError:
                log.warning("alert_state_unreadable", key=key.decode(errors="replace"))
        shard.latest = dict(shard.stored)
        for key, state in shard.stored.items():
            app, _, alert_id = key.decode(errors="replace").partition("\x1f")
            rules = self.rules.get(app.encode())
            rule = (
                next((r for r in rules.alerts.alerts if r.id == alert_id), None) if rules else None
            )
            if outlived(state, rule):
                del shard.latest[key]
                shard.due.add(key)
                log.info("alert_state_dropped", app_id=app, alert_id=alert_id)
        self.shards[partition] = shard
        return len(shard.latest)

    def release(self, partitions: Iterable[int]) -> None:
        """Forget the states of partitions given up (the changelog has what they need)."""
        for partition in partitions:
            self.shards.pop(partition, None)
