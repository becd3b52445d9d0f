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

from pathlib import Path
from typing import Any

import pytest
from herald_testing.node_client import NPM_CI_TIMEOUT_S, RUN_TIMEOUT_S, NodeClient, stdout_lines

pytestmark = pytest.mark.integration

CLIENT = NodeClient(
    Path(__file__).parent / "js_scalingo", "scalingo", "the Scalingo JavaScript client"
)

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
    env = {
        "HERALD_API_URL": api_url,
        "HERALD_AUTH_URL": api_url,
        "HERALD_API_TOKEN": token,
        "HERALD_APP_ID": app_id,
        "HERALD_AUTH_MODE": auth_mode,
        **(extra_env or {}),
    }
    return await CLIENT.run(scenario, env=env)


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
