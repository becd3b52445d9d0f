"""A planted error in the chart makes the Helm smoke run fail before anything starts.

The chart is copied and one template gets the router's bootstrap variable one underscore
short (`HERALD_ROUTER_KAFKA_BOOTSTRAP_SERVERS`): pydantic-settings would ignore it and the
router would look for a broker on its default address. The smoke run's preparation
(`SmokeRun.localized`: `localize` and the `check_env` hook, tests/support/settings_names.py)
refuses the rendered chart, naming the container and the variable. The same preparation
accepts the chart as it is. No broker is needed: nothing is started.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from herald_devstack.smoke.helm import empty_dir_paths, process_specs, service_addresses
from herald_devstack.smoke.runner import LocalizeError, SmokeRun

from support.helm_smoke import CHART, NAMESPACE, ROOT, helm_target, render
from support.settings_names import unknown_settings

BOOTSTRAP_LINE = "- name: {{ $p }}BOOTSTRAP_SERVERS"
MISNAMED = (
    '- name: {{ $p | replace "HERALD_ROUTER_KAFKA__" "HERALD_ROUTER_KAFKA_" }}BOOTSTRAP_SERVERS'
)


def _prepared(rendered: str, workdir: Path) -> SmokeRun:
    target = helm_target(
        kafka="127.0.0.1:1001",
        postgres="127.0.0.1:1002",
        smtp="127.0.0.1:1003",
        volumes=workdir / "volumes",
        empty_dirs=empty_dir_paths(rendered),
    )
    return SmokeRun(
        process_specs(rendered),
        target,
        workdir / "run",
        service_addresses=service_addresses(rendered, NAMESPACE),
        cwd=ROOT,
        check_env=unknown_settings,
    )


def test_the_chart_as_it_is_prepares(tmp_path: Path) -> None:
    plan = _prepared(render(), tmp_path).localized()
    assert len(plan) == 10  # two jobs, eight Deployments (minimal.yaml: webhook, e-mail)


def test_a_misnamed_variable_in_a_template_fails_the_smoke_run(tmp_path: Path) -> None:
    chart = tmp_path / "herald"
    shutil.copytree(CHART, chart)
    helpers = chart / "templates" / "_helpers.tpl"
    text = helpers.read_text()
    assert text.count(BOOTSTRAP_LINE) == 1
    helpers.write_text(text.replace(BOOTSTRAP_LINE, MISNAMED))

    rendered = render(chart)
    assert "HERALD_ROUTER_KAFKA_BOOTSTRAP_SERVERS" in rendered
    with pytest.raises(LocalizeError) as failure:
        _prepared(rendered, tmp_path).localized()
    message = str(failure.value)
    print(message)
    assert message.splitlines() == [
        "the description names what this machine cannot run:",
        "herald-router: HERALD_ROUTER_KAFKA_BOOTSTRAP_SERVERS is not a setting of herald_router"
        " (did you mean HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS?)",
    ]
