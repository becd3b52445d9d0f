"""The image's entry point, `herald <command> [args]` (herald_runtime.entrypoint), maps each
command to the module the Dockerfile and docker-compose.yml mean, and runs it (the console
script as the image installs it, run here)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from herald_runtime.entrypoint import MODULES, UnknownCommand, command_for

HERALD = Path(sys.executable).parent / "herald"


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        (["ingest"], ["-m", "herald_ingest"]),
        (["api"], ["-m", "herald_api"]),
        (["api", "migrate"], ["-m", "herald_api", "migrate"]),
        (["router"], ["-m", "herald_router"]),
        (["derive"], ["-m", "herald_derive"]),
        (["alerter"], ["-m", "herald_alerter"]),
        (["recorder"], ["-m", "herald_recorder"]),
        (["sender", "--channel", "slack"], ["-m", "herald_sender", "--channel", "slack"]),
        (
            ["topics", "apply", "--file", "/app/deploy/topics.yaml"],
            ["-m", "herald_kafka.topics", "apply", "--file", "/app/deploy/topics.yaml"],
        ),
        (["ops", "dlq", "list"], ["-m", "herald_ops.cli", "dlq", "list"]),
        (["webhook-sink", "--port", "9000"], ["-m", "herald_devstack.http_sink", "--port", "9000"]),
    ],
)
def test_each_command_runs_its_module(args: list[str], argv: list[str]) -> None:
    assert command_for(args, python="/py") == ["/py", *argv]


@pytest.mark.parametrize("module", sorted(MODULES.values()))
def test_every_module_exists_and_runs_as_a_script(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    assert spec.origin is not None, module
    if spec.submodule_search_locations is not None:  # a package: python -m runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module
    else:
        assert 'if __name__ == "__main__":' in Path(spec.origin).read_text(), module


@pytest.mark.parametrize("args", [[], ["nope"], ["herald_router"]])
def test_an_unknown_command_is_refused_with_the_list(args: list[str]) -> None:
    with pytest.raises(UnknownCommand, match="commands: ingest, api"):
        command_for(args)


def test_the_installed_script_execs_the_module() -> None:
    """`herald sender --help` is `python -m herald_sender --help`: the sender's own usage."""
    result = subprocess.run(
        [str(HERALD), "sender", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "usage: python -m herald_sender" in result.stdout
    assert "--channel" in result.stdout


def test_the_installed_script_refuses_an_unknown_command() -> None:
    result = subprocess.run(
        [str(HERALD), "routr"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "unknown command 'routr'" in result.stderr
    assert "router" in result.stderr


def test_the_dockerfile_uses_it() -> None:
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    assert '\nENTRYPOINT ["herald"]\n' in dockerfile
