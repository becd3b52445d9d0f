"""The alerter's work on its two tables, without faust: what each record does (docs/alerts.md).

    AlerterTables(rules, states, metrics, emit, checkpoint_s)
        .handle_config(key, value)    one `notify.config.alerts` record → the rules table
        .handle_point(key, value, headers)
                                      one `platform.metrics` record → evaluate → emit → state

The tables are any mutable mappings of bytes: faust's changelog-backed tables in the service,
plain dicts in the unit tests. `emit` sends and awaits the acknowledgements; it is awaited
before the state is stored, so a crash between the two repeats the same events (deterministic
ids), it never loses one. Parsed forms of the tables' values are kept while the table holds the
very same bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import structlog
from herald_core import headers as h
from herald_core.alerts import AppAlerts, MetricPoint
from herald_kafka.producer import OutgoingRecord, event_record
from pydantic import ValidationError

from herald_alerter.evaluate import (
    AlertState,
    dropped_rules,
    evaluate,
    needs_checkpoint,
    rules_for,
)
from herald_alerter.metrics import AlerterMetrics, ConfigOutcome, PointOutcome

log = structlog.get_logger(__name__)

Table = MutableMapping[bytes, bytes]
Emit = Callable[[list[OutgoingRecord]], Awaitable[None]]


def state_key(app_id: str, alert_id: str) -> bytes:
    """The key of one rule's state: `<app id>␟<alert id>` (unit separator)."""
    return f"{app_id}\x1f{alert_id}".encode()


class AlerterTables:
    """The rules and states tables, and what a config record or a metric point does to them."""

    def __init__(
        self,
        rules: Table,
        states: Table,
        metrics: AlerterMetrics,
        emit: Emit,
        checkpoint_s: float,
    ) -> None:
        self.rules = rules
        self.states = states
        self.metrics = metrics
        self._emit = emit
        self._checkpoint_s = checkpoint_s
        self._parsed_rules: dict[bytes, tuple[bytes, AppAlerts]] = {}
        # Per state key: (the bytes in the table, their parsed state, the latest state), the
        # latest being newer than the stored one by `last_at` only (needs_checkpoint).
        self._parsed_states: dict[bytes, tuple[bytes, AlertState, AlertState]] = {}

    def app_alerts(self, app_key: bytes) -> AppAlerts | None:
        """The app's rules from the table, parsed once per stored value."""
        raw = self.rules.get(app_key)
        if raw is None:
            return None
        cached = self._parsed_rules.get(app_key)
        if cached is not None and cached[0] is raw:
            return cached[1]
        alerts = AppAlerts.model_validate_json(raw)
        self._parsed_rules[app_key] = (raw, alerts)
        return alerts

    def _state(self, key: bytes) -> tuple[bytes | None, AlertState | None, AlertState | None]:
        """(stored bytes, stored state, latest state) of one rule."""
        raw = self.states.get(key)
        if raw is None:
            return None, None, None
        cached = self._parsed_states.get(key)
        if cached is not None and cached[0] is raw:
            return cached
        state = AlertState.model_validate_json(raw)
        self._parsed_states[key] = (raw, state, state)
        return raw, state, state

    def _keep(self, key: bytes, new: AlertState) -> None:
        """Keep `new` in memory, and write it to the table when `needs_checkpoint` says so."""
        raw, stored, _ = self._state(key)
        if raw is None or stored is None or needs_checkpoint(stored, new, self._checkpoint_s):
            raw = new.model_dump_json().encode()
            self.states[key] = raw
            self._parsed_states[key] = (raw, new, new)
        else:
            self._parsed_states[key] = (raw, stored, new)

    def handle_config(self, key: Any, value: Any) -> None:
        """Apply one `notify.config.alerts` record: store the rules, drop orphaned states."""
        if not isinstance(key, bytes) or not key:
            self.metrics.configs.labels(ConfigOutcome.MISKEYED.value).inc()
            return
        new: AppAlerts | None = None
        if value:
            try:
                new = AppAlerts.model_validate_json(value)
            except ValidationError:
                self.metrics.configs.labels(ConfigOutcome.UNPARSABLE.value).inc()
                return
            if new.app_id.encode() != key:
                self.metrics.configs.labels(ConfigOutcome.MISKEYED.value).inc()
                return
        app_id = key.decode()
        for alert_id in sorted(dropped_rules(self.app_alerts(key), new)):
            skey = state_key(app_id, alert_id)
            self._parsed_states.pop(skey, None)
            if skey in self.states:
                del self.states[skey]
                log.info("alert_state_dropped", app_id=app_id, alert_id=alert_id)
        self._parsed_rules.pop(key, None)
        if new is None:
            if key in self.rules:
                del self.rules[key]
            self.metrics.configs.labels(ConfigOutcome.DELETED.value).inc()
            return
        self.rules[key] = bytes(value)
        self.metrics.configs.labels(ConfigOutcome.APPLIED.value).inc()

    async def handle_point(
        self, key: Any, value: Any, headers: Sequence[tuple[str, bytes]]
    ) -> None:
        """Apply one `platform.metrics` record: evaluate every rule that watches it."""
        try:
            point = MetricPoint.model_validate_json(value or b"")
        except ValidationError as exc:
            unknown = any(e["loc"] == ("metric",) for e in exc.errors())
            outcome = PointOutcome.UNKNOWN_METRIC if unknown else PointOutcome.UNPARSABLE
            self.metrics.points.labels(outcome.value).inc()
            return
        app_key = point.app_id.encode()
        if key != app_key:  # the tables' shards are the record's partition: trust app keys only
            self.metrics.points.labels(PointOutcome.MISKEYED.value).inc()
            return
        alerts = self.app_alerts(app_key)
        rules = rules_for(alerts, point)
        if alerts is None or not rules:
            self.metrics.points.labels(PointOutcome.NO_RULE.value).inc()
            return
        for rule in rules:
            skey = state_key(point.app_id, rule.id)
            _, _, state = self._state(skey)
            result = evaluate(state, point, rule, alerts)
            self.metrics.evaluations.labels(result.verdict.value).inc()
            if result.events:
                traceparent = h.header(list(headers), h.TRACEPARENT)
                await self._emit([event_record(e, traceparent) for e in result.events])
                self.metrics.emitted.labels(result.verdict.value).inc(len(result.events))
                log.info(
                    "alert_events_emitted",
                    app_id=point.app_id,
                    alert_id=rule.id,
                    verdict=result.verdict.value,
                    event_ids=[e.id for e in result.events],
                )
            if result.state is not None and result.state is not state:
                self._keep(skey, result.state)
        self.metrics.points.labels(PointOutcome.EVALUATED.value).inc()
