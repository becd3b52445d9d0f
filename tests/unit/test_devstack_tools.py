"""herald_devstack.tools: where `make install` puts prometheus and promtool."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from herald_devstack.tools import (
    DEFAULT_TOOLS_DIR,
    TOOLS_ENV,
    ToolMissing,
    parse_versions,
    tool_path,
    tools_dir,
)


def test_the_pinned_version_is_read_from_tools_env():
    assert parse_versions(TOOLS_ENV.read_text())["PROMETHEUS_VERSION"].startswith("v0.")


def test_parse_versions_skips_comments_and_refuses_other_lines():
    assert parse_versions("# c\n\nA=v1\n B = v2 \n") == {"A": "v1", "B": "v2"}
    with pytest.raises(ValueError, match="KEY=value"):
        parse_versions("A v1\n")


def test_tools_dir_defaults_to_the_cache_and_follows_the_variable(tmp_path: Path):
    assert tools_dir({}) == DEFAULT_TOOLS_DIR
    assert tools_dir({"HERALD_TOOLS_DIR": str(tmp_path)}) == tmp_path


def test_tool_path_is_versioned_and_must_be_executable(tmp_path: Path):
    env = {"HERALD_TOOLS_DIR": str(tmp_path)}
    with pytest.raises(ToolMissing, match="make install"):
        tool_path("promtool", env, "PROMETHEUS_VERSION=v9.9.9\n")
    binary = tmp_path / "prometheus-v9.9.9" / "bin" / "promtool"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    with pytest.raises(ToolMissing):
        tool_path("promtool", env, "PROMETHEUS_VERSION=v9.9.9\n")
    os.chmod(binary, 0o755)
    assert tool_path("promtool", env, "PROMETHEUS_VERSION=v9.9.9\n") == binary
    with pytest.raises(KeyError):
        tool_path("grafana", env, "PROMETHEUS_VERSION=v9.9.9\n")
