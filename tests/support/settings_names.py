"""Whether a described environment names only settings the process reads.

pydantic-settings ignores a variable it does not know, so a misnamed one
(`HERALD_SENDER_KAFKA_BOOTSTRAP_SERVERS`, one underscore short) leaves the service on its
default, silently. `unknown_settings` is the smoke runs' `check_env`
(herald_devstack.smoke.runner.SmokeRun): every `HERALD_*` variable of a spec must be a field
(nested with `__`) of the settings of the module its argv runs. It lives under tests/ because
it imports the services' settings, which no library may.
"""

from __future__ import annotations

import difflib
import importlib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from herald_core.env_names import env_names
from herald_devstack.smoke.model import ProcessSpec
from herald_runtime.entrypoint import UnknownCommand, command_for
from pydantic import BaseModel
from pydantic_settings import BaseSettings

SETTINGS = {
    "herald_ingest": "herald_ingest.settings:IngestSettings",
    "herald_api": "herald_api.settings:ApiSettings",
    "herald_router": "herald_router.settings:RouterSettings",
    "herald_derive": "herald_derive.settings:DeriveSettings",
    "herald_alerter": "herald_alerter.settings:AlerterSettings",
    "herald_recorder": "herald_recorder.settings:RecorderSettings",
    "herald_sender": "herald_sender.settings:SenderSettings",
}
"""Module a container runs → the settings class it reads its environment into."""

PROCESS_WIDE = frozenset({"HERALD_ENV", "HERALD_TOPIC_FILE"})
"""Variables every Herald process may read (herald_core.deployment, herald_kafka.topics)."""

OWN_UNPREFIXED = {"herald_api": frozenset({"HERALD_UNSUBSCRIBE_SECRET"})}
"""Unprefixed variables a module reads itself (herald_api.native.unsubscribe_api)."""


def module_of(argv: Sequence[str]) -> str | None:
    """The module `argv` runs: through the image's `herald` entry point, a service's own
    console script (`herald-api migrate` reads the API's settings) or `python -m`."""
    program = Path(argv[0]).name if argv else ""
    if program == "herald":
        try:
            return command_for(argv[1:], python="python")[2]
        except UnknownCommand:
            return None
    if program.replace("-", "_") in SETTINGS:
        return program.replace("-", "_")
    args = list(argv)
    return args[args.index("-m") + 1] if "-m" in args[:-1] else None


def settings_class(module: str) -> type[BaseSettings] | None:
    path = SETTINGS.get(module)
    if path is None:
        return None
    name, _, attribute = path.partition(":")
    cls: type[BaseSettings] = getattr(importlib.import_module(name), attribute)
    return cls


def unknown_settings(spec: ProcessSpec) -> list[str]:
    """Every `HERALD_*` variable of `spec` that the module it runs does not read."""
    module = module_of(spec.argv)
    herald_vars = sorted(key for key in spec.env if key.startswith("HERALD_"))
    cls = settings_class(module) if module else None
    if cls is None:
        allowed = PROCESS_WIDE
        return [
            f"{spec.name}: {k} is read by no Herald process"
            for k in herald_vars
            if k not in allowed
        ]
    prefix = str(cls.model_config.get("env_prefix", ""))
    problems = []
    for key in herald_vars:
        if key in PROCESS_WIDE or key in OWN_UNPREFIXED.get(str(module), frozenset()):
            continue
        if not key.startswith(prefix):
            problems.append(f"{spec.name}: {key} is not a setting of {module} (it reads {prefix}*)")
        elif not _is_field(cls, key.removeprefix(prefix).lower().split("__")):
            problems.append(f"{spec.name}: {key} is not a setting of {module}{_hint(key, cls)}")
    return problems


def _hint(key: str, cls: type[BaseSettings]) -> str:
    """` (did you mean X?)` for the setting whose name is closest to `key`, if one is close."""
    close = difflib.get_close_matches(key, sorted(env_names(cls)), n=1, cutoff=0.9)
    return f" (did you mean {close[0]}?)" if close else ""


def _is_field(model: type[BaseModel], path: list[str]) -> bool:
    field = next((f for name, f in model.model_fields.items() if path[0] in {name, f.alias}), None)
    if field is None:
        return False
    if len(path) == 1:
        return True
    nested = _model_in(field.annotation)
    if nested is not None:
        return _is_field(nested, path[1:])
    return typing.get_origin(field.annotation) is dict  # a dict's keys are free


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):  # `Model | None`
        if isinstance(argument, type) and issubclass(argument, BaseModel):
            return argument
    return None
