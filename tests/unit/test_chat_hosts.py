"""Chat notifiers accept only their service's webhook hosts (issue 7; seed 002's provider check)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from herald_api.chat_hosts import chat_host_problem, host_matches
from herald_api.notifier_face import InvalidNotifier, notifier_from_create
from herald_api.platforms import PLATFORMS

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
        ("mattermost", "https://acme.cloud.mattermost.com/hooks/x"),
        ("rocket_chat", "https://acme.rocket.chat/hooks/x"),
        ("flowdock", "https://api.flowdock.com/v1/messages/team_inbox/x"),
        ("gitter", "https://webhooks.gitter.im/e/x"),
        ("hipchat", "https://api.hipchat.com/v1/rooms/message"),
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
        ("mattermost", "https://chat.example.org/hooks/x"),
        ("rocket_chat", "https://rocket.chat.evil.example/hooks/x"),
        ("hipchat", "https://127.0.0.1/v1/rooms/message"),
    ],
)
def test_other_hosts_are_refused_with_the_expected_hosts_named(platform, url):
    problem = chat_host_problem(platform, url)
    assert problem is not None
    assert problem.startswith(f"must be a {platform} webhook URL")


def test_self_hosted_servers_come_from_settings():
    extra = {"mattermost": ["chat.example.org"], "rocket_chat": ["*.example.net"]}
    assert chat_host_problem("mattermost", "https://chat.example.org/hooks/x", extra=extra) is None
    assert chat_host_problem("rocket_chat", "https://rc.example.net/hooks/x", extra=extra) is None
    assert chat_host_problem("rocket_chat", "https://example.net/hooks/x", extra=extra)


def test_a_slack_notifier_accepts_mattermost_hosts_as_scalingo_users_expect():
    extra = {"mattermost": ["chat.example.org"]}
    assert chat_host_problem("slack", "https://chat.example.org/hooks/x", extra=extra) is None
    assert chat_host_problem("slack", "https://acme.cloud.mattermost.com/hooks/x") is None
    assert chat_host_problem("discord", "https://chat.example.org/hooks/x", extra=extra)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_stand_ins_only_when_loopback_targets_are_allowed(host):
    url = f"http://{host}:8080/services/x"
    assert chat_host_problem("slack", url, allow_loopback=True) is None
    assert chat_host_problem("slack", url, allow_loopback=False) is not None


def test_wildcards_need_at_least_one_label():
    assert host_matches("a.b.logic.azure.com", "*.logic.azure.com")
    assert not host_matches("logic.azure.com", "*.logic.azure.com")
    assert host_matches("HOOKS.SLACK.COM.", "hooks.slack.com")


def test_every_chat_platform_has_a_rule():
    chat = {p.name for p in PLATFORMS if p.webhook_like and p.name != "webhook"}
    from herald_api.chat_hosts import KNOWN_HOSTS

    assert chat == set(KNOWN_HOSTS)


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
    from herald_api.notifier_face import to_wire

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
