"""The pure-core benchmarks: intake (`parse_event`) and routing (`route`, `answers_to`).

No I/O: every side runs over inputs built before the clock starts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from corpus import app_directory, app_notifiers, check_corpus, raw_events, valid_events
from harness import Figure, compare, progress
from herald_core.catalog import answers_to
from herald_core.directory import Directory
from herald_core.envelope import Event
from herald_core.errors import InvalidEvent
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier
from herald_core.routing import explain, route

ROUTED_AT = datetime(2026, 3, 12, 18, 0, tzinfo=UTC)


def per_event_cost(ratio: float) -> str:
    """'2.9x the baseline's cost per event' for a throughput ratio of 0.34."""
    return f"{1 / ratio:.1f}x the baseline's cost per event" if ratio else "n/a"


def _refused_share(
    read: Callable[[bytes], object], error: type[Exception], records: list[bytes]
) -> float:
    refused = 0
    for raw in records:
        try:
            read(raw)
        except error:
            refused += 1
    return refused / len(records)


def _herald_intake(records: Sequence[bytes]) -> None:
    for raw in records:
        try:
            parse_event(raw)
        except InvalidEvent:
            continue


def _envelope_only(raw: bytes) -> Event:
    return Event.model_validate(json.loads(raw))


def _baseline_intake(records: Sequence[bytes]) -> None:
    for raw in records:
        try:
            _envelope_only(raw)
        except ValueError:  # JSONDecodeError and ValidationError both are
            continue


def bench_intake(n: int, repeats: int) -> list[Figure]:
    """`parse_event` against `json.loads` + `Event.model_validate` on the same raw records."""
    check_corpus()
    records = raw_events(n)
    herald_refuses = _refused_share(parse_event, InvalidEvent, records)
    baseline_refuses = _refused_share(_envelope_only, ValueError, records)
    progress(f"intake: {n} raw records ({herald_refuses:.0%} invalid), {repeats} samples")
    figure = Figure(
        "intake",
        "ev/s",
        compare(records, _herald_intake, _baseline_intake, repeats=repeats),
        "herald_core.intake.parse_event: JSON, envelope, catalog type, type_data model "
        f"(refuses {herald_refuses:.0%})",
        "json.loads + Event.model_validate: envelope only "
        f"(refuses {baseline_refuses:.0%}: no type or type_data check)",
        "",
        {"events": n},
    )
    meaning = (
        f"full intake validation runs at {figure.ratio:.0%} of the envelope-only speed: "
        f"{per_event_cost(figure.ratio)}"
    )
    return [replace(figure, meaning=meaning)]


def _naive(events: Sequence[Event], notifiers: list[Notifier]) -> int:
    """The baseline: notifiers whose id list names the event type, nothing else."""
    matched = 0
    for event in events:
        matched += len([n for n in notifiers if event.type in n.selection.selected_event_ids])
    return matched


def bench_routing(n: int, repeats: int) -> list[Figure]:
    """`route` over one app's 20 notifiers against a bare `type in selected_event_ids`."""
    events = valid_events(n)
    notifiers = app_notifiers()
    directory = app_directory()
    progress(f"routing: {n} events x {len(notifiers)} notifiers, {repeats} samples")

    def herald(part: Sequence[Event]) -> None:
        for event in part:
            route(event, notifiers, ROUTED_AT, directory)

    deliveries = sum(len(route(e, notifiers, ROUTED_AT, directory)) for e in events) / n
    naive = _naive(events, notifiers) / n
    figure = Figure(
        "routing",
        "ev/s",
        compare(events, herald, lambda part: _naive(part, notifiers), repeats=repeats),
        "herald_core.routing.route: scope, aliases, groups, presets, e-mail recipients from the "
        f"directory, Delivery models ({deliveries:.1f} deliveries/event)",
        "[n for n in notifiers if event.type in n.selection.selected_event_ids] "
        f"({naive:.1f} matches/event)",
        "",
        {"events": n, "notifiers": len(notifiers), "deliveries_per_event": deliveries},
    )
    meaning = (
        f"routing to 20 notifiers runs at {figure.ratio:.0%} of the naive id match: "
        f"{per_event_cost(figure.ratio)}; it also builds {deliveries:.1f} Delivery models "
        f"per event where the naive match finds {naive:.1f} notifiers"
    )
    return [
        replace(figure, meaning=meaning),
        _select(events, notifiers, directory, repeats),
        _answers_to(events, repeats),
    ]


def _select(
    events: list[Event], notifiers: list[Notifier], directory: Directory, repeats: int
) -> Figure:
    """`route` without building deliveries: what choosing the notifiers alone costs."""
    progress(f"routing.select: {len(events)} events x {len(notifiers)} notifiers")

    def herald(part: Sequence[Event]) -> None:
        for event in part:
            [d for d in explain(event, notifiers, directory) if d.delivered]

    figure = Figure(
        "routing.select",
        "ev/s",
        compare(events, herald, lambda part: _naive(part, notifiers), repeats=repeats),
        "herald_core.routing.explain: route's verdicts and recipients, no Delivery models",
        "[n for n in notifiers if event.type in n.selection.selected_event_ids]",
        "",
        {"events": len(events), "notifiers": len(notifiers)},
    )
    meaning = (
        f"choosing among 20 notifiers costs {per_event_cost(figure.ratio)}; the rest of "
        "`routing` is building the Delivery models (uuid5 ids, pydantic)"
    )
    return replace(figure, meaning=meaning)


def _answers_to(events: list[Event], repeats: int) -> Figure:
    progress(f"routing.answers_to: {len(events)} events")

    def herald(part: Sequence[Event]) -> None:
        for event in part:
            answers_to(event.type, event.type_data)

    def baseline(part: Sequence[Event]) -> None:
        for event in part:
            frozenset((event.type,))

    figure = Figure(
        "routing.answers_to",
        "ev/s",
        compare(events, herald, baseline, repeats=repeats),
        "herald_core.catalog.answers_to: type + aliases whose condition holds + groups",
        "frozenset((event.type,)): the type alone",
        "",
        {"events": len(events)},
    )
    meaning = (
        f"finding every id an event answers to costs {1 / figure.ratio:.1f}x building a "
        f"one-id set ({figure.herald / 1e3:.0f}k expansions/s)"
    )
    return replace(figure, meaning=meaning)
