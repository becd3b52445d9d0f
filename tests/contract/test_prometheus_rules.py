"""deploy/prometheus/rules: the alert rules pass `promtool check rules`, their unit tests pass
`promtool test rules`, and every alert has a test case.

promtool is the pinned one `make install` builds (`herald_devstack.tools.tool_path`); these
tests fail, never skip, without it. They run it as a subprocess, which opens no socket.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from herald_devstack.tools import tool_path

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.yml"))
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool_path("promtool")), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _alerts(rule_file: Path) -> list[str]:
    return [
        rule["alert"]
        for group in _load(rule_file)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_there_are_rule_files_and_tests():
    assert RULE_FILES
    assert TEST_FILES


def test_promtool_check_rules_passes():
    result = _promtool("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules_fails_on_a_broken_rule(tmp_path: Path):
    broken = tmp_path / "broken.rules.yml"
    broken.write_text(
        "groups:\n  - name: broken\n    rules:\n"
        "      - alert: Broken\n        expr: sum(rate(herald_notifications_total[5m]) > \n"
    )
    result = _promtool("check", "rules", broken)
    assert result.returncode != 0
    assert "broken.rules.yml" in result.stdout + result.stderr


def test_promtool_test_rules_passes():
    result = _promtool("test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_alert_has_labels_annotations_and_a_for(rule_file: Path):
    for group in _load(rule_file)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                assert rule.get("for"), rule["alert"]
                assert rule.get("labels", {}).get("severity") in {"info", "warning", "critical"}
                assert {"summary", "description"} <= set(rule.get("annotations", {}))
                assert "Runbook" in rule["annotations"]["description"], rule["alert"]


def test_every_alert_has_a_firing_test_case():
    """Each alert of the rule files is expected to fire in at least one case of the tests."""
    tested_files = {
        (path.parent / name).resolve() for path in TEST_FILES for name in _load(path)["rule_files"]
    }
    assert tested_files == {path.resolve() for path in RULE_FILES}
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for case in _load(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = {alert for rule_file in RULE_FILES for alert in _alerts(rule_file)}
    assert alerts - firing == set(), "alerts never expected to fire"
    assert alerts - silent == set(), "alerts never expected to stay silent"
    assert firing | silent <= alerts, "tests of alerts that do not exist"


def test_prometheus_loads_the_rule_files():
    """prometheus.yml's `rule_files` name every rule file, as docker-compose mounts them."""
    config = _load(PROMETHEUS_FILE)
    compose = _load(COMPOSE_FILE)
    prometheus = compose["services"]["prometheus"]
    mounts = dict(
        volume.rsplit(":", 2)[:2] for volume in prometheus["volumes"] if volume.count(":") == 2
    )
    rules_in_container = mounts["./deploy/prometheus/rules"]
    expected = {f"{rules_in_container}/{path.name}" for path in RULE_FILES}
    assert set(config["rule_files"]) == expected
    result = _promtool("check", "config", "--syntax-only", PROMETHEUS_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
