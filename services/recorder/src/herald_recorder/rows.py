"""From delivery results to the rows of the history tables. Pure.

A result the database could not store whole is either cleaned or refused:

- free text (`reason`, `detail`, `response_excerpt`) loses its NUL characters and unpaired
  surrogates and is capped at `TEXT_MAX` characters;
- an identifier that Postgres cannot store as it is, an attempt number or status code outside
  `integer`, a duration that is not a finite number, or a time outside the representable range
  make the result `Unrecordable`: the recorder logs it, counts it and moves on, so one bad record
  never blocks its partition.

The delivery a result carries (`DeliveryResult.delivery`, kept for redelivery) is stored as
JSON when Postgres can hold it: one holding a NUL (which `jsonb` refuses) or longer than
`DELIVERY_MAX` characters is dropped from the row, never the attempt with it.

A batch becomes one row per (delivery id, attempt), in arrival order (`batch_rows`), and a
batch without repeats lets one statement count each delivery's new attempts. Of the repeats of
an attempt, the first is kept, unless it scheduled a retry and a later one settled the delivery
(`settles`): the same rule the database applies to a repeat of an attempt it already holds.

Why an attempt repeats with another outcome: a sender killed after writing an attempt's result
but before its retry record reads the delivery again, as the same attempt, from its uncommitted
offset. When that try is answered 200, its result is the only word of the delivery: kept as a
repeat of a `retry_scheduled` attempt, the history would say "retry scheduled" for good.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from herald_core.deliveries import AttemptOutcome, DeliveryResult

INT4_MAX = 2**31 - 1
TEXT_MAX = 2000
DELIVERY_MAX = 1_000_000  # characters of a delivery's JSON; records are at most 2 MiB anyway

# The staging table's columns, in the order of `attempt_row`.
STAGING_COLUMNS = (
    "delivery_id",
    "attempt",
    "event_id",
    "event_type",
    "app_id",
    "owner_id",
    "notifier_id",
    "channel",
    "outcome",
    "reason",
    "detail",
    "status_code",
    "duration_ms",
    "at",
    "response_excerpt",
    "delivery",
)

AttemptRow = tuple[
    str,  # delivery_id
    int,  # attempt
    str,  # event_id
    str,  # event_type
    str | None,  # app_id
    str | None,  # owner_id
    str,  # notifier_id
    str,  # channel
    str,  # outcome
    str | None,  # reason
    str | None,  # detail
    int | None,  # status_code
    float,  # duration_ms
    datetime,  # at
    str | None,  # response_excerpt
    str | None,  # delivery (JSON)
]


class Unrecordable(ValueError):
    """A result the history cannot hold; the message says which field and why."""


def storable(text: str) -> bool:
    """Whether Postgres can store `text` as it is: no NUL, no unpaired surrogate. Pure."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str | None, limit: int = TEXT_MAX) -> str | None:
    """`text` made storable (NUL and unpaired surrogates replaced) and capped. Pure."""
    if text is None:
        return None
    if not storable(text):
        text = text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode()
    return text[:limit]


def recordable(result: DeliveryResult) -> DeliveryResult:
    """`result` with its free text cleaned and its time in UTC. Pure.

    Raises:
        Unrecordable: when an identifier, a number or the time cannot be stored.
    """
    ids = {
        "delivery_id": result.delivery_id,
        "event_id": result.event_id,
        "event_type": result.event_type,
        "notifier_id": result.notifier_id,
        "app_id": result.app_id or "",
        "owner_id": result.owner_id or "",
    }
    for name, value in ids.items():
        if not storable(value):
            raise Unrecordable(f"{name}: contains NUL or an unpaired surrogate")
    if not result.delivery_id:
        raise Unrecordable("delivery_id: empty")
    if not 1 <= result.attempt <= INT4_MAX:
        raise Unrecordable(f"attempt: {result.attempt} is outside 1..{INT4_MAX}")
    if result.status_code is not None and not 0 <= result.status_code <= INT4_MAX:
        raise Unrecordable(f"status_code: {result.status_code} is outside 0..{INT4_MAX}")
    if not math.isfinite(result.duration_ms):
        raise Unrecordable(f"duration_ms: {result.duration_ms} is not a finite number")
    try:
        at = result.at.astimezone(UTC)
    except OverflowError:
        raise Unrecordable(f"at: {result.at.isoformat()} is out of range") from None
    return result.model_copy(
        update={
            "at": at,
            "reason": clean_text(result.reason),
            "detail": clean_text(result.detail),
            "response_excerpt": clean_text(result.response_excerpt),
        }
    )


def delivery_json(result: DeliveryResult) -> str | None:
    """The JSON of the delivery `result` carries, or None when absent or not storable. Pure."""
    if result.delivery is None:
        return None
    try:
        text = result.delivery.model_dump_json()
    except ValueError:  # a string pydantic cannot encode (an unpaired surrogate)
        return None
    if "\\u0000" in text or len(text) > DELIVERY_MAX or not storable(text):
        return None
    return text


def attempt_row(result: DeliveryResult) -> AttemptRow:
    """The staging row of one (recordable) result, in `STAGING_COLUMNS` order. Pure."""
    return (
        result.delivery_id,
        result.attempt,
        result.event_id,
        result.event_type,
        result.app_id,
        result.owner_id,
        result.notifier_id,
        result.channel.value,
        result.outcome.value,
        result.reason,
        result.detail,
        result.status_code,
        result.duration_ms,
        result.at,
        result.response_excerpt,
        delivery_json(result),
    )


OUTCOME_AT = STAGING_COLUMNS.index("outcome")


def settles(kept: str, repeat: str) -> bool:
    """Whether a repeat of an attempt with outcome `repeat` replaces the `kept` one: only a
    settled delivery (delivered, dead-lettered) replaces a scheduled retry. Pure."""
    scheduled = AttemptOutcome.RETRY_SCHEDULED.value
    return kept == scheduled and repeat != scheduled


def batch_rows(results: Iterable[DeliveryResult]) -> list[AttemptRow]:
    """One row per (delivery id, attempt), in arrival order; of repeats, the first unless a
    later one `settles` it. Pure."""
    rows: dict[tuple[str, int], AttemptRow] = {}
    for result in results:
        key = (result.delivery_id, result.attempt)
        kept = rows.get(key)
        if kept is None or settles(str(kept[OUTCOME_AT]), result.outcome.value):
            rows[key] = attempt_row(result)
    return list(rows.values())
