"""Interop: Scalingo's own Go client manages notifiers on Herald (issue 4).

`go_scalingo/main.go` drives the unmodified client `github.com/Scalingo/go-scalingo/v11` (version
pinned in `go_scalingo/go.mod`) through every call of docs/scalingo-compat.md: token exchange,
platforms (list and search), event types, event categories, and a webhook and a Slack notifier
provisioned, listed, shown, updated, destroyed. It prints one line per step and exits non-zero on
the first failure; this test runs it and shows that output when it fails.

Fixtures (`tests/interop/conftest.py`, on the session's real Kafka and Postgres):

- `herald_api_url` -> str: base URL of the in-process Herald API on loopback, *without* `/v1`
  (e.g. `http://127.0.0.1:41234`). It serves `/v1/...` and `POST /v1/tokens/exchange` on that one
  URL (the Go client is given it as both APIEndpoint and AuthEndpoint); its catalog has platforms
  named `webhook` and `slack` and event types named `app_deployed` and `app_restarted` in both
  platforms' `available_event_ids`.
- `herald_api_token` -> str: a plaintext Herald API token (`hrld_...`) scoped to `herald_app_id`.
- `herald_app_id` -> str: an app freshly registered for the test; notifier answers carry it as
  `app_id`.

The API runs in this process, on the test's event loop: the test is async and builds and runs the
program in worker threads, so the loop keeps serving the API meanwhile.

Building: `run_go_client` builds the program once per session, with `go build -o` into a temporary
directory, from a temporary copy of `go_scalingo/`. It builds with `-mod=mod` because `go.sum`
cannot carry go-scalingo's own hash: the Go module proxy reachable here (and in CI) answers
"403 This module version is not available" for go-scalingo while serving its dependencies. When
the module cannot be downloaded the test is skipped with that reason; `HERALD_INTEROP_STRICT=1`
turns that skip into a failure. Only the Go module proxy is used; nothing else is fetched.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

GO_MODULE_DIR = Path(__file__).parent / "go_scalingo"
GO_SCALINGO_MODULE = "github.com/Scalingo/go-scalingo/v11"
BUILD_TIMEOUT_S = 300
RUN_TIMEOUT_S = 120
# What `go build` prints when a module cannot be downloaded, as opposed to a compile error.
_DOWNLOAD_FAILURES = (
    "403 Forbidden",
    "not available",
    "404 Not Found",
    "410 Gone",
    "no such host",
    "dial tcp",
    "i/o timeout",
    "connection refused",
)


class GoScalingoUnavailableError(RuntimeError):
    """go-scalingo could not be downloaded, so the interop program cannot be built."""


@functools.cache
def go_client_binary() -> Path:
    """Build `go_scalingo/` once per session; return the binary's path."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the go toolchain is not on PATH; the Go interop test needs it")
    work = Path(tempfile.mkdtemp(prefix="herald-go-scalingo-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    src = work / "src"
    shutil.copytree(GO_MODULE_DIR, src)  # -mod=mod may write go.sum: in the copy, never the repo
    binary = work / "herald-interop"
    proc = subprocess.run(
        [go, "build", "-mod=mod", "-trimpath", "-o", str(binary), "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if GO_SCALINGO_MODULE in output and any(m in output for m in _DOWNLOAD_FAILURES):
            raise GoScalingoUnavailableError(
                f"{GO_SCALINGO_MODULE} cannot be downloaded from the Go module proxy here, so "
                f"Scalingo's Go client cannot be built:\n{output.strip()}"
            )
        raise RuntimeError(f"go build in a copy of {GO_MODULE_DIR} failed:\n{output}")
    return binary


def run_go_client(
    api_url: str, token: str, app_id: str, *, auth_mode: str = "exchange"
) -> subprocess.CompletedProcess[str]:
    """Run the interop program against a Herald API; never raises on its exit code.

    `auth_mode` "exchange" lets the client swap the token at POST /v1/tokens/exchange for a JWT,
    as the Scalingo CLI does; "static" sends the token itself as the Bearer.
    The token goes through the environment, not argv.
    """
    env = {
        **os.environ,
        "HERALD_API_URL": api_url,
        "HERALD_AUTH_URL": api_url,
        "HERALD_API_TOKEN": token,
        "HERALD_APP_ID": app_id,
        "HERALD_AUTH_MODE": auth_mode,
    }
    return subprocess.run(
        [str(go_client_binary())],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


@pytest.mark.timeout(BUILD_TIMEOUT_S + RUN_TIMEOUT_S + 30)
@pytest.mark.parametrize("auth_mode", ["exchange", "static"])
async def test_scalingo_go_client_manages_notifiers(
    herald_api_url: str, herald_api_token: str, herald_app_id: str, auth_mode: str
) -> None:
    try:
        await asyncio.to_thread(go_client_binary)
    except GoScalingoUnavailableError as exc:
        if os.environ.get("HERALD_INTEROP_STRICT") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))

    proc = await asyncio.to_thread(
        run_go_client, herald_api_url, herald_api_token, herald_app_id, auth_mode=auth_mode
    )

    report = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, report
    assert proc.stdout.rstrip().splitlines()[-1].startswith("PASS"), report
