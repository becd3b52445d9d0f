"""The environment variable names a settings class reads, derived from its model. Pure.

A deployment description (the Helm chart, docker-compose.yml) sets a service's settings by
name; a misspelt name is not an error to pydantic-settings, it is silently ignored and the
default applies. Checking every name a description sets against `env_names(SettingsClass)`
catches that before anything runs:

    env_names(RouterSettings)    # {"HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS", ...}

A nested model's fields are reached with the class's `env_nested_delimiter` (`__`) and by
their alias when they have one (`LogSettings.json_output` is `LOG__JSON`); the nested model
itself may also be given whole, as JSON (`HERALD_ROUTER_KAFKA`). Names are upper case: the
settings are case-insensitive. A dict field's keys (`HERALD_API_CHAT_HOSTS__SLACK`) are not
listed: only the field itself.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names directly (`X`, `X | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _key(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    return alias or name


def _nested(model: type[BaseModel], prefix: str, delimiter: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        full = f"{prefix}{_key(name, field)}".upper()
        names.add(full)
        for inner in _models_in(field.annotation):
            names |= _nested(inner, f"{full}{delimiter}", delimiter)
    return names


def env_names(settings: type[BaseSettings]) -> frozenset[str]:
    """Every variable name `settings` reads: its prefix, each field, nested fields within.

    A top-level field with an alias is read by its alias alone, without the prefix (as
    pydantic-settings does).
    """
    config = settings.model_config
    prefix = str(config.get("env_prefix") or "")
    delimiter = config.get("env_nested_delimiter")
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        key = _key(name, field)
        full = (key if key != name else f"{prefix}{name}").upper()
        names.add(full)
        if delimiter:
            for inner in _models_in(field.annotation):
                names |= _nested(inner, f"{full}{delimiter}", delimiter)
    return frozenset(names)
