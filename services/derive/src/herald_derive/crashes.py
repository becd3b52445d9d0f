"""Crash counting (Scalingo's rule): `app_crashed` on an app's 2nd, 5th and 12th crash.

Every crash of an app arrives on `notify.events` as `app_crashed_repeated`. This module folds
an app's events, one at a time, into a `CrashState` and says which `app_crashed` events to emit.
The rule, in full in docs/derive.md:

- a crash (`app_crashed_repeated` with an `app_id`) adds one to the app's current streak; the
  streak's count reaching a threshold (2, 5, 12 by default) emits one `app_crashed`;
- a successful deployment (any event answering to `DEPLOYMENT_SUCCESS`: `app_deployed` with
  status `success`, Convox `app:promote:completed`, …) or any restart (`app_restarted`) ends
  the streak; a failed deployment does not (the crashing release is still running);
- a crash `quiet_period` or more after the streak's latest crash starts a new streak;
- times are the events' `created_at`, never the wall clock, so a replay gives the same result;
- a crash at or before the latest reset belongs to the release before it and is ignored; a reset
  older than crashes already counted keeps those later crashes (exact while a streak holds at
  most `HISTORY` crashes);
- a record at or before the offset of the latest record applied (`Position`: same partition
  of notify.events) is a replay after a crash or a rebalance and changes nothing, however many
  records the replay holds; an event id seen among the last `HISTORY` applied events is a
  redelivery (the same event written twice) and changes nothing either;
- everything else, `app_crashed` itself included (no feedback loop), changes nothing.

Pure: no I/O, no clock; the same state and event always give the same result.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import NamedTuple

from herald_core.catalog import answers_to
from herald_core.envelope import Event
from herald_core.intake import parse_event
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CRASH = "app_crashed_repeated"
CRASHED = "app_crashed"
SOURCE = "derive"
DEFAULT_THRESHOLDS = (2, 5, 12)
DEFAULT_QUIET_PERIOD = timedelta(hours=24)
# Ids an event answers to (herald_core.catalog.answers_to) that end a crash streak.
RESET_IDS = frozenset({"DEPLOYMENT_SUCCESS", "app_restarted"})
# How many applied event ids, and crash times of a streak, the state keeps.
HISTORY = 32

DERIVE_NAMESPACE = uuid.UUID("3b8e0c1e-7d2a-5f43-9c61-2a8f4e6d9b15")


class CrashState(BaseModel):
    """What the processor remembers of one app: its current crash streak and recent event ids."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=0, ge=0, description="crashes in the current streak")
    first_crash_at: AwareDatetime | None = None
    last_crash_at: AwareDatetime | None = None
    crash_times: tuple[AwareDatetime, ...] = Field(
        default=(), description="created_at of the streak's latest crashes, oldest first"
    )
    reset_at: AwareDatetime | None = Field(
        default=None, description="created_at of the latest deployment or restart applied"
    )
    last_event_id: str | None = None
    recent_event_ids: tuple[str, ...] = Field(
        default=(), description="ids of the latest applied events, for redeliveries"
    )
    applied_partition: int | None = Field(
        default=None, ge=0, description="notify.events partition of the latest applied record"
    )
    applied_offset: int | None = Field(
        default=None, ge=0, description="its offset: a record at or before it is a replay"
    )


class Position(NamedTuple):
    """Where a record was read: its partition and offset in notify.events."""

    partition: int
    offset: int


def is_replay(state: CrashState | None, position: Position | None) -> bool:
    """True when the record at `position` was applied already (at or before the latest applied
    record of the same partition). Pure.

    An app's records are all in one partition (keyed by app id) and handled in offset order, and
    the state in the changelog is the state after some record of that partition: every record
    at or before it was applied, none after it. So a replay, however long, changes nothing.
    """
    return (
        state is not None
        and position is not None
        and state.applied_partition == position.partition
        and state.applied_offset is not None
        and position.offset <= state.applied_offset
    )


def crashed_event_id(app_id: str, crash_event_id: str) -> str:
    """The id of the `app_crashed` a crash triggers: `uuid5(app id, crash event id)`. Pure."""
    return str(uuid.uuid5(DERIVE_NAMESPACE, f"{CRASHED}\x1f{app_id}\x1f{crash_event_id}"))


