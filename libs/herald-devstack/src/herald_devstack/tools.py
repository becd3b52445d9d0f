"""Where the binaries `make install` builds outside the checkout are: prometheus, promtool, helm.

`deploy/local/bootstrap.sh` builds them from their Go module, at the version pinned in
`deploy/local/tools.env`, into `<tools dir>/<package>-<version>/bin`, the tools dir being
`$HERALD_TOOLS_DIR`, else `~/.cache/herald-tools`: one folder per version, so a version bump
builds afresh and never mixes binaries, and `git clean` or a new worktree keeps them.
Tests find them through `tool_path`, not on `PATH`, so they run the pinned version.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from herald_devstack.kafka import PROJECT_ROOT

TOOLS_ENV = PROJECT_ROOT / "deploy" / "local" / "tools.env"
TOOLS_DIR_VARIABLE = "HERALD_TOOLS_DIR"
DEFAULT_TOOLS_DIR = Path.home() / ".cache" / "herald-tools"
# tool → (its package, the tools.env variable holding that package's version)
PACKAGES: Mapping[str, tuple[str, str]] = {
    "prometheus": ("prometheus", "PROMETHEUS_VERSION"),
    "promtool": ("prometheus", "PROMETHEUS_VERSION"),
    "helm": ("helm", "HELM_VERSION"),
}


class ToolMissing(RuntimeError):
    """A tool `make install` builds is not there (not installed yet, or another version)."""


def parse_versions(text: str) -> dict[str, str]:
    """The `KEY=value` lines of tools.env (comments and blank lines skipped, no shell quoting)."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError(f"not a KEY=value line in {TOOLS_ENV.name}: {line!r}")
            versions[key.strip()] = value.strip()
    return versions


def tools_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The folder of every tool version: `$HERALD_TOOLS_DIR`, else ~/.cache/herald-tools."""
    configured = environ.get(TOOLS_DIR_VARIABLE, "")
    return Path(configured).expanduser() if configured else DEFAULT_TOOLS_DIR


def tool_path(
    name: str, environ: Mapping[str, str] = os.environ, versions_text: str | None = None
) -> Path:
    """The pinned version of tool `name` (`prometheus`, `promtool`, `helm`), where `make install`
    puts it.

    Raises:
        KeyError: `name` is not a tool `make install` builds.
        ToolMissing: the binary is not there; the message says how to get it.
    """
    package, variable = PACKAGES[name]
    text = TOOLS_ENV.read_text() if versions_text is None else versions_text
    version = parse_versions(text)[variable]
    path = tools_dir(environ) / f"{package}-{version}" / "bin" / name
    if not os.access(path, os.X_OK):
        raise ToolMissing(f"{name} {version} is not installed at {path}: run `make install`")
    return path
