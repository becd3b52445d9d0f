"""The local stack's generated Prometheus configuration (herald_devstack.prometheus): one job per
service, named as the compose stack's deploy/prometheus/prometheus.yml names them (its jobs of
the chat channels, one per channel there, being the local stack's one `sender-chat` job), every
instance a target with its name, one-channel senders labelled with their channel, Herald's rule
files loaded; and the pinned `promtool check config` accepts what it writes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from herald_devstack.dev_settings import DevSettings
from herald_devstack.prometheus import (
    COMPOSE_CONFIG,
    Target,
    compose_job_names,
    job_names,
    rule_files,
    scrape_config,
)
from herald_devstack.stack import CHAT_CHANNELS, CHAT_SENDER, SERVICE_NAMES, Stack
from herald_devstack.tools import tool_path


def test_one_job_per_service_each_instance_a_labelled_target() -> None:
    targets = [
        Target("router", "router", 18082),
        Target("router", "router-2", 18201),
        Target("sender-webhook", "sender-webhook", 18090),
    ]
    config = scrape_config(targets, interval_s=1.5, rules=["/r/herald.rules.yml"])
    assert config["global"] == {"scrape_interval": "1.5s", "evaluation_interval": "1.5s"}
    assert config["rule_files"] == ["/r/herald.rules.yml"]
    assert job_names(config) == ["router", "sender-webhook"]
    router, sender = config["scrape_configs"]
    assert "honor_labels" not in router
    assert sender["honor_labels"] is True  # the sender's own `channel` label is kept
    assert router["static_configs"] == [
        {"targets": ["127.0.0.1:18082"], "labels": {"instance_name": "router"}},
        {"targets": ["127.0.0.1:18201"], "labels": {"instance_name": "router-2"}},
    ]
    assert sender["static_configs"][0]["labels"] == {
        "instance_name": "sender-webhook",
        "channel": "webhook",
    }


def test_a_sender_of_several_channels_keeps_its_metrics_channel_label() -> None:
    config = scrape_config(
        [Target("sender-chat", "sender-chat", 18110), Target("sender-chat", "sender-chat-2", 1)],
        interval_s=5,
        rules=[],
    )
    (job,) = config["scrape_configs"]
    assert job["honor_labels"] is True
    assert [static["labels"] for static in job["static_configs"]] == [
        {"instance_name": "sender-chat"},
        {"instance_name": "sender-chat-2"},
    ]


def test_the_full_stack_scrapes_the_jobs_the_compose_configuration_does(tmp_path: Path) -> None:
    stack = Stack(DevSettings(home=tmp_path, scale={"router": 2}))
    local = job_names(scrape_config(stack.scrape_targets(), interval_s=5, rules=[]))
    assert local == list(SERVICE_NAMES)
    compose = yaml.safe_load(COMPOSE_CONFIG.read_text())
    chat_jobs = [f"sender-{channel}" for channel in CHAT_CHANNELS]
    assert set(chat_jobs) <= set(job_names(compose))  # one job per chat channel there
    combined = {CHAT_SENDER: [channel.value for channel in CHAT_CHANNELS]}
    assert set(local) == set(compose_job_names(compose, combined))
    assert [t.instance_name for t in stack.scrape_targets() if t.job == "router"] == [
        "router",
        "router-2",
    ]


def test_rule_files_are_the_rules_not_their_tests() -> None:
    files = rule_files()
    assert files
    assert all(f.endswith(".rules.yml") and "/tests/" not in f for f in files)


def test_promtool_accepts_the_written_configuration(tmp_path: Path) -> None:
    stack = Stack(DevSettings(home=tmp_path))
    stack.prometheus.write_config(stack.scrape_targets())
    checked = subprocess.run(
        [str(tool_path("promtool")), "check", "config", str(stack.prometheus.config_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr
