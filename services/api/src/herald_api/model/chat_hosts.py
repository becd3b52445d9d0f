"""Which hosts a chat notifier's `webhook_url` may point at. Pure.

Scalingo's notifications API refuses "a slack notification with some non slack url"; Herald does
the same for every chat service that runs only as its vendor's service, at creation and on
update, after the URL policy (`herald_core.urlpolicy`, the SSRF rules), which applies to every
URL whatever its platform:

    slack            hooks.slack.com, hooks.slack-gov.com
                     + Mattermost's hosts (below): Scalingo users reach Mattermost through the
                       Slack integration
    discord          discord.com, discordapp.com, canary./ptb.discord.com
    microsoft_teams  Workflows (*.logic.azure.com, *.environment.api.powerplatform.com) and the
                     retired connectors' *.webhook.office.com
    google_chat      chat.googleapis.com
    flowdock         api.flowdock.com
    gitter           webhooks.gitter.im

Self-hosted services have no host rule: Mattermost, Rocket.Chat and Hipchat (Hipchat Server) run
on their users' own servers, whose webhook URL their documentation tells them to configure, so
their notifiers accept any URL the URL policy allows. Flowdock and Gitter were hosted services
only, so they keep their hosts.

Patterns are host names, with `*.` matching one or more labels in front. Any platform accepts
extra patterns from settings (`HERALD_API_CHAT_HOSTS__<PLATFORM>='["chat.example.org"]'`), for a
proxy or a regional host. For `mattermost` these are the hosts a *Slack* notifier may also use
(with Mattermost Cloud's `*.cloud.mattermost.com`): a Mattermost notifier needs none. When
loopback targets are allowed (tests, the local stack), loopback hosts are accepted too, so that a
local stand-in can play the service. Other platforms (webhook, e-mail, push) have no host rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import ip_address

from yarl import URL

from herald_api.model.platforms import platform_by_id

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
    "flowdock": ("api.flowdock.com",),
    "gitter": ("webhooks.gitter.im",),
}
"""The services' own hosts, by platform name (`herald_api.model.platforms`). Mattermost's are only
used where another platform accepts them (`ALSO_ACCEPTS`)."""

SELF_HOSTED = frozenset({"mattermost", "rocket_chat", "hipchat"})
"""Platforms whose servers are their users' own: no host rule, the URL policy only."""

ALSO_ACCEPTS: Mapping[str, tuple[str, ...]] = {"slack": ("mattermost",)}
"""Platforms whose notifiers also accept another platform's hosts (Scalingo's habit)."""

SHOWN_PATTERNS = 4
"""How many patterns a refusal names before "…"."""

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def host_matches(host: str, pattern: str) -> bool:
    """Whether `host` is `pattern`, or ends with it when the pattern starts with `*.`. Pure."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return host.endswith(suffix) and len(host) > len(suffix)
    return host == pattern


def has_host_rule(platform: str) -> bool:
    """Whether notifiers of `platform` are limited to their service's hosts. Pure."""
    return platform in KNOWN_HOSTS and platform not in SELF_HOSTED


def allowed_patterns(platform: str, extra: ChatHosts) -> tuple[str, ...]:
    """Every host pattern a notifier of `platform` may use; empty when it has no rule. Pure."""
    if not has_host_rule(platform):
        return ()
    patterns: list[str] = []
    for name in (platform, *ALSO_ACCEPTS.get(platform, ())):
        patterns += [*KNOWN_HOSTS.get(name, ()), *extra.get(name, ())]
    return tuple(dict.fromkeys(patterns))


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(platform: str, host: str, patterns: Sequence[str]) -> str:
    """The problem naming the host rule, e.g. "must be a Slack webhook host (…): x is not". Pure."""
    known = platform_by_id(platform)
    service = known.display_name if known is not None else platform
    shown = ", ".join(patterns[:SHOWN_PATTERNS]) + ("…" if len(patterns) > SHOWN_PATTERNS else "")
    return f"must be a {service} webhook host ({shown}): {host or 'no host'} is not"


def chat_host_problem(
    platform: str,
    url: str,
    *,
    extra: ChatHosts | None = None,
    allow_loopback: bool = False,
) -> str | None:
    """Why `url` is not a `platform` endpoint, or None when it is (or the platform has no rule).

    Pure; `url` has already passed the URL policy, so it parses.
    """
    patterns = allowed_patterns(platform, extra or {})
    if not patterns:
        return None
    host = URL(url).host or ""
    if allow_loopback and _is_loopback(host):
        return None
    if any(host_matches(host, pattern) for pattern in patterns):
        return None
    return refusal(platform, host, patterns)
