"""Which hosts a chat notifier's `webhook_url` may point at. Pure.

Scalingo's notifications API refuses "a slack notification with some non slack url"; Herald does
the same for every chat service, at creation and on update, after the SSRF check (which still
applies to whatever passes here):

    slack            hooks.slack.com, hooks.slack-gov.com
                     + the configured Mattermost hosts: Scalingo users reach Mattermost through
                       the Slack integration, and that keeps working
    discord          discord.com, discordapp.com, canary./ptb.discord.com
    microsoft_teams  Workflows (*.logic.azure.com, *.environment.api.powerplatform.com) and the
                     retired connectors' *.webhook.office.com
    google_chat      chat.googleapis.com
    mattermost       *.cloud.mattermost.com             + `chat_hosts.mattermost` (self-hosted)
    rocket_chat      *.rocket.chat                      + `chat_hosts.rocket_chat` (self-hosted)
    flowdock         api.flowdock.com                   + `chat_hosts.flowdock`
    gitter           webhooks.gitter.im                 + `chat_hosts.gitter`
    hipchat          api.hipchat.com                    + `chat_hosts.hipchat` (Hipchat Server)

Patterns are host names, with `*.` matching one or more labels in front. Any platform accepts
extra patterns from settings (`HERALD_API_CHAT_HOSTS__<PLATFORM>='["chat.example.org"]'`). When
loopback targets are allowed (tests, the local stack), loopback hosts are accepted too, so that a
local stand-in can play the service. Platforms not listed here (webhook, e-mail, push) have no
host rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import ip_address

from yarl import URL

ChatHosts = Mapping[str, Sequence[str]]
"""More host patterns per platform name, from settings."""

KNOWN_HOSTS: Mapping[str, tuple[str, ...]] = {
    "slack": ("hooks.slack.com", "hooks.slack-gov.com"),
    "discord": ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"),
    "microsoft_teams": (
        "*.logic.azure.com",
        "*.environment.api.powerplatform.com",
        "*.webhook.office.com",
    ),
    "google_chat": ("chat.googleapis.com",),
    "mattermost": ("*.cloud.mattermost.com",),
    "rocket_chat": ("*.rocket.chat",),
    "flowdock": ("api.flowdock.com",),
    "gitter": ("webhooks.gitter.im",),
    "hipchat": ("api.hipchat.com",),
}
"""The services' own hosts, by platform name (`herald_api.platforms`)."""

ALSO_ACCEPTS: Mapping[str, tuple[str, ...]] = {"slack": ("mattermost",)}
"""Platforms whose notifiers also accept another platform's hosts (Scalingo's habit)."""

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def host_matches(host: str, pattern: str) -> bool:
    """Whether `host` is `pattern`, or ends with it when the pattern starts with `*.`. Pure."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def allowed_patterns(platform: str, extra: ChatHosts) -> tuple[str, ...]:
    """Every host pattern a notifier of `platform` may use; empty when it has no rule. Pure."""
    names = (platform, *ALSO_ACCEPTS.get(platform, ()))
    patterns: list[str] = []
    for name in names:
        patterns += [*KNOWN_HOSTS.get(name, ()), *extra.get(name, ())]
    return tuple(patterns)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def chat_host_problem(
    platform: str,
    url: str,
    *,
    extra: ChatHosts | None = None,
    allow_loopback: bool = False,
) -> str | None:
    """Why `url` is not a `platform` endpoint, or None when it is (or the platform has no rule).

    Pure; `url` has already passed the SSRF check, so it parses.
    """
    if platform not in KNOWN_HOSTS:
        return None
    patterns = allowed_patterns(platform, extra or {})
    host = URL(url).host or ""
    if allow_loopback and _is_loopback(host):
        return None
    if any(host_matches(host, pattern) for pattern in patterns):
        return None
    return f"must be a {platform} webhook URL (host {' or '.join(patterns)}), not {host!r}"
