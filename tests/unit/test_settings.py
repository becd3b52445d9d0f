"""Service settings from the environment (docs/contributing.md): nested partial updates, fail
fast with the field path, defaults on loopback."""

from __future__ import annotations

import os

import pytest
from herald_core.settings import DEFAULT_BOOTSTRAP
from herald_core.topics import Channel
from herald_ingest.settings import IngestSettings
from herald_router.settings import RouterSettings
from herald_sender.settings import SenderSettings
from pydantic import ValidationError

SERVICES = {
    "ingest": (IngestSettings, "HERALD_INGEST_", "herald-ingest", 18081),
    "router": (RouterSettings, "HERALD_ROUTER_", "herald-router", 18082),
    "sender": (SenderSettings, "HERALD_SENDER_", "herald-sender", 18090),
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Settings read the process environment: start every test without HERALD_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("HERALD_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("service", list(SERVICES))
def test_defaults_point_at_loopback(service):
    settings_class, _, client_id, port = SERVICES[service]
    settings = settings_class()
    assert settings.kafka.bootstrap_servers == DEFAULT_BOOTSTRAP
    assert settings.kafka.bootstrap_servers.startswith("127.0.0.1:")
    assert settings.kafka.client_id == client_id
    assert settings.http.host == "127.0.0.1"
    assert settings.http.port == port


@pytest.mark.parametrize("service", list(SERVICES))
def test_nested_variable_updates_one_field_only(monkeypatch, service):
    """`…_KAFKA__BOOTSTRAP_SERVERS` must not reset the service's own client_id to the default."""
    settings_class, prefix, client_id, port = SERVICES[service]
    monkeypatch.setenv(f"{prefix}KAFKA__BOOTSTRAP_SERVERS", "x:1")
    settings = settings_class()
    assert settings.kafka.bootstrap_servers == "x:1"
    assert settings.kafka.client_id == client_id
    assert settings.kafka.request_timeout_ms == 30_000
    assert settings.http.port == port


def test_router_bootstrap_from_environment_keeps_client_id(monkeypatch):
    monkeypatch.setenv("HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS", "x:1")
    settings = RouterSettings()
    assert settings.kafka.bootstrap_servers == "x:1"
    assert settings.kafka.client_id == "herald-router"


def test_nested_json_variable_is_a_partial_update_too(monkeypatch):
    monkeypatch.setenv("HERALD_ROUTER_KAFKA", '{"bootstrap_servers": "y:2"}')
    settings = RouterSettings()
    assert settings.kafka.bootstrap_servers == "y:2"
    assert settings.kafka.client_id == "herald-router"


def test_an_update_does_not_leak_into_the_next_instance(monkeypatch):
    monkeypatch.setenv("HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS", "x:1")
    monkeypatch.setenv("HERALD_ROUTER_HTTP__PORT", "9000")
    assert RouterSettings().kafka.bootstrap_servers == "x:1"
    monkeypatch.delenv("HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS")
    monkeypatch.delenv("HERALD_ROUTER_HTTP__PORT")
    fresh = RouterSettings()
    assert fresh.kafka.bootstrap_servers == DEFAULT_BOOTSTRAP
    assert fresh.http.port == 18082


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("HERALD_INGEST_HTTP__PORT", "8080", lambda s: s.http.port == 8080),
        ("HERALD_INGEST_HTTP__HOST", "0.0.0.0", lambda s: s.http.host == "0.0.0.0"),
        ("HERALD_INGEST_LOG__JSON", "false", lambda s: s.log.json_output is False),
        ("HERALD_INGEST_LOG__LEVEL", "debug", lambda s: s.log.level == "debug"),
        ("HERALD_INGEST_MAX_BATCH", "10", lambda s: s.max_batch == 10),
        ("HERALD_INGEST_DEDUP_WINDOW_S", "0", lambda s: s.dedup_window_s == 0),
        ("HERALD_INGEST_CONSUME_PLATFORM_EVENTS", "false", lambda s: not s.consume_platform_events),
        (
            "HERALD_INGEST_AUTH__TOKENS",
            '["t0ken", "n3xt"]',
            lambda s: s.auth.token_values == ("t0ken", "n3xt") and "t0ken" not in repr(s),
        ),
        ("HERALD_INGEST_AUTH__OPEN", "true", lambda s: s.auth.open and not s.auth.closed_to_all),
        (
            "HERALD_INGEST_KAFKA__REQUEST_TIMEOUT_MS",
            "5000",
            lambda s: s.kafka.request_timeout_ms == 5000 and s.kafka.client_id == "herald-ingest",
        ),
    ],
)
def test_ingest_reads(monkeypatch, variable, value, read):
    monkeypatch.setenv(variable, value)
    assert read(IngestSettings())


