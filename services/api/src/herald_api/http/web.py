"""HTTP conventions of the API: JSON bodies, problem+json with Scalingo's `errors`, pagination,
ETags. Small pure helpers plus thin aiohttp glue."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from aiohttp import web
from herald_core.intake import strict_loads
from herald_runtime.problems import problem

FieldErrors = Mapping[str, Sequence[str]]


class ApiProblem(Exception):
    """Raised by handlers and turned into problem+json by `problem_response`."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        errors: FieldErrors | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.errors = {k: list(v) for k, v in (errors or {}).items()}
        self.resource: str | None = None

    def with_resource(self, resource: str) -> ApiProblem:
        """Name the missing resource (Scalingo's 404 `resource` member)."""
        self.resource = resource
        return self


def not_found(what: str) -> ApiProblem:
    """404 for `what` ("app app-1"); its first word is the Scalingo `resource`."""
    return ApiProblem(404, f"{what} not found", kind="not-found").with_resource(what.split(" ")[0])


def invalid(errors: FieldErrors, detail: str | None = None) -> ApiProblem:
    """422 listing every problem, field → messages (Scalingo's `errors` member)."""
    summary = detail or "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
    return ApiProblem(422, summary, kind="validation-failed", errors=errors)


def problem_response(error: ApiProblem) -> web.Response:
    extensions: dict[str, Any] = {"error": error.detail}  # Scalingo's clients read `error` on 4xx
    if error.errors:
        extensions["errors"] = error.errors
    if error.resource:
        extensions["resource"] = error.resource
    return problem(error.status, error.detail, kind=error.kind, **extensions)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON. Raises ApiProblem 400 when it is not JSON, 422 when it holds
    text Postgres cannot store."""
    body = await request.read()
    if not body:
        raise ApiProblem(400, "a JSON body is required", kind="invalid-json")
    try:
        document = strict_loads(body)
    except (ValueError, RecursionError):
        raise ApiProblem(400, "the body is not valid JSON", kind="invalid-json") from None
    errors = unstorable_text(document)
    if errors:
        raise invalid(errors)
    return document


def unstorable_text(document: Any) -> dict[str, list[str]]:
    """Strings Postgres cannot store (NUL, unpaired surrogates), by dotted path. Pure."""
    errors: dict[str, list[str]] = {}
    # Iterative, and each path is a linked (key, parent) trail spelled out only on error:
    # a deep or wide body costs O(size), never a RecursionError or O(depth x width) strings.
    stack: list[tuple[Any, _Trail]] = [(document, None)]
    while stack:
        value, trail = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if storable(key):
                    stack.append((item, (key, trail)))
                else:
                    errors.setdefault(_spell(trail), []).append(f"a member name {_UNSTORABLE}")
        elif isinstance(value, list):
            stack.extend((item, (str(i), trail)) for i, item in enumerate(value))
        elif isinstance(value, str) and not storable(value):
            errors.setdefault(_spell(trail), []).append(_UNSTORABLE)
    return errors


_Trail: TypeAlias = tuple[str, "_Trail"] | None


def _spell(trail: _Trail) -> str:
    keys = []
    while trail is not None:
        key, trail = trail
        keys.append(key)
    return ".".join(reversed(keys)) or "body"


_UNSTORABLE = "must not contain NUL characters or unpaired surrogates"


def storable(text: str) -> bool:
    """Whether Postgres can store `text`: no NUL, no unpaired surrogate. Pure."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def wrapped(document: Any, key: str) -> dict[str, Any]:
    """`{"notifier": {...}}` → the inner object. Raises ApiProblem 422 on any other shape."""
    if not isinstance(document, dict) or not isinstance(document.get(key), dict):
        raise invalid({key: [f'the body must be a JSON object {{"{key}": {{…}}}}']})
    extra = sorted(set(document) - {key})
    if extra:
        raise invalid({name: ["unknown field"] for name in extra})
    inner: dict[str, Any] = document[key]
    return inner


def etag(resource_id: str, version: int) -> str:
    return f'"{resource_id}.{version}"'


def check_if_match(request: web.Request, current: str) -> None:
    """Honour `If-Match` when sent (412 on mismatch); absent means no precondition."""
    wanted = request.headers.get("If-Match")
    if wanted is None:
        return
    candidates = {tag.strip() for tag in wanted.split(",")}
    if "*" not in candidates and current not in candidates and f"W/{current}" not in candidates:
        raise ApiProblem(
            412, "the resource changed since you read it (If-Match)", kind="precondition-failed"
        )


def json_response(body: Any, *, status: int = 200, tag: str | None = None) -> web.Response:
    response = web.json_response(body, status=status, dumps=_dumps)
    if tag is not None:
        response.headers["ETag"] = tag
    return response


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


@dataclass(frozen=True)
class Page:
    """A page request: Scalingo's `page` (from 1) and `per_page`."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def meta(self, total: int) -> dict[str, Any]:
        """Scalingo's `meta.pagination` for a list of `total` items. Pure."""
        pages = max(1, -(-total // self.size))
        return {
            "pagination": {
                "prev_page": self.number - 1 if self.number > 1 else None,
                "current_page": self.number,
                "per_page": self.size,
                "next_page": self.number + 1 if self.number < pages else None,
                "total_pages": pages,
                "total_count": total,
            }
        }


MAX_PAGE = 2**31 - 1  # keeps `offset` inside Postgres' bigint whatever the page size


def page_of(query: Mapping[str, str], *, default_size: int, max_size: int) -> Page:
    """Parse `page` and `per_page`. Raises ApiProblem 422 on bad values."""
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default in (("page", 1), ("per_page", default_size)):
        raw = query.get(name)
        try:
            values[name] = int(raw) if raw not in (None, "") else default
        except ValueError:
            errors[name] = ["must be a whole number"]
            continue
        if values[name] < 1:
            errors[name] = ["must be at least 1"]
        elif name == "page" and values[name] > MAX_PAGE:
            errors[name] = [f"must be at most {MAX_PAGE}"]
    if errors:
        raise invalid(errors)
    return Page(values["page"], min(values["per_page"], max_size))