def is_reset(event: Event) -> bool:
    """True for a successful deployment (in any family's words) or a restart. Pure."""
    return not RESET_IDS.isdisjoint(answers_to(event.type, event.type_data))


def evaluate(
    state: CrashState | None,
    event: Event,
    *,
    position: Position | None = None,
    thresholds: Collection[int] = DEFAULT_THRESHOLDS,
    quiet_period: timedelta = DEFAULT_QUIET_PERIOD,
) -> tuple[CrashState | None, list[Event]]:
    """Fold one event of an app into its crash state. Pure.

    `position` is where the event's record was read (None: unknown, only ids recognise
    repeats). Returns the new state (the same object when nothing changed, None while the app
    never crashed) and the `app_crashed` events to emit (zero or one).

    Raises:
        InvalidEvent: only if the `app_crashed` built from a crash does not validate, which the
            catalog's `CrashData` model rules out for any crash that itself validated.
    """
    if event.app_id is None or is_replay(state, position):
        return state, []
    if state is not None and event.id in state.recent_event_ids:
        return state, []  # a redelivery: already applied
    if event.type == CRASH:
        new, emitted = _crash(state, event, thresholds, quiet_period)
    elif is_reset(event):
        new, emitted = _reset(state, event), []
    else:
        return state, []
    if new is state or new is None or position is None:
        return new, emitted
    return new.model_copy(
        update={"applied_partition": position.partition, "applied_offset": position.offset}
    ), emitted


def _crash(
    state: CrashState | None, crash: Event, thresholds: Collection[int], quiet_period: timedelta
) -> tuple[CrashState | None, list[Event]]:
    at = crash.created_at
    current = state or CrashState()
    if current.reset_at is not None and at <= current.reset_at:
        return state, []  # it happened before the latest deployment or restart
    if current.last_crash_at is not None and at - current.last_crash_at >= quiet_period:
        current = current.model_copy(
            update={"count": 0, "first_crash_at": None, "last_crash_at": None, "crash_times": ()}
        )
    first, last = current.first_crash_at, current.last_crash_at
    new = current.model_copy(
        update={
            "count": current.count + 1,
            "first_crash_at": at if first is None else min(first, at),
            "last_crash_at": at if last is None else max(last, at),
            "crash_times": tuple(sorted((*current.crash_times, at)))[-HISTORY:],
            **_applied(current, crash),
        }
    )
    emitted = [_crashed(crash, new)] if new.count in thresholds else []
    return new, emitted


def _reset(state: CrashState | None, event: Event) -> CrashState | None:
    if state is None:
        return None  # nothing to reset: the app never crashed
    at = event.created_at
    if state.reset_at is not None and at <= state.reset_at:
        return state  # an older reset than the one applied already
    later = tuple(t for t in state.crash_times if t > at)
    return state.model_copy(
        update={
            "count": len(later),
            "first_crash_at": later[0] if later else None,
            "last_crash_at": later[-1] if later else None,
            "crash_times": later,
            "reset_at": at,
            **_applied(state, event),
        }
    )


def _applied(state: CrashState, event: Event) -> dict[str, object]:
    return {
        "last_event_id": event.id,
        "recent_event_ids": (*state.recent_event_ids, event.id)[-HISTORY:],
    }


def _crashed(crash: Event, state: CrashState) -> Event:
    assert crash.app_id is not None
    assert state.first_crash_at is not None
    first: datetime = state.first_crash_at
    return parse_event(
        {
            "id": crashed_event_id(crash.app_id, crash.id),
            "type": CRASHED,
            "created_at": crash.created_at.isoformat(),
            "source": SOURCE,
            "app_id": crash.app_id,
            "app_name": crash.app_name,
            "owner_id": crash.owner_id,
            "addon_id": crash.addon_id,
            "rack": crash.rack,
            "user": crash.user.model_dump(mode="json") if crash.user else None,
            "type_data": {
                **crash.type_data,
                "crash_count": state.count,
                "first_crash_at": first.isoformat(),
                "crash_event_id": crash.id,
            },
        }
    )
