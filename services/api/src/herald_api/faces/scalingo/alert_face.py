"""The Scalingo alert face: wire JSON ⇄ `herald_core.alerts.AlertRule` (docs/alerts.md).

Pure functions. Scalingo's clients encode the two durations differently, and this face speaks
both ways exactly as they do (github.com/Scalingo/go-scalingo `alerts.go`):

- `duration_before_trigger` is a Go `time.Duration`: an integer of NANOSECONDS, both ways.
  A Go duration string ("5m") is accepted too.
- `remind_every` is answered as a Go duration string (`"30m0s"`, `time.Duration.String()`), and
  omitted when there is no reminder. Requests may send such a string (`AlertAdd` does) or an
  integer of nanoseconds (`AlertUpdate` marshals a `*time.Duration`). `""`, `null` and zero mean
  "no reminder".

The rule itself keeps seconds (the alerter's unit). A request's shape is the wire model's
(`AlertCreate`, `AlertPatch`, parsed by `model.shapes`); this face adds the durations, the
container type and the app's notifiers, and every problem is listed (`errors`, field →
messages). Read-only members that Scalingo's clients always send (`id`, `app_id`, timestamps,
`metadata`) are ignored; anything else unknown is refused.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from herald_core.alerts import AlertRule, Metric

from herald_api.faces.scalingo.alert_wire import AlertCreate, AlertIn, AlertPatch
from herald_api.model.shapes import has_problem, shape_errors

Errors = dict[str, list[str]]

DURATIONS = frozenset({"duration_before_trigger", "remind_every"})  # Go durations, parsed here
MAX_NOTIFIERS = 50
MAX_DURATION_NS = 366 * 24 * 3600 * 10**9  # a year and a day: beyond it a rule is a typo
CONTAINER_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")  # a Procfile process name
DEFAULT_CONTAINER_TYPE = "web"

# --- Go durations ---------------------------------------------------------------------------

NANOSECOND = 1
MICROSECOND = 1_000
MILLISECOND = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "µs": MICROSECOND,  # U+00B5 micro sign
    "μs": MICROSECOND,  # U+03BC greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
MAX_DURATION_TEXT = 64
_COMPONENT = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


class InvalidDuration(ValueError):
    """A text that is not a Go duration."""


def parse_go_duration(text: str) -> int:
    """A Go duration string ("1h30m", "90s", "1.5s", "-2m", "0") → nanoseconds. Pure.

    Follows `time.ParseDuration`: an optional sign, then one or more decimal numbers each with a
    unit (ns, us, µs, ms, s, m, h); "0" alone needs no unit. Raises InvalidDuration.
    """
    if len(text) > MAX_DURATION_TEXT:
        raise InvalidDuration(f"a duration has at most {MAX_DURATION_TEXT} characters")
    body, sign = text, 1
    if body[:1] in ("-", "+"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    if not body:
        raise InvalidDuration(f"{text!r} is not a duration")
    total, position = 0, 0
    while position < len(body):
        match = _COMPONENT.match(body, position)
        if match is None:
            raise InvalidDuration(f"{text!r} is not a duration (like 30m, 1h30m, 90s)")
        number, unit = match.groups()
        whole, _, fraction = number.partition(".")
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if fraction:  # exact decimal arithmetic, as Go does: no float rounding
            total += int(fraction) * scale // 10 ** len(fraction)
        position = match.end()
    return sign * total


def format_go_duration(nanoseconds: int) -> str:
    """Nanoseconds → Go's `time.Duration.String()` ("1h30m0s", "1.5s", "250ms", "0s"). Pure."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < SECOND:
        for unit, scale in (("ms", MILLISECOND), ("µs", MICROSECOND), ("ns", NANOSECOND)):
            if value >= scale:
                return sign + _decimal(value, scale) + unit
    hours, rest = divmod(value, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds = _decimal(rest, SECOND) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _decimal(value: int, scale: int) -> str:
    """`value / scale` written with the fewest digits Go writes (no trailing zeros)."""
    whole, fraction = divmod(value, scale)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def seconds_to_ns(seconds: float) -> int:
    return round(seconds * SECOND)


def ns_to_seconds(nanoseconds: int) -> float:
    return nanoseconds / SECOND


# --- wire → rule ----------------------------------------------------------------------------


def new_alert_id() -> str:
    return f"al-{uuid.uuid4()}"


class InvalidAlert(ValueError):
    """A request the face refuses; `errors` maps each field to its problems."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def _duration_ns(value: Any, field: str, errors: Errors) -> int | None:
    """A duration member (integer nanoseconds or Go string) → nanoseconds; None on error."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors.setdefault(field, []).append(
            "must be a duration: integer nanoseconds or a Go duration string like 5m0s"
        )
        return None
    if isinstance(value, str):
        try:
            ns = parse_go_duration(value.strip())
        except InvalidDuration as error:
            errors.setdefault(field, []).append(str(error))
            return None
    elif isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        errors.setdefault(field, []).append("must be a whole number of nanoseconds")
        return None
    else:
        ns = int(value)
    if ns < 0:
        errors.setdefault(field, []).append("must not be negative")
        return None
    if ns > MAX_DURATION_NS:
        errors.setdefault(field, []).append("must be at most 8784h0m0s")
        return None
    return ns


def _remind_every_s(value: Any, errors: Errors) -> float | None:
    """`remind_every` → seconds, None for no reminder ("", null, zero)."""
    if value is None or value == "":
        return None
    ns = _duration_ns(value, "remind_every", errors)
    return ns_to_seconds(ns) if ns else None


