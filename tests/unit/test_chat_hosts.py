"""Chat notifiers of hosted services accept only their service's webhook hosts (Scalingo's
provider check); self-hosted ones (Mattermost, Rocket.Chat, Hipchat) accept any URL the URL policy
allows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_api.faces.scalingo.notifier_face import notifier_from_create
from herald_api.model.chat_hosts import (
    KNOWN_HOSTS,
    SELF_HOSTED,
    chat_host_problem,
    has_host_rule,
    host_matches,
)
from herald_api.model.platforms import PLATFORMS
from herald_api.model.type_data import InvalidNotifier
from yarl import URL

PLATFORM_NAMES = {p.name: p.display_name for p in PLATFORMS}

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("platform", "url"),
    [
        ("slack", "https://hooks.slack.com/services/T0/B0/x"),
        ("slack", "https://hooks.slack-gov.com/services/T0/B0/x"),
        ("discord", "https://discord.com/api/webhooks/1/x"),
        ("discord", "https://discordapp.com/api/webhooks/1/x"),
        ("discord", "https://ptb.discord.com/api/webhooks/1/x"),
        ("microsoft_teams", "https://prod-12.westus.logic.azure.com:443/workflows/abc"),
        ("microsoft_teams", "https://contoso.webhook.office.com/webhookb2/abc"),
        ("google_chat", "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k"),
        ("flowdock", "https://api.flowdock.com/v1/messages/team_inbox/x"),
        ("gitter", "https://webhooks.gitter.im/e/x"),
        ("webhook", "https://anything.example.com/hook"),
    ],
)
def test_the_services_own_hosts_are_accepted(platform, url):
    assert chat_host_problem(platform, url) is None


@pytest.mark.parametrize(
    ("platform", "url"),
    [
        ("slack", "https://example.com/services/T0/B0/x"),
        ("slack", "https://hooks.slack.com.evil.example/services/x"),
        ("slack", "https://evilhooks.slack.com/x"),
        ("discord", "https://discord.com.evil.example/api/webhooks/1/x"),
        ("discord", "https://hooks.slack.com/services/x"),
        ("microsoft_teams", "https://logic.azure.com/workflows/abc"),
        ("google_chat", "https://chat.example.com/v1/spaces/AAA/messages"),
        ("flowdock", "https://flowdock.example.org/v1/messages/team_inbox/x"),
        ("gitter", "https://127.0.0.1/e/x"),
    ],
)
def test_other_hosts_are_refused_with_the_rule_named(platform, url):
    problem = chat_host_problem(platform, url)
    assert problem is not None
    assert problem.startswith(f"must be a {PLATFORM_NAMES[platform]} webhook host (")
    assert problem.endswith(f"): {URL(url).host} is not")


def test_a_refusal_names_the_hosts_as_the_problem_body_shows_them():
    assert chat_host_problem("slack", "https://chat.example.org/hooks/x") == (
        "must be a Slack webhook host"
        " (hooks.slack.com, hooks.slack-gov.com, *.cloud.mattermost.com): chat.example.org is not"
    )
    many = {"slack": ["a.example.org", "b.example.org"]}
    assert chat_host_problem("slack", "https://chat.example.org/x", extra=many) == (
        "must be a Slack webhook host (hooks.slack.com, hooks.slack-gov.com, a.example.org,"
        " b.example.org…): chat.example.org is not"
    )


@pytest.mark.parametrize(
    ("platform", "url"),
    [
        ("mattermost", "https://chat.example.org/hooks/x"),
        ("mattermost", "https://acme.cloud.mattermost.com/hooks/x"),
        ("mattermost", "http://mattermost.example.net:8065/hooks/x"),
        ("rocket_chat", "https://rocket.example.com/hooks/abc/def"),
        ("rocket_chat", "https://acme.rocket.chat/hooks/x"),
        ("hipchat", "https://hipchat.example.org"),
        ("hipchat", "https://api.hipchat.com"),
    ],
)
def test_self_hosted_services_accept_any_host(platform, url):
    assert not has_host_rule(platform)
    assert chat_host_problem(platform, url) is None
    assert chat_host_problem(platform, url, extra={platform: ["only.example.com"]}) is None


def test_hosted_services_take_more_hosts_from_settings():
    extra = {"discord": ["discord.example.net"], "gitter": ["*.example.net"]}
    assert chat_host_problem("discord", "https://discord.example.net/x", extra=extra) is None
    assert chat_host_problem("gitter", "https://g.example.net/e/x", extra=extra) is None
    assert chat_host_problem("gitter", "https://example.net/e/x", extra=extra)


def test_a_slack_notifier_accepts_known_mattermost_hosts_as_scalingo_users_expect():
    extra = {"mattermost": ["chat.example.org"]}
    assert chat_host_problem("slack", "https://chat.example.org/hooks/x", extra=extra) is None
    assert chat_host_problem("slack", "https://acme.cloud.mattermost.com/hooks/x") is None
    assert chat_host_problem("discord", "https://chat.example.org/hooks/x", extra=extra)
    # Only the Mattermost hosts Herald knows: a Mattermost notifier accepting any host does not
    # open Slack notifiers to any host.
    assert chat_host_problem("slack", "https://chat.example.org/hooks/x")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_stand_ins_only_when_loopback_targets_are_allowed(host):
    url = f"http://{host}:8080/services/x"
    assert chat_host_problem("slack", url, allow_loopback=True) is None
    assert chat_host_problem("slack", url, allow_loopback=False) is not None


def test_wildcards_need_at_least_one_label():
    assert host_matches("a.b.logic.azure.com", "*.logic.azure.com")
    assert not host_matches("logic.azure.com", "*.logic.azure.com")
    assert host_matches("HOOKS.SLACK.COM.", "hooks.slack.com")


def test_every_chat_platform_has_a_rule_or_is_self_hosted():
    chat = {p.name for p in PLATFORMS if p.webhook_like and p.name != "webhook"}
    ruled = {name for name in KNOWN_HOSTS if has_host_rule(name)}
    assert chat == ruled | SELF_HOSTED
    assert not ruled & SELF_HOSTED
    assert ruled == {"slack", "discord", "microsoft_teams", "google_chat", "flowdock", "gitter"}


def test_the_api_refuses_a_slack_notifier_with_a_non_slack_url():
    body = {
        "name": "ops",
        "platform_id": "slack",
        "type_data": {"webhook_url": "https://example.com/hook"},
    }
    with pytest.raises(InvalidNotifier) as refused:
        notifier_from_create(
            body, notifier_id="n-1", app_id="a", owner_id="o", now=NOW, allow_loopback=False
        )
    assert "type_data.webhook_url" in refused.value.errors
    body["type_data"] = {"webhook_url": "https://hooks.slack.com/services/T/B/x"}
    created = notifier_from_create(
        body, notifier_id="n-1", app_id="a", owner_id="o", now=NOW, allow_loopback=False
    )
    assert created.type_data["webhook_url"].startswith("https://hooks.slack.com/")


def _slack(type_data):
    body = {"name": "deploys", "platform_id": "slack", "type_data": type_data}
    return notifier_from_create(
        body, notifier_id="n-1", app_id="a", owner_id="o", now=NOW, allow_loopback=False
    )


def test_a_slack_notifier_in_bot_token_mode_needs_no_webhook_url():
    created = _slack({"bot_token": "xoxb-1234-5678-abcdef", "channel": "C0DEPLOYS"})
    assert created.type_data["channel"] == "C0DEPLOYS"
    from herald_api.model.notifier_wire import to_wire

    assert to_wire(created)["type_data"]["bot_token"] == "********", "the token is write-only"


@pytest.mark.parametrize(
    ("type_data", "field"),
    [
        ({"bot_token": "hunter2", "channel": "C0DEPLOYS"}, "type_data.bot_token"),
        ({"bot_token": "xoxb-1234-5678-abcdef"}, "type_data.channel"),
        ({"bot_token": "xoxb-1234-5678-abcdef", "channel": "<!channel>"}, "type_data.channel"),
    ],
)
def test_bot_token_mode_is_checked(type_data, field):
    with pytest.raises(InvalidNotifier) as refused:
        _slack(type_data)
    assert field in refused.value.errors


def _created(platform_id, url):
    body = {"name": "chat", "platform_id": platform_id, "type_data": {"webhook_url": url}}
    if platform_id == "hipchat":
        body["type_data"] |= {"token": "t0k3n", "room": "ops"}
    return notifier_from_create(
        body, notifier_id="n-1", app_id="a", owner_id="o", now=NOW, allow_loopback=False
    )


@pytest.mark.parametrize("platform_id", ["mattermost", "rocket_chat", "hipchat"])
def test_the_api_takes_a_self_hosted_server_but_still_applies_the_url_policy(platform_id):
    assert _created(platform_id, "https://chat.example.org/hooks/x").type_data["webhook_url"]
    with pytest.raises(InvalidNotifier) as refused:
        _created(platform_id, "http://10.0.0.1/hooks/x")
    [problem] = refused.value.errors["type_data.webhook_url"]
    assert problem.startswith("is not allowed:")
