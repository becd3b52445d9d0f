"""The one adapter from pydantic's errors to Scalingo's `errors` member (dotted field path →
messages, every problem listed, in our words), and `shape_errors`, which checks a document
against a model with it. Pure; `http.parsing` turns the same errors into a 422.

Strict JSON: a boolean must be `true` or `false`, a string a string, an enum one of its values;
nothing is coerced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

M = TypeVar("M", bound=BaseModel)
FieldErrors = dict[str, list[str]]


def _ctx(item: ErrorDetails, key: str) -> Any:
    return (item.get("ctx") or {}).get(key)


def _too_short(item: ErrorDetails) -> str:
    least = _ctx(item, "min_length")
    return "can't be blank" if least == 1 else f"must be at least {least} characters"


def _value_error(item: ErrorDetails) -> str:
    return item["msg"].removeprefix("Value error, ")


MESSAGES: Mapping[str, str | Callable[[ErrorDetails], str]] = {
    "extra_forbidden": "unknown field",
    "missing": "is required",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_too_short": _too_short,
    "string_too_long": lambda item: f"must be at most {_ctx(item, 'max_length')} characters",
    "string_pattern_mismatch": lambda item: f"must match {_ctx(item, 'pattern')}",
    "list_type": "must be a list",
    "too_short": lambda item: f"must hold at least {_ctx(item, 'min_length')} items",
    "too_long": lambda item: f"must hold at most {_ctx(item, 'max_length')} items",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "enum": lambda item: f"must be one of {_ctx(item, 'expected')}",
    "literal_error": lambda item: f"must be one of {_ctx(item, 'expected')}",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "greater_than_equal": lambda item: (
        "must not be negative" if _ctx(item, "ge") == 0 else f"must be at least {_ctx(item, 'ge')}"
    ),
    "less_than_equal": lambda item: f"must be at most {_ctx(item, 'le')}",
    "value_error": _value_error,
}


def message(item: ErrorDetails) -> str:
    """Our words for one pydantic error; pydantic's own for a kind not listed. Pure."""
    found = MESSAGES.get(item["type"])
    if found is None:
        return item["msg"]
    return found if isinstance(found, str) else found(item)


def _holds(value: Any, part: str | int) -> bool:
    """Whether `part` names a member of `value` (a key of an object, an index of a list)."""
    if isinstance(value, dict):
        return isinstance(part, str) and part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def field_path(item: ErrorDetails, document: Any) -> str:
    """The dotted path of the member an error is about. Pure.

    pydantic's `loc` also names the branch of a union that refused the value (`active.bool`);
    the path follows `loc` only as far as the document goes (and to a missing member's name).
    """
    parts: list[str] = []
    value = document
    for part in item["loc"]:
        if _holds(value, part):
            value = value[part]
        elif item["type"] == "missing" and isinstance(value, dict):
            parts.append(str(part))
            break
        else:
            break
        parts.append(str(part))
    return ".".join(parts) or "body"


def field_errors(error: ValidationError, document: Any) -> FieldErrors:
    """pydantic errors → Scalingo's `errors` member (dotted field path → messages). Pure.

    A value no branch of a union takes is one problem, in the first branch's words.
    """
    errors: FieldErrors = {}
    unions: set[str] = set()
    for item in error.errors(include_url=False, include_input=False):
        path = field_path(item, document)
        branch = len(path.split(".")) < len(item["loc"]) and item["type"] != "missing"
        if branch and path in unions:
            continue
        if branch:
            unions.add(path)
        messages = errors.setdefault(path, [])
        if message(item) not in messages:
            messages.append(message(item))
    return errors


def validate_strict(model: type[M], document: Any) -> M:
    """`document` (parsed JSON) as `model`, strictly. Raises pydantic's ValidationError."""
    return model.model_validate_json(json.dumps(document), strict=True)


def shape_errors(
    model: type[BaseModel], document: Any, *, checked_elsewhere: frozenset[str] = frozenset()
) -> FieldErrors:
    """What `model` finds wrong with `document`, every problem listed; {} when nothing. Pure.

    Members in `checked_elsewhere` are left to the caller (a face whose own parser gives better
    words, e.g. Go durations): their problems are not reported here.
    """
    try:
        validate_strict(model, document)
    except ValidationError as error:
        found = field_errors(error, document)
        return {k: v for k, v in found.items() if k.split(".")[0] not in checked_elsewhere}
    return {}


def has_problem(errors: Mapping[str, list[str]], field: str) -> bool:
    """Whether `errors` names `field` or a member inside it (`field.x`, `field.0`). Pure."""
    return any(key == field or key.startswith(f"{field}.") for key in errors)


def add_problems(errors: FieldErrors, found: Mapping[str, list[str]]) -> None:
    """Add `found` to `errors`, but for the fields `errors` already names (the first word on a
    field wins: a shape problem hides the checks that assume the shape)."""
    errors.update({k: v for k, v in found.items() if k not in errors})
