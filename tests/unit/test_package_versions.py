"""Every package of the workspace carries one version and the project's licence, and the
changelog names that version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted([ROOT / "pyproject.toml", *ROOT.glob("libs/*/pyproject.toml")])
PACKAGES += sorted(ROOT.glob("services/*/pyproject.toml"))


def project(path: Path) -> dict[str, object]:
    return dict(tomllib.loads(path.read_text())["project"])


def test_there_is_a_package_per_lib_and_service() -> None:
    assert len(PACKAGES) == 1 + len(list(ROOT.glob("libs/*/"))) + len(
        list(ROOT.glob("services/*/"))
    )


@pytest.mark.parametrize("path", PACKAGES, ids=lambda p: str(p.parent.relative_to(ROOT)) or "root")
def test_each_package_has_the_workspace_version_and_licence(path: Path) -> None:
    root = project(ROOT / "pyproject.toml")
    assert project(path)["version"] == root["version"]
    assert project(path)["license"] == "Apache-2.0"


def test_the_changelog_and_licence_are_there() -> None:
    version = project(ROOT / "pyproject.toml")["version"]
    assert f"{version}" in (ROOT / "CHANGELOG.md").read_text()
    assert "Apache License" in (ROOT / "LICENSE").read_text()