def _limit(value: float, errors: Errors) -> float | None:
    """The wire model checked the type and the sign; a number too large for a float is not."""
    try:
        limit = float(value)
    except OverflowError:  # an integer beyond any float
        limit = math.inf
    if not math.isfinite(limit):
        errors.setdefault("limit", []).append("must be a number")
        return None
    return limit


def _container_type(value: str, errors: Errors) -> str | None:
    if not CONTAINER_TYPE.match(value):
        errors.setdefault("container_type", []).append(
            "must be a container type of the app (web, worker, clock, …)"
        )
        return None
    return value


def _notifier_ids(value: Any, known: Sequence[str], errors: Errors) -> tuple[str, ...] | None:
    """The listed notifiers, in order without repeats; each must be one of `known`."""
    if value is None:
        return ()
    listed = tuple(dict.fromkeys(value))
    if len(listed) > MAX_NOTIFIERS:
        errors.setdefault("notifiers", []).append(f"must list at most {MAX_NOTIFIERS} notifiers")
        return None
    unknown = [i for i in listed if i not in set(known)]
    for notifier_id in unknown:
        errors.setdefault("notifiers", []).append(f"no notifier {notifier_id!r} in this app")
    return None if unknown else listed


def _changes(
    body: Mapping[str, Any], known_notifiers: Sequence[str], model: type[AlertIn]
) -> tuple[dict[str, Any], Errors]:
    """The members present in `body`, checked (shape by the wire model, the rest here) and
    turned into AlertRule fields. A member the model refused is not looked at again."""
    errors = shape_errors(model, body, checked_elsewhere=DURATIONS)

    def given(name: str) -> Any:
        return None if has_problem(errors, name) else body.get(name)

    changes: dict[str, Any] = {
        name: given(name) for name in ("send_when_below", "disabled") if given(name) is not None
    }
    checked: dict[str, Any] = {
        "container_type": _container_type(given("container_type"), errors)
        if given("container_type") is not None
        else None,
        "metric": Metric(given("metric")) if given("metric") is not None else None,
        "limit": _limit(given("limit"), errors) if given("limit") is not None else None,
        "notifier_ids": _notifier_ids(body["notifiers"], known_notifiers, errors)
        if "notifiers" in body and (body["notifiers"] is None or given("notifiers") is not None)
        else None,
    }
    changes.update({field: value for field, value in checked.items() if value is not None})
    _duration_changes(body, changes, errors)
    return changes, errors


def _duration_changes(body: Mapping[str, Any], changes: dict[str, Any], errors: Errors) -> None:
    """The two durations, in seconds, into `changes`; their problems into `errors`."""
    if "duration_before_trigger" in body:
        raw = body["duration_before_trigger"]
        ns = 0 if raw is None else _duration_ns(raw, "duration_before_trigger", errors)
        if ns is not None:
            changes["duration_before_trigger_s"] = ns_to_seconds(ns)
    if "remind_every" in body:
        before = len(errors.get("remind_every", ()))
        remind = _remind_every_s(body["remind_every"], errors)
        if len(errors.get("remind_every", ())) == before:
            changes["remind_every_s"] = remind


def alert_from_create(
    body: Mapping[str, Any],
    *,
    alert_id: str,
    app_id: str,
    known_notifiers: Sequence[str],
    now: datetime,
) -> AlertRule:
    """A new rule from a POST body. Pure. Raises InvalidAlert listing every problem.

    `metric` and `limit` are required; `container_type` defaults to web (Go's client sends ""
    when it is not set, which counts as absent here).
    """
    if body.get("container_type") == "":
        body = {k: v for k, v in body.items() if k != "container_type"}
    changes, errors = _changes(body, known_notifiers, AlertCreate)
    if errors:
        raise InvalidAlert(errors)
    return AlertRule(
        id=alert_id,
        app_id=app_id,
        created_at=now,
        updated_at=now,
        **{"container_type": DEFAULT_CONTAINER_TYPE, **changes},
    )


def alert_patched(
    current: AlertRule,
    body: Mapping[str, Any],
    *,
    known_notifiers: Sequence[str],
    now: datetime,
) -> AlertRule:
    """`current` with the members of a PATCH body; absent members are unchanged. Pure.

    Raises InvalidAlert listing every problem.
    """
    changes, errors = _changes(body, known_notifiers, AlertPatch)
    if errors:
        raise InvalidAlert(errors)
    return current.model_copy(update={**changes, "version": current.version + 1, "updated_at": now})


# --- rule → wire ----------------------------------------------------------------------------


def to_wire(rule: AlertRule) -> dict[str, Any]:
    """A rule in Scalingo's shape (go-scalingo `Alert`). Pure."""
    wire: dict[str, Any] = {
        "id": rule.id,
        "app_id": rule.app_id,
        "container_type": rule.container_type,
        "metric": rule.metric.value,
        "limit": rule.limit,
        "send_when_below": rule.send_when_below,
        "duration_before_trigger": seconds_to_ns(rule.duration_before_trigger_s),
        "disabled": rule.disabled,
        "notifiers": list(rule.notifier_ids),
        "metadata": {},
        "created_at": _rfc3339(rule.created_at),
        "updated_at": _rfc3339(rule.updated_at),
    }
    if rule.remind_every_s is not None:
        wire["remind_every"] = format_go_duration(seconds_to_ns(rule.remind_every_s))
    return wire


def _rfc3339(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def event_data(rule: AlertRule) -> dict[str, Any]:
    """The `type_data` of `alert_added` / `alert_deleted` (catalog `AlertConfigData`). Pure."""
    return {
        "alert_id": rule.id,
        "metric": rule.metric.value,
        "limit": rule.limit,
        "container_type": rule.container_type,
        "send_when_below": rule.send_when_below,
        "notifier_ids": list(rule.notifier_ids),
    }
