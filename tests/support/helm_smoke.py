"""The Helm smoke run's rendering and target, shared by its run (tests/integration/
test_helm_smoke.py) and its planted error (tests/contract/test_helm_planted_error.py).

The chart is rendered for deploy/helm/values/minimal.yaml plus tests/integration/
helm-smoke-values.yaml (webhooks on loopback: that file says why). `helm_target` says where the
hosts of that value set are on this machine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from herald_devstack.smoke.model import LocalTarget
from herald_devstack.tools import tool_path

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "herald"
VALUES = (
    ROOT / "deploy" / "helm" / "values" / "minimal.yaml",
    ROOT / "tests" / "integration" / "helm-smoke-values.yaml",
)
NAMESPACE = "herald"
IMAGE_ROOT = "/app"
"""Where the Dockerfile installs the workspace, in the layout of a checkout."""


def render(chart: Path = CHART) -> str:
    """`helm template` of `chart` for the smoke value set (no cluster: no connection).

    Raises:
        AssertionError: with Helm's message, when it fails.
    """
    args = ["template", "herald", str(chart), "--namespace", NAMESPACE]
    for values in VALUES:
        args += ["-f", str(values)]
    done = subprocess.run(
        [str(tool_path("helm")), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def helm_target(
    *, kafka: str, postgres: str, smtp: str, volumes: Path, empty_dirs: Iterable[str]
) -> LocalTarget:
    """The smoke value set's hosts at local addresses: the broker (`kafka:9092`), Postgres
    (`postgres:5432`), the SMTP server (`smtp.example.org:587`); `0.0.0.0` (listen everywhere)
    is loopback; the image's `/app` is the checkout and each emptyDir mount a folder under
    `volumes`. Pure."""
    paths = {IMAGE_ROOT: str(ROOT)}
    paths.update({mount: str(volumes / mount.lstrip("/")) for mount in empty_dirs})
    return LocalTarget(
        hosts={
            "kafka:9092": kafka,
            "postgres:5432": postgres,
            "smtp.example.org:587": smtp,
            "0.0.0.0": "127.0.0.1",  # a listen address: loopback here
        },
        paths=paths,
    )
