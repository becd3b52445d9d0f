"""The facts of a summary (chat and e-mail): per-kind key/value lines and how one value is shown.

Kind        deployment, crash, alert, budget or generic, from the type and its category
kind_facts  the common facts (app, rack, status, actor), then the kind's own, in the order
            a reader looks for them, and the `type_data` keys they used
shown       one value as one line (numbers without trailing zeros, booleans as yes/no)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Herald's own caps, well inside every chat service's and short enough for a mail's table:
# one fact's label and value, the one-sentence summary, a title.
FACT_LABEL = 60
FACT_VALUE = 300
SUMMARY = 1500
TITLE = 150

_SPACE = re.compile(r"\s+")
_SHA = re.compile(r"[0-9a-f]{40}")


class Kind(StrEnum):
    DEPLOYMENT = "deployment"
    CRASH = "crash"
    ALERT = "alert"
    BUDGET = "budget"
    GENERIC = "generic"


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


def kind_facts(
    kind: Kind, data: Mapping[str, Any], common: list[tuple[str, str | None]], actor: str | None
) -> tuple[list[Fact], set[str]]:
    """`common` (label, value) pairs that have a value, then the kind's facts from `data`.

    Also returns the `data` keys those facts used, so that the caller lists only the others.
    Pure.
    """
    facts = [Fact(label, value) for label, value in common if value]
    used = {"status", "actor"} | _CONSUMED.get(kind, set())
    for label, key, show in _KIND_FACTS.get(kind, ()):
        value = data.get(key)
        used.add(key)
        if value is None or value == "" or (key == "pusher" and value == actor):
            continue
        facts.append(Fact(label, show(value, data)))
    return facts, used


def _plain(value: Any, data: Mapping[str, Any]) -> str:
    return shown(value)


def _git_ref(value: Any, data: Mapping[str, Any]) -> str:
    text = shown(value)
    return text[:12] if _SHA.fullmatch(text) else text


def _duration(value: Any, data: Mapping[str, Any]) -> str:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return shown(value)
    hours, rest = divmod(value, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes or hours else []
    return " ".join([*parts, f"{seconds}s"])


def _container(value: Any, data: Mapping[str, Any]) -> str:
    index = data.get("container_index")
    return f"{shown(value)}-{index}" if isinstance(index, int) else shown(value)


def _money(value: Any, data: Mapping[str, Any]) -> str:
    currency = data.get("currency")
    return f"{shown(value)} {shown(currency)}" if currency else shown(value)


def _limit(value: Any, data: Mapping[str, Any]) -> str:
    below = data.get("send_when_below") is True
    return f"{shown(value)} ({'alerts below' if below else 'alerts above'})"


_Shower = Callable[[Any, Mapping[str, Any]], str]
_KIND_FACTS: Mapping[Kind, tuple[tuple[str, str, _Shower], ...]] = {
    Kind.DEPLOYMENT: (
        ("Duration", "duration", _duration),
        ("Git ref", "git_ref", _git_ref),
        ("Pusher", "pusher", _plain),
        ("Deployment", "deployment_id", _plain),
        ("Release", "release_id", _plain),
        ("Build", "build_id", _plain),
        ("Stack", "stack", _plain),
        ("Message", "message", _plain),
    ),
    Kind.CRASH: (
        ("Crashes", "crash_count", _plain),
        ("Container", "container_type", _container),
        ("Exit code", "exit_code", _plain),
        ("Reason", "reason", _plain),
    ),
    Kind.ALERT: (
        ("Alert", "name", _plain),
        ("Metric", "metric", _plain),
        ("Value", "value", _plain),
        ("Limit", "limit", _limit),
        ("Container type", "container_type", _plain),
    ),
    Kind.BUDGET: (
        ("Spend", "spend", _money),
        ("Threshold", "threshold", _money),
        ("Cap", "cap", _money),
        ("Message", "message", _plain),
    ),
}


_CONSUMED: Mapping[Kind, set[str]] = {
    Kind.CRASH: {"container_index"},
    Kind.ALERT: {"send_when_below"},
    Kind.BUDGET: {"currency"},
}


def label(key: str) -> str:
    """A field name or type id as a label: `addon_name` → "Addon name". Pure."""
    words = re.sub(r"[_:.\-]+", " ", key).strip()
    return words[:1].upper() + words[1:]


def shown(value: Any) -> str:
    """One value as one line of at most FACT_VALUE characters. Pure; never raises."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = format(value, ".15g")
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(shown(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    flat = one_line(text)
    return flat if len(flat) <= FACT_VALUE else flat[: FACT_VALUE - 1] + "…"


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines included) made one space. Pure."""
    return _SPACE.sub(" ", text).strip()
