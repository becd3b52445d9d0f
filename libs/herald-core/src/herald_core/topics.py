"""Topic names and the declarative topic file (docs/architecture.md).

Topic names appear nowhere else in the code: services import them from here. The topic file
(`deploy/topics.yaml`) is parsed by :func:`load_topic_file` into plain :class:`TopicSpec` values;
creating them on a broker is `herald_kafka.admin`'s job. Pure: no I/O but reading the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml's parser where PyYAML has it: some eight times faster, the same documents
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

PLATFORM_EVENTS = "platform.events"
EVENTS = "notify.events"
EVENTS_DLQ = "notify.events.dlq"
CONFIG_NOTIFIERS = "notify.config.notifiers"
CONFIG_APPS = "notify.config.apps"
CONFIG_ALERTS = "notify.config.alerts"
CONFIG_OWNERS = "notify.config.owners"
PLATFORM_METRICS = "platform.metrics"
DELIVERY_RESULTS = "notify.delivery-results"
NOTIFIER_COMMANDS = "notify.commands.notifiers"


class Channel(StrEnum):
    """Delivery channels: one `notify.deliveries.<channel>` topic and one sender deployment each."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    SLACK = "slack"
    MATTERMOST = "mattermost"
    ROCKETCHAT = "rocketchat"
    DISCORD = "discord"
    MSTEAMS = "msteams"
    GOOGLECHAT = "googlechat"
    HIPCHAT = "hipchat"
    FLOWDOCK = "flowdock"
    GITTER = "gitter"
    APNS = "apns"
    WEBPUSH = "webpush"


def deliveries_topic(channel: Channel | str) -> str:
    """The topic the router writes a channel's deliveries to."""
    return f"notify.deliveries.{channel}"


def retry_topic(channel: Channel | str, tier: str) -> str:
    """The retry topic of one tier (`10s`, `1m`, …) of a channel."""
    return f"notify.deliveries.{channel}.retry.{tier}"


def delivery_dlq_topic(channel: Channel | str) -> str:
    """Where a channel's permanently failed or exhausted deliveries go."""
    return f"notify.deliveries.{channel}.dlq"


_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")


def parse_duration_ms(text: str | int) -> int:
    """`7d` → 604800000; a plain whole number is milliseconds. Raises ValueError on anything else.

    Pure.
    """
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    if not isinstance(text, str):
        raise ValueError(f"not a duration: {text!r} (use e.g. 500ms, 10s, 1m, 6h, 7d)")
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 500ms, 10s, 1m, 6h, 7d)")
    return int(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass(frozen=True)
class TopicSpec:
    """One topic as the file declares it."""

    name: str
    partitions: int
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


def _spec(name: str, entry: Mapping[str, Any], replication: int) -> TopicSpec:
    try:
        return _checked_spec(name, entry, replication)
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"{name}: {detail}") from None


def _checked_spec(name: str, entry: Mapping[str, Any], replication: int) -> TopicSpec:
    cleanup = entry.get("cleanup", "delete")
    if cleanup not in ("delete", "compact", "compact,delete"):
        raise ValueError(f"cleanup must be delete, compact or compact,delete, not {cleanup!r}")
    config = {"cleanup.policy": cleanup}
    if "retention" in entry:
        config["retention.ms"] = str(parse_duration_ms(entry["retention"]))
    for key, value in (entry.get("config") or {}).items():
        config[str(key)] = str(value)
    raw_partitions = entry["partitions"]
    if isinstance(raw_partitions, bool) or not isinstance(raw_partitions, int):
        raise ValueError(f"partitions must be a whole number, not {raw_partitions!r}")
    partitions = raw_partitions
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    return TopicSpec(name, partitions, replication, config)


def parse_topic_file(document: Mapping[str, Any]) -> list[TopicSpec]:
    """Expand a parsed topic file into concrete topics, in file order. Pure.

    Raises:
        ValueError: on a malformed entry, with the topic name in the message.
    """
    replication = int(document.get("replication_factor", 1))
    specs = [_spec(name, entry, replication) for name, entry in document["topics"].items()]
    channels = document.get("channels", [])
    tiers = document.get("retry_tiers", [])
    for template, entry in (document.get("per_channel") or {}).items():
        for channel in channels:
            names = [template.format(channel=channel, tier=t) for t in tiers]
            if "{tier}" not in template:
                names = [template.format(channel=channel)]
            specs.extend(_spec(name, entry, replication) for name in names)
    return specs


def default_topic_file() -> Path:
    """`deploy/topics.yaml` of the checkout this package is installed from."""
    return Path(__file__).resolve().parents[4] / "deploy" / "topics.yaml"


def load_topic_file(path: Path | None = None) -> list[TopicSpec]:
    """Read and expand the topic file (default: the project's)."""
    return parse_topic_file(_read(path))


def retry_tiers(path: Path | None = None) -> list[str]:
    """The retry tier names the topic file declares, in order."""
    return [str(t) for t in _read(path).get("retry_tiers", [])]


def _read(path: Path | None) -> Any:
    with (path or default_topic_file()).open() as handle:
        return yaml.load(handle, Loader=SafeLoader)
