"""herald_core.env_names: the names it lists are the ones the settings read, and only those."""

from __future__ import annotations

import pytest
from herald_core.env_names import env_names
from herald_core.settings import ToolKafkaSettings
from herald_devstack.helm_files import resource_name
from herald_router.settings import RouterSettings


def test_a_listed_nested_name_sets_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    names = env_names(RouterSettings)
    assert "HERALD_ROUTER_LOG__JSON" in names
    assert "HERALD_ROUTER_KAFKA__CLIENT_ID" in names
    monkeypatch.setenv("HERALD_ROUTER_LOG__JSON", "false")
    monkeypatch.setenv("HERALD_ROUTER_KAFKA__CLIENT_ID", "from-env")
    settings = RouterSettings()
    assert settings.log.json_output is False
    assert settings.kafka.client_id == "from-env"


def test_an_unlisted_name_is_ignored_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why the check exists: pydantic-settings ignores a misspelt name without a word."""
    assert "HERALD_ROUTER_LOG__JSON_OUTPUT" not in env_names(RouterSettings)
    assert "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVER" not in env_names(RouterSettings)
    monkeypatch.setenv("HERALD_ROUTER_LOG__JSON_OUTPUT", "false")
    monkeypatch.setenv("HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVER", "elsewhere:9092")
    settings = RouterSettings()
    assert settings.log.json_output is True
    assert settings.kafka.bootstrap_servers != "elsewhere:9092"


def test_tool_settings_have_no_nesting() -> None:
    names = env_names(ToolKafkaSettings)
    assert "HERALD_KAFKA_SASL_PASSWORD_FILE" in names
    assert not any("__" in n for n in names)


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("notify.events", "notify.events"),
        ("herald-derive-crash_counts-changelog", "herald-derive-crash-counts-changelog"),
        ("Mixed_Case", "mixed-case"),
    ],
)
def test_topic_resource_names_are_kubernetes_names(topic: str, name: str) -> None:
    assert resource_name(topic) == name
