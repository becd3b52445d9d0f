"""Chat renderers (`herald_sender.chat`): every service's payload has its required fields and
stays within the service's limits, for the golden cases, for one event of every catalog type
and for hostile input; escaping, cutting and the per-kind facts."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest
from herald_core.catalog import CATALOG
from herald_core.deliveries import Delivery
from herald_core.envelope import Event
from herald_core.errors import PermanentDeliveryError
from herald_core.intake import parse_event
from herald_core.notifiers import Notifier, Scope, Selection, WebhookFormat
from herald_core.topics import Channel
from herald_sender.chat import (
    RENDERERS,
    WEBHOOK_FORMAT_RENDERERS,
    ChatOptions,
    Kind,
    Tone,
    hipchat_form,
    hipchat_url,
    render_chat,
    render_hipchat,
    summarize,
    with_flow_token,
)
from herald_sender.chat import limits as lim
from herald_sender.chat.discord import embed_total
from herald_sender.chat.samples import ROUTED_AT, SAMPLES, sample_delivery

CHAT_CHANNELS = [
    Channel.SLACK,
    Channel.MATTERMOST,
    Channel.ROCKETCHAT,
    Channel.DISCORD,
    Channel.MSTEAMS,
    Channel.GOOGLECHAT,
    Channel.HIPCHAT,
    Channel.FLOWDOCK,
    Channel.GITTER,
]
OPTIONS = ChatOptions(
    dashboard_url_template="https://dashboard.example.com/apps/{app_name}",
    event_url_template="https://herald.example.com/events/{event_id}",
)
HEX = re.compile(r"#[0-9A-F]{6}")


# --- the checks of each service's payload -------------------------------------------------


def _slack_block(block: dict[str, Any]) -> None:
    kind = block["type"]
    if kind == "header":
        assert block["text"]["type"] == "plain_text"
        assert 0 < len(block["text"]["text"]) <= lim.SLACK_HEADER_TEXT
    elif kind == "section":
        if "text" in block:
            assert 0 < len(block["text"]["text"]) <= lim.SLACK_SECTION_TEXT
        fields = block.get("fields", [])
        assert len(fields) <= lim.SLACK_SECTION_FIELDS
        assert all(0 < len(f["text"]) <= lim.SLACK_FIELD_TEXT for f in fields)
        assert "text" in block or fields
    elif kind == "actions":
        assert 0 < len(block["elements"]) <= lim.SLACK_ACTIONS_ELEMENTS
        for button in block["elements"]:
            assert button["type"] == "button"
            assert 0 < len(button["text"]["text"]) <= lim.SLACK_BUTTON_TEXT
            assert button["url"].startswith("https://")
            assert len(button["url"]) <= lim.SLACK_BUTTON_URL
    elif kind == "context":
        assert 0 < len(block["elements"]) <= lim.SLACK_CONTEXT_ELEMENTS
        assert all(len(e["text"]) <= lim.SLACK_SECTION_TEXT for e in block["elements"])
    else:
        raise AssertionError(f"unexpected block {kind}")


def check_slack(p: dict[str, Any]) -> None:
    assert 0 < len(p["text"]) <= lim.SLACK_TEXT
    blocks = p["blocks"] + [b for a in p["attachments"] for b in a["blocks"]]
    assert 0 < len(blocks) <= lim.SLACK_MAX_BLOCKS
    for block in blocks:
        _slack_block(block)
    assert all(HEX.fullmatch(a["color"]) for a in p["attachments"])


def check_mattermost(p: dict[str, Any]) -> None:
    (attachment,) = p["attachments"]
    for key in ("fallback", "color", "title", "text", "fields", "footer"):
        assert attachment[key] != ""
    assert HEX.fullmatch(attachment["color"])
    assert all({"short", "title", "value"} <= set(f) for f in attachment["fields"])
    assert len(json.dumps(p, ensure_ascii=False)) <= lim.MATTERMOST_TEXT


def check_rocketchat(p: dict[str, Any]) -> None:
    assert 0 < len(p["text"]) <= lim.ROCKETCHAT_TEXT
    (attachment,) = p["attachments"]
    assert attachment["title"]
    assert attachment["text"]
    assert HEX.fullmatch(attachment["color"])
    datetime.fromisoformat(attachment["ts"])
    assert all({"short", "title", "value"} <= set(f) for f in attachment["fields"])
    assert len(attachment["text"]) + sum(len(f["value"]) for f in attachment["fields"]) <= (
        lim.ROCKETCHAT_TEXT
    )


def check_discord(p: dict[str, Any]) -> None:
    assert p["allowed_mentions"] == {"parse": []}
    assert 0 < len(p["embeds"]) <= lim.DISCORD_MAX_EMBEDS
    for embed in p["embeds"]:
        assert 0 < len(embed["title"]) <= lim.DISCORD_TITLE
        assert 0 < len(embed["description"]) <= lim.DISCORD_DESCRIPTION
        assert len(embed["fields"]) <= lim.DISCORD_MAX_FIELDS
        for field in embed["fields"]:
            assert 0 < len(field["name"]) <= lim.DISCORD_FIELD_NAME
            assert 0 < len(field["value"]) <= lim.DISCORD_FIELD_VALUE
        assert len(embed["footer"]["text"]) <= lim.DISCORD_FOOTER
        assert 0 <= embed["color"] <= 0xFFFFFF
        assert datetime.fromisoformat(embed["timestamp"]).tzinfo is not None
        assert embed_total(embed) <= lim.DISCORD_TOTAL


def check_msteams(p: dict[str, Any]) -> None:
    assert p["type"] == "message"
    (attachment,) = p["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] in ("1.4", "1.5")
    assert card["body"]
    assert len(json.dumps(p, ensure_ascii=False).encode()) <= lim.TEAMS_MAX_BYTES


def check_googlechat(p: dict[str, Any]) -> None:
    assert 0 < len(p["text"]) <= lim.GOOGLECHAT_TEXT
    (card,) = p["cardsV2"]
    assert card["cardId"].startswith("herald-")
    assert card["card"]["header"]["title"]
    assert card["card"]["sections"]
    for section in card["card"]["sections"]:
        assert section["widgets"]
    assert len(json.dumps(p, ensure_ascii=False).encode()) <= lim.GOOGLECHAT_MAX_BYTES


def check_hipchat(p: dict[str, Any]) -> None:
    assert set(p) == {"room_id", "from", "message", "message_format", "color", "notify"}
    assert p["room_id"]
    assert 0 < len(p["from"]) <= lim.HIPCHAT_FROM
    assert 0 < len(p["message"]) <= lim.HIPCHAT_MESSAGE
    assert p["message_format"] == "html"
    assert p["color"] in {"yellow", "green", "red", "purple", "gray"}
    assert p["notify"] in (0, 1)


def check_flowdock(p: dict[str, Any]) -> None:
    assert p["event"] == "activity"
    assert p["author"]["name"]
    assert p["title"]
    assert p["external_thread_id"]
    assert "flow_token" not in p
    thread = p["thread"]
    assert thread["title"]
    assert thread["body"]
    assert len(thread["title"]) <= lim.FLOWDOCK_TITLE
    assert len(thread["body"]) <= lim.FLOWDOCK_BODY
    assert thread["status"]["color"] in {"green", "blue", "yellow", "red"}
    assert all({"label", "value"} == set(f) for f in thread["fields"])


def check_gitter(p: dict[str, Any]) -> None:
    assert set(p) == {"message", "level"}
    assert 0 < len(p["message"]) <= lim.GITTER_MESSAGE
    assert p["level"] in ("info", "error")


CHECKS = {
    Channel.SLACK: check_slack,
    Channel.MATTERMOST: check_mattermost,
    Channel.ROCKETCHAT: check_rocketchat,
    Channel.DISCORD: check_discord,
    Channel.MSTEAMS: check_msteams,
    Channel.GOOGLECHAT: check_googlechat,
    Channel.HIPCHAT: check_hipchat,
    Channel.FLOWDOCK: check_flowdock,
    Channel.GITTER: check_gitter,
}


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys excluded."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


# --- deliveries --------------------------------------------------------------------------


def delivery_of(event: Event, channel: Channel) -> Delivery:
    notifier = Notifier(
        id=f"no-{channel.value}",
        name="chat",
        scope=Scope.OWNER,
        owner_id="owner-1",
        platform=channel,
        selection=Selection(send_all_events=True),
        type_data={"room_id": "ops"} if channel is Channel.HIPCHAT else {},
    )
    return Delivery.for_(event, notifier, ROUTED_AT)


def catalog_event(type_id: str) -> Event:
    raw = {
        "id": f"ev-{type_id}",
        "type": type_id,
        "created_at": "2026-03-01T11:59:30Z",
        "app_id": "app-1",
        "app_name": "shop",
        "owner_id": "owner-1",
        "rack": "production",
        "user": {"id": "u1", "username": "johndoe"},
    }
    try:
        return parse_event({**raw, "type_data": {}})
    except Exception:  # a type that means nothing without its status
        return parse_event({**raw, "type_data": {"status": "success"}})


ALL_TYPES = [t.id for t in CATALOG.types()]


def test_the_registry_covers_every_chat_channel_and_the_chat_webhook_formats():
    assert set(RENDERERS) == set(CHAT_CHANNELS)
    assert set(WEBHOOK_FORMAT_RENDERERS) == {
        WebhookFormat.SLACK,
        WebhookFormat.FLOWDOCK,
        WebhookFormat.GITTER,
    }


def test_render_chat_refuses_a_channel_that_is_not_chat():
    with pytest.raises(PermanentDeliveryError):
        render_chat(Channel.EMAIL, sample_delivery("crash", Channel.EMAIL), OPTIONS)


@pytest.mark.parametrize("case", list(SAMPLES))
@pytest.mark.parametrize("channel", CHAT_CHANNELS)
def test_every_golden_case_has_the_required_fields_within_limits(channel, case):
    payload = render_chat(channel, sample_delivery(case, channel), OPTIONS)
    CHECKS[channel](payload)


@pytest.mark.parametrize("channel", CHAT_CHANNELS)
def test_every_catalog_type_renders_within_limits(channel):
    for type_id in ALL_TYPES:
        event = catalog_event(type_id)
        payload = render_chat(channel, delivery_of(event, channel), OPTIONS)
        CHECKS[channel](payload)
        known = CATALOG.get(type_id)
        assert known is not None
        text = json.dumps(payload, ensure_ascii=False)
        assert known.display_name.split()[0] in text, type_id


def test_every_catalog_type_has_a_title_summary_and_the_app():
    for type_id in ALL_TYPES:
        message = summarize(delivery_of(catalog_event(type_id), Channel.SLACK), OPTIONS)
        assert message.display_name == CATALOG.get(type_id).display_name  # type: ignore[union-attr]
        assert message.summary
        assert "{" not in message.summary
        assert message.facts[0].label == "App"
        assert message.links[0].url == "https://dashboard.example.com/apps/shop"


# --- hostile input -----------------------------------------------------------------------

LONG = "y" * 5000
NASTY = "@everyone @here @channel @all <!channel> <!here> <@U123> [x](http://evil) "
NASTY += "<http://evil|click> **b** `c` ~d~ <script>alert(1)</script> "


def hostile_event() -> Event:
    return parse_event(
        {
            "id": "ev-hostile-2",
            "type": "app_crashed",
            "created_at": "2026-03-01T11:59:30Z",
            "app_id": "app-1",
            "app_name": (NASTY + LONG)[:200],
            "owner_id": "owner-1",
            "rack": (NASTY + LONG)[:200],
            "user": {"id": "u1", "username": NASTY + LONG},
            "type_data": {
                "crash_count": 2,
                "reason": NASTY + LONG,
                "container_type": NASTY,
                "note": NASTY + LONG,
                "commit_message": "fix @here <!subteam^S123>\n" + LONG,
            },
        }
    )


MARKDOWN_LINKS = {
    Channel.MATTERMOST,
    Channel.ROCKETCHAT,
    Channel.DISCORD,
    Channel.MSTEAMS,
    Channel.GITTER,
}
MENTION = re.compile(r"(?<![\w.+-])@(everyone|here|channel|all)\b")


@pytest.mark.parametrize("channel", CHAT_CHANNELS)
@pytest.mark.parametrize("source", ["sample", "every_field"])
def test_hostile_strings_are_escaped_and_cut(channel, source):
    if source == "sample":
        delivery = sample_delivery("hostile", channel)
    else:
        delivery = delivery_of(hostile_event(), channel)
    payload = render_chat(channel, delivery, OPTIONS)
    CHECKS[channel](payload)
    for text in strings(payload):
        assert not MENTION.search(text), text[:200]
        assert "<!channel>" not in text
        assert "<!here>" not in text
        assert "<@U123>" not in text
        assert "<!subteam^S123>" not in text
        if channel in MARKDOWN_LINKS:  # elsewhere `[x](url)` is not link syntax, only text
            assert "[x](http://evil)" not in text
        assert "<http://evil|click>" not in text
        assert "<script>" not in text
        assert LONG not in text
        assert len(text) < 5000 or channel is Channel.SLACK  # Slack's text fallback is 40,000


@pytest.mark.parametrize("channel", CHAT_CHANNELS)
def test_long_strings_are_cut_with_an_ellipsis(channel):
    payload = render_chat(channel, delivery_of(hostile_event(), channel), OPTIONS)
    assert any(text.endswith("…") or "…" in text for text in strings(payload))


def test_hostile_links_are_neither_buttons_nor_link_targets():
    event = parse_event(
        {
            "id": "ev-url",
            "type": "app_deployed",
            "created_at": "2026-03-01T11:59:30Z",
            "app_id": "app-1",
            "app_name": "a/b?c=<d>",
            "owner_id": "o",
            "type_data": {
                "status": "success",
                "git_ref_url": "javascript:alert(1)",
                "logs_url": "https://ok.example.com/x|<y>",
                "docs_url": "https://docs.example.com/page",
            },
        }
    )
    dashboard = ChatOptions(dashboard_url_template="https://dashboard.example.com/apps/{app_name}")
    message = summarize(delivery_of(event, Channel.SLACK), dashboard)
    assert [link.url for link in message.links] == [
        "https://dashboard.example.com/apps/a%2Fb%3Fc%3D%3Cd%3E",
        "https://docs.example.com/page",
    ]


# --- escaping and cutting ----------------------------------------------------------------


def test_fit_cuts_after_escaping_without_splitting_an_escape():
    assert lim.fit("abc", 3) == "abc"
    assert lim.fit("abcd", 3) == "ab…"
    cut = lim.fit("<<<<<<", 10, lambda s: s.replace("<", "&lt;"))
    assert cut == "&lt;&lt;…"
    assert len(cut) <= 10
    with pytest.raises(ValueError, match="limit"):
        lim.fit("x", 0)


def test_join_within_drops_whole_parts():
    assert lim.join_within(["aa", "bb", "cc"], "-", 5) == "aa-bb"
    assert lim.join_within([], "-", 5) == ""


# --- per-kind content --------------------------------------------------------------------


def facts(case: str) -> dict[str, str]:
    message = summarize(sample_delivery(case, Channel.SLACK), OPTIONS)
    return {f.label: f.value for f in message.facts}


def test_deployment_facts_and_tones():
    ok = summarize(sample_delivery("deployment_success", Channel.SLACK), OPTIONS)
    assert ok.kind is Kind.DEPLOYMENT
    assert ok.tone is Tone.GOOD
    assert facts("deployment_success") | {} == {
        "App": "shop",
        "Status": "success",
        "Actor": "johndoe",
        "Duration": "1m 23s",
        "Git ref": "0a1b2c3d4e5f",
        "Deployment": "dep-51e9",
        "Stack": "scalingo-22",
    }
    ko = summarize(sample_delivery("deployment_failure", Channel.SLACK), OPTIONS)
    assert ko.tone is Tone.DANGER
    assert ko.status == "crashed-error"
    assert "Git ref" in [link.label for link in ok.links]


def test_convox_release_names_rack_release_and_actor():
    got = facts("release_promoted")
    assert got["Rack"] == "production"
    assert got["Release"] == "RABCDEFGHIJ"
    assert got["Actor"] == "ops@acme.dev"


def test_crash_alert_and_budget_facts():
    assert facts("crash")["Container"] == "web-1"
    assert facts("crash")["Exit code"] == "137"
    firing = summarize(sample_delivery("alert_firing", Channel.SLACK), OPTIONS)
    assert (firing.kind, firing.status, firing.tone) == (Kind.ALERT, "Firing", Tone.DANGER)
    assert facts("alert_firing")["Limit"] == "80 (alerts above)"
    resolved = summarize(sample_delivery("alert_resolved", Channel.SLACK), OPTIONS)
    assert (resolved.status, resolved.tone) == ("Resolved", Tone.GOOD)
    assert facts("budget")["Cap"] == "250 USD"


def test_cloud66_server_stopped_uses_the_stack_as_the_app():
    message = summarize(sample_delivery("server_stopped", Channel.SLACK), OPTIONS)
    assert message.app_name == "storefront"
    assert message.tone is Tone.DANGER
    assert message.summary == "The heartbeat of web-ams-1 (storefront) stopped"


def test_a_template_field_the_event_lacks_gives_the_description():
    message = summarize(delivery_of(catalog_event("alert:firing"), Channel.SLACK), OPTIONS)
    assert message.summary == "Alert is firing"


def test_max_facts_and_an_empty_dashboard_template():
    options = ChatOptions(dashboard_url_template="", max_facts=2)
    message = summarize(sample_delivery("deployment_success", Channel.SLACK), options)
    assert len(message.facts) == 2
    assert [link.label for link in message.links] == ["Git ref"]


# --- the secrets stay out of the bodies --------------------------------------------------


def test_hipchat_token_goes_in_the_url_only():
    url = hipchat_url("s3cr&t")
    assert url == "https://api.hipchat.com/v1/rooms/message?format=json&auth_token=s3cr%26t"
    payload = render_chat(Channel.HIPCHAT, sample_delivery("crash", Channel.HIPCHAT), OPTIONS)
    assert payload["notify"] == 1
    assert payload["color"] == "red"
    assert b"room_id=ops" in hipchat_form(payload)


def test_hipchat_needs_a_room():
    delivery = delivery_of(catalog_event("app_restarted"), Channel.SLACK)
    with pytest.raises(PermanentDeliveryError, match="room"):
        render_hipchat(delivery, OPTIONS)


def test_flow_token_is_added_only_on_request():
    payload = render_chat(Channel.FLOWDOCK, sample_delivery("crash", Channel.FLOWDOCK), OPTIONS)
    assert with_flow_token(payload, "tok")["flow_token"] == "tok"
    assert "flow_token" not in payload


@pytest.mark.parametrize("channel", CHAT_CHANNELS)
def test_a_type_the_catalog_does_not_know_still_renders(channel):
    event = Event(
        id="ev-unknown",
        type="custom:thing-happened",
        created_at=ROUTED_AT,
        owner_id="owner-1",
        type_data={"detail": "something", "count": 3, "ratio": 0.25, "ok": True},
    )
    payload = render_chat(channel, delivery_of(event, channel), OPTIONS)
    CHECKS[channel](payload)
    message = summarize(delivery_of(event, channel), OPTIONS)
    assert message.display_name == "Custom thing happened"
    assert message.category == "Other"
    assert [(f.label, f.value) for f in message.facts] == [
        ("Detail", "something"),
        ("Count", "3"),
        ("Ratio", "0.25"),
        ("Ok", "yes"),
    ]
