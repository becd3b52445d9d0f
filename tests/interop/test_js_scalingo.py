"""Interop: Scalingo's own JavaScript client manages notifiers on Herald (issue 4).

`js_scalingo/interop.mjs` drives the unmodified client, npm `scalingo` (Scalingo-authored; version
pinned exactly in `js_scalingo/package.json`, locked in `package-lock.json`), against the
in-process API of the session: token exchange (`clientFromToken`), platforms, event types, event
categories, then a webhook and a Slack notifier provisioned, listed, shown, updated (name,
active=false, selected events), shown again, destroyed. It prints one line per step and exits
non-zero on the first failure; these tests run it and show that output when they fail.

It stands in CI for the Go client's test (`test_go_scalingo.py`), which cannot build where the Go
module proxy refuses go-scalingo. Node and npm are required: without them the tests FAIL (no skip).
When `js_scalingo/node_modules` does not hold the pinned client, `npm ci` is run there once per
session (the npm registry is needed then; `make install` is meant to run it beforehand).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

JS_DIR = Path(__file__).parent / "js_scalingo"
PROGRAM = JS_DIR / "interop.mjs"
NPM_CI_TIMEOUT_S = 300
RUN_TIMEOUT_S = 90

NOTIFIER_STEPS = (
    "client.new",
    "auth.rejects_bad_token",
    "platforms.list",
    "event_types.list",
    "event_categories.list",
    "notifiers.provision_webhook",
    "notifiers.provision_slack",
    "notifiers.list",
    "notifiers.show",
    "notifiers.update",
    "notifiers.show_updated",
    "notifiers.destroy",
    "notifiers.show_destroyed",
    "notifiers.destroy_slack",
)
FOREIGN_STEPS = (
    "client.new",
    "foreign.list",
    "foreign.show",
    "foreign.provision",
    "foreign.update",
    "foreign.destroy",
)


def pinned_version() -> str:
    return str(json.loads((JS_DIR / "package.json").read_text())["dependencies"]["scalingo"])


def installed_version() -> str | None:
    manifest = JS_DIR / "node_modules" / "scalingo" / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text())["version"])


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"`{name}` is not on PATH: the Scalingo JavaScript client interop test needs Node.js "
            "(20+) and npm; install them (e.g. apt-get install nodejs npm)",
            pytrace=False,
        )
    return found


@functools.cache
def _npm_ci() -> str | None:
    """Run `npm ci` in js_scalingo/ unless the pinned client is there; None or the failure."""
    if installed_version() == pinned_version():
        return None
    proc = subprocess.run(
        [tool("npm"), "ci", "--no-audit", "--no-fund"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_CI_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        return f"npm ci in {JS_DIR} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    if installed_version() != pinned_version():
        return f"npm ci left scalingo {installed_version()} in {JS_DIR}, want {pinned_version()}"
    return None


async def ensure_client() -> str:
    """The node binary, with the pinned client installed (npm ci once per session)."""
    node = tool("node")
    tool("npm")
    failure = await asyncio.to_thread(_npm_ci)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    return node


async def run_js_client(
    api_url: str,
    token: str,
    app_id: str,
    *,
    auth_mode: str = "exchange",
    scenario: str = "notifiers",
    extra_env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """Run interop.mjs against a Herald API; (exit code, stdout + stderr report).

    Runs as a child process while the event loop keeps serving the in-process API. The token goes
    through the environment, not argv.
    """
    node = await ensure_client()
    env = {
        **os.environ,
        "HERALD_API_URL": api_url,
        "HERALD_AUTH_URL": api_url,
        "HERALD_API_TOKEN": token,
        "HERALD_APP_ID": app_id,
        "HERALD_AUTH_MODE": auth_mode,
        **(extra_env or {}),
    }
    proc = await asyncio.create_subprocess_exec(
        node,
        str(PROGRAM),
        scenario,
        cwd=JS_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        return -1, f"timed out after {RUN_TIMEOUT_S}s\n{streams(out, err)}"
    code = proc.returncode if proc.returncode is not None else -1
    return code, f"exit {code}\n{streams(out, err)}"


def streams(out: bytes, err: bytes) -> str:
    return f"--- stdout\n{out.decode()}--- stderr\n{err.decode()}"


def stdout_lines(report: str) -> list[str]:
    return report.split("--- stdout\n", 1)[1].split("--- stderr\n", 1)[0].splitlines()


def assert_steps_ok(report: str, steps: tuple[str, ...]) -> None:
    print(report)  # shown by pytest -rP, and on failure
    lines = stdout_lines(report)
    for step in steps:
        assert any(line.startswith(f"ok   {step}:") for line in lines), (
            f"no ok line for {step}\n{report}"
        )
    assert not any(line.startswith("FAIL") for line in lines), report
    assert lines, report
    assert lines[-1].startswith("PASS scalingo.js "), report


@pytest.mark.timeout(NPM_CI_TIMEOUT_S + RUN_TIMEOUT_S + 30)
@pytest.mark.parametrize("auth_mode", ["exchange", "static"])
async def test_scalingo_js_client_manages_notifiers(
    herald_api_url: str, herald_api_token: str, herald_app_id: str, auth_mode: str
) -> None:
    code, report = await run_js_client(
        herald_api_url, herald_api_token, herald_app_id, auth_mode=auth_mode
    )

    assert code == 0, report
    assert_steps_ok(report, NOTIFIER_STEPS)


@pytest.mark.timeout(NPM_CI_TIMEOUT_S + RUN_TIMEOUT_S + 30)
async def test_token_of_app_a_cannot_reach_app_b_through_the_js_client(
    herald_api_url: str, register_app: Any, herald_admin: Any
) -> None:
    app_a, app_b = await register_app("js-a"), await register_app("js-b")
    notifier = {
        "name": "b's webhook",
        "platform_id": "webhook",
        "selected_event_ids": ["app_deployed"],
        "type_data": {"webhook_url": "https://hooks.example.com/herald-b"},
    }
    status, created = await herald_admin(
        "POST", f"/v1/apps/{app_b.app_id}/notifiers", {"notifier": notifier}
    )
    assert status == 201, created
    before = await herald_admin("GET", f"/v1/apps/{app_b.app_id}/notifiers")

    code, report = await run_js_client(
        # the exchange happens on A's token; every call then names app B
        herald_api_url,
        app_a.token,
        app_b.app_id,
        scenario="foreign-app",
        extra_env={"HERALD_FOREIGN_NOTIFIER_ID": created["notifier"]["id"]},
    )

    assert code == 0, report
    assert_steps_ok(report, FOREIGN_STEPS)
    after = await herald_admin("GET", f"/v1/apps/{app_b.app_id}/notifiers")
    assert after == before, "app A's token changed app B's notifiers"


@pytest.mark.timeout(NPM_CI_TIMEOUT_S + RUN_TIMEOUT_S + 30)
async def test_scalingo_js_client_tests_a_notifier(
    herald: Any, herald_api_url: str, herald_api_token: str, herald_app_id: str
) -> None:
    """`Notifiers.test` (POST …/notifiers/{id}/test): the API answers once the session's webhook
    sender (`herald`) reported its one attempt at the scenario's URL, whatever its outcome."""
    code, report = await run_js_client(
        herald_api_url, herald_api_token, herald_app_id, scenario="notifier-test"
    )

    assert code == 0, report
    assert_steps_ok(report, ("notifiers.provision_webhook", "notifiers.test"))
