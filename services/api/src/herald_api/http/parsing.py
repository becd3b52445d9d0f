"""Request bodies parsed by their wire models: `parse(Model, document)` is the model, or an
ApiProblem 422 whose `errors` list every problem (`model.shapes` has the adapter, and
`shape_errors` for a face that goes on to check what a model cannot: the catalog, URLs).

Each constraint is written once, on the model, and shows in the OpenAPI document as it is
enforced.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from herald_api.http.web import invalid
from herald_api.model.shapes import field_errors, validate_strict

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], document: Any) -> M:
    """Validate a request object. Raises ApiProblem 422 listing every problem."""
    try:
        return validate_strict(model, document)
    except ValidationError as error:
        raise invalid(field_errors(error, document)) from None
