"""Topic names and the declarative topic file (docs/architecture.md).

Topic names appear nowhere else in the code: services import them from here. The topic file
(`deploy/topics.yaml`) is parsed by :func:`load_topic_file` into plain :class:`TopicSpec` values;
creating them on a broker is `herald_kafka.admin`'s job. Pure: no I/O but reading the file.

A file's `profiles` say how every topic is replicated where it is applied: each profile has a
`replication_factor` and `config` set on every topic (a topic's own config wins), and
`default_profile` names the one used when none is asked for. Herald's file has `dev` (one
replica: a single broker) and `prod` (three replicas, `min.insync.replicas=2`, unclean leader
election off). A file without profiles has one top-level `replication_factor` (default 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

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
SLACK_THREADS = "notify.state.slack-threads"


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


@dataclass(frozen=True)
class TopicProfile:
    """How every topic is replicated where a profile of the topic file is applied."""

    name: str
    replication_factor: int
    config: Mapping[str, str] = field(default_factory=dict)


DEFAULT_PROFILE = "dev"


def config_value(value: object) -> str:
    """A config value as Kafka spells it: YAML's booleans as `true`/`false`. Pure."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_profiles(document: Mapping[str, Any]) -> dict[str, TopicProfile]:
    """The file's profiles by name; without `profiles`, one unnamed (`""`) profile with the
    top-level `replication_factor` (default 1). Pure.

    Raises:
        ValueError: on a profile without a whole, positive replication factor.
    """
    raw = document.get("profiles")
    if not raw:
        return {"": TopicProfile("", int(document.get("replication_factor", 1)))}
    profiles = {}
    for name, entry in raw.items():
        factor = (entry or {}).get("replication_factor")
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValueError(f"profile {name}: replication_factor must be a whole number >= 1")
        config = {str(k): config_value(v) for k, v in (entry.get("config") or {}).items()}
        profiles[str(name)] = TopicProfile(str(name), factor, config)
    return profiles


def select_profile(document: Mapping[str, Any], profile: str | None) -> TopicProfile:
    """The profile `profile` of the file; None: its `default_profile` (`dev` unless it says).
    Pure.

    Raises:
        ValueError: naming the file's profiles, when it has no such one.
    """
    profiles = parse_profiles(document)
    if "" in profiles:
        if profile is not None:
            raise ValueError(f"the topic file has no profiles, so none called {profile!r}")
        return profiles[""]
    wanted = profile or str(document.get("default_profile", DEFAULT_PROFILE))
    if wanted not in profiles:
        raise ValueError(f"no topic profile {wanted!r}; the file has {sorted(profiles)}")
    return profiles[wanted]


def _spec(name: str, entry: Mapping[str, Any], profile: TopicProfile) -> TopicSpec:
    try:
        return _checked_spec(name, entry, profile)
    except (KeyError, TypeError, ValueError) as error:
        detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"{name}: {detail}") from None


def _checked_spec(name: str, entry: Mapping[str, Any], profile: TopicProfile) -> TopicSpec:
    cleanup = entry.get("cleanup", "delete")
    if cleanup not in ("delete", "compact", "compact,delete"):
        raise ValueError(f"cleanup must be delete, compact or compact,delete, not {cleanup!r}")
    config = {**profile.config, "cleanup.policy": cleanup}
    if "retention" in entry:
        config["retention.ms"] = str(parse_duration_ms(entry["retention"]))
    for key, value in (entry.get("config") or {}).items():
        config[str(key)] = config_value(value)
    raw_partitions = entry["partitions"]
    if isinstance(raw_partitions, bool) or not isinstance(raw_partitions, int):
        raise ValueError(f"partitions must be a whole number, not {raw_partitions!r}")
    partitions = raw_partitions
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    return TopicSpec(name, partitions, profile.replication_factor, config)


def parse_topic_file(document: Mapping[str, Any], profile: str | None = None) -> list[TopicSpec]:
    """Expand a parsed topic file into concrete topics, in file order, replicated as
    `profile` says (None: the file's default profile). Pure.

    Raises:
        ValueError: on a malformed entry, with the topic name in the message, or an unknown
            profile.
    """
    chosen = select_profile(document, profile)
    specs = [_spec(name, entry, chosen) for name, entry in document["topics"].items()]
    channels = document.get("channels", [])
    tiers = document.get("retry_tiers", [])
    for template, entry in (document.get("per_channel") or {}).items():
        for channel in channels:
            names = [template.format(channel=channel, tier=t) for t in tiers]
            if "{tier}" not in template:
                names = [template.format(channel=channel)]
            specs.extend(_spec(name, entry, chosen) for name in names)
    return specs


def default_topic_file() -> Path:
    """`deploy/topics.yaml` of the checkout this package is installed from."""
    return Path(__file__).resolve().parents[4] / "deploy" / "topics.yaml"


def load_topic_file(path: Path | None = None, profile: str | None = None) -> list[TopicSpec]:
    """Read and expand the topic file (default: the project's) for `profile` (default: the
    file's default profile)."""
    return parse_topic_file(_read(path), profile)


def topic_profiles(path: Path | None = None) -> dict[str, TopicProfile]:
    """The profiles the topic file declares, by name."""
    return parse_profiles(_read(path))


def retry_tiers(path: Path | None = None) -> list[str]:
    """The retry tier names the topic file declares, in order."""
    return [str(t) for t in _read(path).get("retry_tiers", [])]


def _read(path: Path | None) -> Any:
    """The topic file's document. PyYAML is imported here, on first use (a service that never
    reads the file never loads it), with libyaml's loader where PyYAML has it: some eight
    times faster, the same documents."""
    import yaml  # lazy, see above

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (path or default_topic_file()).open() as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
