"""The router's hot path gives exactly what the plain path gives.

The router routes with `receivers` (no words for excluded candidates), cached `Answers`, a
hand-written `delivery_id` and delivery records spliced from parts encoded once
(`herald_router.records.delivery_records`). Each is compared here with the plain path it
replaces, over random events, notifiers and a directory: `explain`, `answers_to`,
`uuid.uuid5`, and `Delivery.for_(…).to_json()` with its record.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from herald_core import tracing
from herald_core.catalog import CATALOG
from herald_core.compact_notifiers import from_model
from herald_core.deliveries import DELIVERY_NAMESPACE, Delivery, Recipient, delivery_id
from herald_core.delivery_json import SnapshotCache, delivery_json, snapshot_json, time_json
from herald_core.directory import (
    AppEntry,
    CollaboratorEntry,
    Directory,
    MemberEntry,
    OwnerEntry,
    OwnerKind,
)
from herald_core.envelope import Event, EventUser
from herald_core.notifiers import Notifier, Preset, Scope, Selection
from herald_core.routing import Answers, explain, receivers, route
from herald_core.topics import Channel
from herald_router.records import delivery_record, delivery_records
from hypothesis import given, settings
from hypothesis import strategies as st

TYPES = sorted({t.id for t in CATALOG.types()} | {"deployment", "not_a_type"})
CONDITION_VALUES: dict[str, list[Any]] = {}
for _type in CATALOG.types():
    for _alias in CATALOG.aliases_of(_type.id):
        if _alias.when.field is not None:
            CONDITION_VALUES.setdefault(_alias.when.field, []).extend(_alias.when.values)
FIELDS = sorted(CONDITION_VALUES)

DIRECTORY = Directory(
    apps=[
        AppEntry(
            id="app-1",
            name="one",
            owner_id="org-1",
            collaborators=(CollaboratorEntry(id="c-1", user_id="u-9", email="c9@example.com"),),
        ),
        AppEntry(id="app-2", name="two", owner_id="u-1"),
    ],
    owners=[
        OwnerEntry(
            id="org-1",
            kind=OwnerKind.ORGANISATION,
            members=tuple(
                MemberEntry(user_id=f"u-{k}", email=f"m{k}@example.com", name=f"Mé {k}")
                for k in range(3)
            ),
        ),
        OwnerEntry(
            id="u-1",
            kind=OwnerKind.ACCOUNT,
            members=(MemberEntry(user_id="u-1", email="m1@example.com"),),
        ),
    ],
)
START = datetime(2026, 3, 12, 17, 0, tzinfo=UTC)


@st.composite
def events(draw: st.DrawFn) -> Event:
    type_data: dict[str, Any] = {}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        type_data[field] = draw(st.sampled_from([*CONDITION_VALUES[field], "other", None, 3]))
    if draw(st.booleans()):
        type_data["notifier_ids"] = draw(st.lists(st.sampled_from(["n-0", "n-1", "n-5"])))
    return Event(
        id=draw(st.sampled_from(["evt-1", "0000-é", str(uuid.UUID(int=7))])),
        type=draw(st.sampled_from(TYPES)),
        created_at=START + timedelta(seconds=draw(st.integers(0, 10**6))),
        app_id=draw(st.sampled_from(["app-1", "app-2", "app-3", None])),
        owner_id=draw(st.sampled_from(["org-1", "u-1"])),
        addon_id=draw(st.sampled_from([None, "ad-1"])),
        rack=draw(st.sampled_from([None, "rack-1"])),
        user=draw(st.sampled_from([None, EventUser(id="u-1", username="ada")])),
        type_data=type_data,
    )


SELECTIONS = st.sampled_from(
    [
        Selection(send_all_events=True),
        Selection(send_all_alerts=True),
        Selection(),
        *(Selection(preset=p) for p in Preset),
        Selection(selected_event_ids=("app_deployed", "deployments", "app_alert_triggered")),
    ]
)


@st.composite
def notifiers(draw: st.DrawFn) -> list[Notifier]:
    found = []
    for k in range(draw(st.integers(0, 7))):
        scope = draw(st.sampled_from(list(Scope)))
        platform = draw(st.sampled_from([Channel.EMAIL, Channel.WEBHOOK, Channel.SLACK]))
        type_data: dict[str, Any] = {}
        if platform is Channel.EMAIL:
            type_data = draw(
                st.sampled_from(
                    [
                        {"owner": True},
                        {"members": True, "collaborators": True},
                        {"emails": ["M1@example.com", "x@example.com"]},
                        {"user_ids": ["u-2"], "unsubscribed": ["m2@example.com"]},
                        {},
                    ]
                )
            )
        else:
            type_data = {"url": f"https://hooks.example.com/{k}/ünï", "secret": None}
        found.append(
            Notifier(
                id=f"n-{k}",
                name=draw(st.sampled_from(["", 'Ops "quoted" ✓', "x"])),
                active=draw(st.booleans()),
                is_default=draw(st.booleans()),
                scope=scope,
                app_id=draw(st.sampled_from(["app-1", "app-2"])) if scope is Scope.APP else None,
                owner_id=draw(st.sampled_from(["org-1", "u-1"])) if scope is Scope.OWNER else None,
                user_id=draw(st.sampled_from(["u-1", "u-2"])) if scope is Scope.USER else None,
                app_ids=draw(st.sampled_from([(), ("app-1",)])),
                families=draw(st.sampled_from([(), ("convox",), ("scalingo", "cloud66")])),
                platform=platform,
                selection=draw(SELECTIONS),
                type_data=type_data,
                version=draw(st.integers(1, 3)),
            )
        )
    return found


@settings(max_examples=300, deadline=None)
@given(events(), notifiers())
def test_receivers_are_the_delivered_verdicts_of_explain(event: Event, candidates: list[Notifier]):
    expected = [d for d in explain(event, candidates, DIRECTORY) if d.delivered]
    assert receivers(event, candidates, DIRECTORY) == expected


@settings(max_examples=300, deadline=None)
@given(events())
def test_cached_answers_equal_answers_worked_out(event: Event):
    assert Answers.of(event) == Answers._work_out(event)
    assert Answers.of(event) == Answers._work_out(event)  # the second comes from the cache


@given(st.text(max_size=40), st.text(max_size=40))
def test_delivery_id_is_uuid5(event_id: str, notifier_id: str):
    name = f"{event_id}\x1f{notifier_id}"
    assert delivery_id(event_id, notifier_id) == str(uuid.uuid5(DELIVERY_NAMESPACE, name))


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
HEADERS = [
    ("ce_id", b"evt-1"),
    ("ce_source", b"/apps/app-1"),
    ("tracestate", b"vendor=1"),
    ("traceparent", TRACEPARENT.encode()),
    ("other", b"dropped"),
]


@settings(max_examples=300, deadline=None)
@given(events(), notifiers(), st.sampled_from([TRACEPARENT, None]))
def test_delivery_records_equal_the_models_records(
    event: Event, candidates: list[Notifier], traceparent: str | None
):
    """Byte for byte: topic, key, value and headers, as the plain path writes them (the
    router routes its compact notifiers, the plain path the models)."""
    routed_at = START + timedelta(hours=1, microseconds=123)
    headers = HEADERS if traceparent else HEADERS[:3]
    plain = [
        delivery_record(delivery, headers)
        for delivery in route(event, candidates, routed_at, DIRECTORY, traceparent=traceparent)
    ]
    fast, routed = delivery_records(
        event.id,
        event.to_json(),
        receivers(event, [from_model(n) for n in candidates], DIRECTORY),
        time_json(routed_at),
        tracing.parse(traceparent),
        headers,
        SnapshotCache(),
    )
    assert fast == plain
    ids = [Delivery.model_validate_json(record.value or b"").id for record in plain]
    assert [r.id for r in routed] == ids


def test_a_delivery_spliced_from_a_non_canonical_event_reads_as_the_same_delivery():
    """The router splices the `notify.events` value as it arrived: written another way (other
    spacing, an offset instead of Z, absent optional fields), it still parses to the delivery
    the model would have made."""
    raw = (
        b'{ "id": "evt-1", "type": "app_deployed", "created_at": "2026-03-12T18:00:00+01:00",'
        b' "app_id": "app-1", "type_data": {"status": "success"} }'
    )
    event = Event.model_validate_json(raw)
    notifier = Notifier(id="n-1", app_id="app-1", platform=Channel.WEBHOOK)
    recipients = (Recipient(address="a@example.com", name="Ä"),)
    value = delivery_json(
        "d-1", Channel.WEBHOOK, raw, snapshot_json(notifier), recipients, time_json(START), None
    )
    expected = Delivery.for_(event, notifier, START, recipients=recipients).model_copy(
        update={"id": "d-1"}
    )
    assert Delivery.model_validate_json(value) == expected


def test_the_snapshot_cache_encodes_a_changed_notifier_again():
    cache = SnapshotCache()
    first = Notifier(id="n-1", app_id="app-1", platform=Channel.WEBHOOK, name="old")
    assert cache.get(first) == snapshot_json(first)
    changed = first.model_copy(update={"name": "new", "version": 2})
    assert b'"new"' in cache.get(changed)
    cache.forget("n-1")
    assert len(cache) == 0
