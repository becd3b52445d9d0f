"""Schemathesis against the running config API, driven by its own /openapi.json.

Every operation gets a bounded number of positive and negative examples, some on random ids and
some on a real app, collaborator, owner, user and notifier (re-seeded before each operation,
DELETEs last), and every answer is checked: no 5xx, a documented status, a documented content
type, a body that matches the documented schema. All failures are collected and reported at
once.

The API serves from this test's event loop, and schemathesis' requests are synchronous, so the
whole run happens in a worker thread (`asyncio.to_thread`) while the loop keeps serving.
Generation is derandomized (the same examples every run, for CI); set HERALD_FUZZ_SEED to an
integer to explore other examples.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from herald_api.http.reference_page import example_of
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [
    pytest.mark.integration,
    # schemathesis' negative-mode mutations draw from the global `random` inside their strategies
    # (schemathesis/specs/openapi/negative); Hypothesis flags that as deprecated. Not our code.
    pytest.mark.filterwarnings(
        "ignore:Do not use the `random` module inside strategies"
        ":hypothesis.errors.HypothesisDeprecationWarning"
    ),
]

MAX_EXAMPLES = int(os.environ.get("HERALD_FUZZ_EXAMPLES", "10"))  # per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


@dataclass
class Seeds:
    """Real resources for the path parameters, (re)created through the API itself."""

    base: str
    session: requests.Session
    unique: str
    notifier_id: str = ""

    @property
    def app(self) -> str:
        return f"app-fz-{self.unique}"

    @property
    def owner(self) -> str:
        return f"org-fz-{self.unique}"

    @property
    def user(self) -> str:
        return f"us-fz-{self.unique}"

    @property
    def collaborator(self) -> str:
        return f"co-fz-{self.unique}"

    def ensure(self, notifier_body: Any) -> None:
        """Put back the user, owner, app, collaborator and one notifier."""
        for path, body in (
            (f"/v1/users/{self.user}", {"user": {"email": "ada@example.com", "name": "Ada"}}),
            (f"/v1/owners/{self.owner}", {"owner": {"members": [{"user_id": self.user}]}}),
            (f"/v1/apps/{self.app}", {"app": {"name": "fuzzed", "owner_id": self.owner}}),
            (
                f"/v1/apps/{self.app}/collaborators/{self.collaborator}",
                {"collaborator": {"user_id": self.user}},
            ),
        ):
            self._expect((200, 201), "PUT", path, body)
        created = self._expect((201,), "POST", f"/v1/apps/{self.app}/notifiers", notifier_body)
        self.notifier_id = created["notifier"]["id"]

    def path_parameters(self, path: str) -> dict[str, str]:
        known = {"app": self.app, "owner": self.owner, "user": self.user}
        known["id"] = self.collaborator if "/collaborators/" in path else self.notifier_id
        return {name: value for name, value in known.items() if "{" + name + "}" in path}

    def _expect(self, statuses: tuple[int, ...], method: str, path: str, body: Any) -> Any:
        response = self.session.request(method, self.base + path, json=body, timeout=10)
        assert response.status_code in statuses, (method, path, response.text)
        return response.json()


@dataclass
class Report:
    operations: int = 0
    examples: int = 0
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)  # operation → status → n
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def summary(self) -> str:
        return "\n\n".join(
            f"{label} — {title}\n{detail}" for (label, title), detail in self.failures.items()
        )


def _fuzz_operation(operation: Any, seeds: Seeds, report: Report, document: Any) -> None:
    fixed = seeds.path_parameters(operation.path)
    strategies = []
    for mode in MODES:
        strategies.append(operation.as_strategy(generation_mode=mode))
        if fixed:
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    body = operation.definition.raw.get("requestBody")
    if body and fixed:
        schemas = document["components"]["schemas"]
        example = example_of(body["content"]["application/json"]["schema"], schemas)
        strategies.append(
            operation.as_strategy(
                path_parameters=fixed, body=example, media_type="application/json"
            )
        )

    @seed(int(os.environ.get("HERALD_FUZZ_SEED", "0")))
    @settings(
        max_examples=MAX_EXAMPLES * len(MODES),
        deadline=None,
        database=None,
        derandomize="HERALD_FUZZ_SEED" not in os.environ,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        report.examples += 1
        try:
            response = case.call(base_url=seeds.base, session=seeds.session, timeout=10)
        except requests.RequestException as error:  # e.g. the server dropped the connection
            report.failures.setdefault(
                (operation.label, type(error).__name__), f"{error}\n{case.as_curl_command()}"
            )
            return
        counts = report.statuses.setdefault(operation.label, {})
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.failures.setdefault(
                    (operation.label, failure.title),
                    f"{failure.message}\n{case.as_curl_command()}\n{response.status_code} "
                    f"{response.text[:500]}",
                )

    run()


def fuzz(document: Any, seeds: Seeds, token: str) -> Report:
    """Every operation in turn, DELETEs last so the seeds outlive the others. Blocking."""
    report = Report()
    # The document's own security schemes, with real credentials: positive cases authenticate,
    # negative ones also try broken `Authorization` headers.
    schemes = {"bearerAuth": {"bearer": token}, "basicAuth": {"username": "", "password": token}}
    config = schemathesis.Config.from_dict({"auth": {"openapi": schemes}})
    schema = schemathesis.openapi.from_dict(document, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))
    notifier_body = example_of(
        {"$ref": "#/components/schemas/NotifierCreateBody"}, document["components"]["schemas"]
    )
    for operation in operations:
        seeds.ensure(notifier_body)
        _fuzz_operation(operation, seeds, report, document)
        report.operations += 1
    return report


async def test_every_operation_survives_the_fuzzer_and_matches_its_document(
    api: Any, http: Any, unique: str, herald: Any
) -> None:
    # `herald` runs the webhook sender: POST …/notifiers/{id}/test waits for its attempt's result
    # (a 504 without a sender, which `not_a_server_error` would count).
    base = f"http://127.0.0.1:{api.port}"
    async with http.get(f"{base}/openapi.json") as response:
        assert response.status == 200
        document = await response.json()
    token = api.settings.admin_token.get_secret_value()
    started = time.monotonic()
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        # Everything synchronous runs in the thread, loading the schema included: blocking the
        # loop for seconds would starve the API (its readiness probe times out and /readyz 503s).
        report = await asyncio.to_thread(fuzz, document, Seeds(base, session, unique), token)
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {report.operations} operations, {report.examples} examples in {elapsed:.1f}s")
    for label, counts in report.statuses.items():
        print(f"  {label:45} {dict(sorted(counts.items()))}")
    assert report.operations == sum(len(methods) for methods in document["paths"].values())
    assert not report.failures, report.summary()


# What the fuzzer found, and the same bugs on neighbouring routes, pinned: each was a 500, a
# dropped connection or a 422 without `errors`.
FOUND = [
    pytest.param(
        "PUT", "/v1/apps/a%0Bb", {"app": {"name": "x", "owner_id": "o"}}, 422, id="ctl-id"
    ),
    pytest.param("PUT", "/v1/owners/o%0Ab", {"owner": {}}, 422, id="newline-owner-id"),
    pytest.param("GET", "/v1/apps/{app}/notifiers?page=99999999999999999999", None, 422, id="page"),
    pytest.param(
        "PUT",
        "/v1/owners/{owner}",
        {"owner": {"members": [{"user_id": "u"}, {"user_id": "u", "role": "admin"}]}},
        422,
        id="member-twice",
    ),
    pytest.param("PUT", "/v1/users/u-nul", {"user": {"username": "a\u0000b"}}, 422, id="nul"),
    pytest.param("PUT", "/v1/users/u-sur", '{"user": {"name": "\\ud800"}}', 422, id="surrogate"),
    pytest.param("GET", "/v1/apps/%00", None, 404, id="nul-app-id"),
    pytest.param("GET", "/v1/owners/%00", None, 404, id="nul-owner-id"),
    pytest.param("GET", "/v1/users/%00", None, 404, id="nul-user-id"),
    pytest.param("GET", "/v1/apps/{app}/notifiers/%00", None, 404, id="nul-notifier-id"),
    pytest.param("DELETE", "/v1/apps/{app}/collaborators/%00", None, 404, id="nul-collaborator"),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), FOUND)
async def test_what_the_fuzzer_found_stays_fixed(
    api: Any, http: Any, unique: str, method: str, path: str, body: Any, status: int
) -> None:
    base = f"http://127.0.0.1:{api.port}"
    headers = {"Authorization": f"Bearer {api.settings.admin_token.get_secret_value()}"}
    ids = {"app": f"app-fx-{unique}", "owner": f"org-fx-{unique}"}
    async with http.put(
        f"{base}/v1/apps/{ids['app']}",
        json={"app": {"name": "x", "owner_id": ids["owner"]}},
        headers=headers,
    ) as response:
        assert response.status == 201
    data = body if isinstance(body, str) else None
    async with http.request(
        method,
        base + path.format(**ids),
        json=None if data is not None else body,
        data=data,
        headers=headers,
    ) as response:
        answer = await response.json(content_type=None)
        assert response.status == status, answer
    if status == 422:
        assert answer["errors"], answer  # Scalingo's clients need a non-empty `errors`


async def test_a_reused_idempotency_key_gets_a_422_scalingo_can_read(
    api: Any, http: Any, unique: str
) -> None:
    base = f"http://127.0.0.1:{api.port}"
    headers = {
        "Authorization": f"Bearer {api.settings.admin_token.get_secret_value()}",
        "Idempotency-Key": f"key-{unique}",
    }
    app = f"app-ik-{unique}"
    async with http.put(
        f"{base}/v1/apps/{app}", json={"app": {"name": "x", "owner_id": "o"}}, headers=headers
    ) as response:
        assert response.status == 201
    answers = []
    for name in ("first", "second"):
        body = {"notifier": {"name": name, "platform_id": "email"}}
        async with http.post(
            f"{base}/v1/apps/{app}/notifiers", json=body, headers=headers
        ) as response:
            answers.append((response.status, await response.json(content_type=None)))
    assert answers[0][0] == 201
    assert answers[1][0] == 422, answers[1][1]
    assert answers[1][1]["errors"] == {"Idempotency-Key": ["was used with a different request"]}
