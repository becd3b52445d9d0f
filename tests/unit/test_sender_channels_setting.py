"""Several channels in one sender process (`--channel slack,discord`, `HERALD_SENDER_CHANNELS`):
the setting's parsing, one channel's settings (groups, topics) per channel, the shared parts."""

from __future__ import annotations

import argparse

import pytest
from herald_core.topics import Channel
from herald_sender.__main__ import channel_list
from herald_sender.settings import SenderSettings
from pydantic import ValidationError


def test_the_channels_come_comma_separated_from_the_environment(monkeypatch):
    monkeypatch.setenv("HERALD_SENDER_CHANNELS", "slack, discord,msteams")
    settings = SenderSettings()
    assert settings.served_channels == (Channel.SLACK, Channel.DISCORD, Channel.MSTEAMS)


def test_without_channels_the_process_sends_its_one_channel():
    assert SenderSettings(channel=Channel.EMAIL).served_channels == (Channel.EMAIL,)


def test_each_channel_keeps_the_groups_it_has_alone():
    settings = SenderSettings(channels="slack,discord")
    groups = [
        (s.channel, s.consumer_group, s.retry_consumer_group)
        for s in settings.per_channel_settings()
    ]
    assert groups == [
        (Channel.SLACK, "herald-sender-slack", "herald-sender-slack-retry"),
        (Channel.DISCORD, "herald-sender-discord", "herald-sender-discord-retry"),
    ]
    assert all(s.served_channels == (s.channel,) for s in settings.per_channel_settings())


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"channels": "slack,slack"}, "named twice"),
        ({"channels": "slack,discord", "group_id": "mine"}, "leave them unset"),
        ({"channels": "slack,nope"}, "channels"),
    ],
)
def test_nonsense_channels_are_refused(fields, match):
    with pytest.raises(ValidationError, match=match):
        SenderSettings(**fields)


def test_the_command_line_reads_a_list_of_channels():
    assert channel_list("slack,discord") == (Channel.SLACK, Channel.DISCORD)
    assert channel_list("webhook") == (Channel.WEBHOOK,)
    with pytest.raises(argparse.ArgumentTypeError, match="unknown channel"):
        channel_list("slack,carrier-pigeon")