@pytest.mark.parametrize(
    ("settings_class", "variable", "value", "path"),
    [
        (IngestSettings, "HERALD_INGEST_HTTP__PORT", "99999", "http.port"),
        (IngestSettings, "HERALD_INGEST_HTTP__PORT", "-1", "http.port"),
        (IngestSettings, "HERALD_INGEST_HTTP__PORT", "eighty", "http.port"),
        (
            IngestSettings,
            "HERALD_INGEST_KAFKA__REQUEST_TIMEOUT_MS",
            "10",
            "kafka.request_timeout_ms",
        ),
        (IngestSettings, "HERALD_INGEST_MAX_BATCH", "0", "max_batch"),
        (IngestSettings, "HERALD_INGEST_MAX_BODY_BYTES", "10", "max_body_bytes"),
        (IngestSettings, "HERALD_INGEST_DEDUP_CAPACITY", "-1", "dedup_capacity"),
        (RouterSettings, "HERALD_ROUTER_READY_TIMEOUT_S", "0", "ready_timeout_s"),
        (RouterSettings, "HERALD_ROUTER_HTTP__PORT", "65536", "http.port"),
        (SenderSettings, "HERALD_SENDER_CHANNEL", "carrier-pigeon", "channel"),
        (SenderSettings, "HERALD_SENDER_REQUEST_TIMEOUT_S", "0", "request_timeout_s"),
        (
            SenderSettings,
            "HERALD_SENDER_ALLOW_LOOPBACK_TARGETS",
            "perhaps",
            "allow_loopback_targets",
        ),
    ],
)
def test_invalid_settings_fail_with_the_field_path(
    monkeypatch, settings_class, variable, value, path
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        settings_class()
    locations = [".".join(str(p) for p in error["loc"]) for error in caught.value.errors()]
    assert locations == [path]
    assert path in str(caught.value)


def test_sender_channel_from_environment(monkeypatch):
    monkeypatch.setenv("HERALD_SENDER_CHANNEL", "email")
    settings = SenderSettings()
    assert settings.channel is Channel.EMAIL
    assert settings.consumer_group == "herald-sender-email"


@pytest.mark.parametrize(
    ("environment", "group"),
    [
        ({}, "herald-sender-webhook"),
        ({"HERALD_SENDER_CHANNEL": "slack"}, "herald-sender-slack"),
        ({"HERALD_SENDER_GROUP_ID": "blue-green"}, "blue-green"),
        ({"HERALD_SENDER_CHANNEL": "email", "HERALD_SENDER_GROUP_ID": "g"}, "g"),
    ],
    ids=["default", "per-channel", "explicit", "explicit-wins"],
)
def test_sender_consumer_group(monkeypatch, environment, group):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert SenderSettings().consumer_group == group


def test_sender_default_consumer_group():
    assert SenderSettings().consumer_group == "herald-sender-webhook"


def test_every_channel_is_a_valid_sender_channel(monkeypatch):
    for channel in Channel:
        monkeypatch.setenv("HERALD_SENDER_CHANNEL", channel.value)
        assert SenderSettings().channel is channel


@pytest.mark.parametrize("service", list(SERVICES))
def test_settings_are_frozen(service):
    settings = SERVICES[service][0]()
    with pytest.raises(ValidationError):
        settings.http = settings.http
    with pytest.raises(ValidationError):
        settings.kafka.client_id = "other"


def test_variables_of_another_service_are_ignored(monkeypatch):
    monkeypatch.setenv("HERALD_INGEST_KAFKA__BOOTSTRAP_SERVERS", "ingest-only:1")
    monkeypatch.setenv("HERALD_INGEST_HTTP__PORT", "99999")
    assert RouterSettings().kafka.bootstrap_servers == DEFAULT_BOOTSTRAP
    assert SenderSettings().http.port == 18090
