"""Every hostile URL of tests/contract/hostile_urls.txt is refused at notifier creation (422).

Two APIs on the session's Postgres and Kafka: the session `api` (loopback targets allowed, as in
every test) and a strict one with production's policy (no loopback), started here without its
outbox relay or directory consumer so that it shares the database without racing the session
API. The strict one must refuse every hostile URL; the session one every hostile URL whose host
is not loopback (tests/contract/test_hostile_urls.py checks that the opt-in relaxes nothing
else).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from herald_core.errors import UnsafeUrl
from herald_core.urlpolicy import check_url

from support.helpers import another_api

pytestmark = pytest.mark.integration

URL_FILE = Path(__file__).resolve().parents[1] / "contract" / "hostile_urls.txt"
PLACEHOLDERS = {"<TAB>": "\t", "<LF>": "\n", "<CR>": "\r", "<NUL>": "\x00", "<SP>": " "}
SECTION = re.compile(r"^# (refuse|allow): (\S.*)$")


def load_urls(verdict: str) -> list[tuple[int, str]]:
    """(line, URL) of the file's sections with this verdict; the format is in the file."""
    found: list[tuple[int, str]] = []
    current = None
    for number, line in enumerate(URL_FILE.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip() or line.startswith("##"):
            continue
        header = SECTION.match(line)
        if header:
            current = header[1]
        elif current == verdict:
            for placeholder, char in PLACEHOLDERS.items():
                line = line.replace(placeholder, char)
            found.append((number, line))
    return found


HOSTILE = load_urls("refuse")


def refused_even_with_loopback(url: str) -> bool:
    try:
        check_url(url, allow_loopback=True)
    except UnsafeUrl:
        return True
    return False


def params(entries: list[tuple[int, str]]) -> list[Any]:
    return [pytest.param(url, id=f"L{line}-{ascii(url)[1:-1][:60]}") for line, url in entries]


class Api:
    def __init__(self, http: aiohttp.ClientSession, port: int, token: str, app_id: str) -> None:
        self.http, self.token, self.app_id = http, token, app_id
        self.base = f"http://127.0.0.1:{port}"

    async def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def create_webhook(self, url: str) -> tuple[int, Any]:
        body = {
            "notifier": {
                "name": "hostile",
                "platform_id": "webhook",
                "selected_event_ids": ["app_deployed"],
                "type_data": {"webhook_url": url},
            }
        }
        return await self.call("POST", f"/v1/apps/{self.app_id}/notifiers", body)


@pytest.fixture(scope="module")
async def strict_api(api: Any) -> AsyncIterator[Any]:
    """A second API with production's URL policy, on the session API's database and broker."""
    async with another_api(api, allow_loopback_targets=False) as service:
        yield service


@pytest.fixture(scope="module")
async def clients(api: Any, strict_api: Any) -> AsyncIterator[dict[str, Api]]:
    token = api.settings.admin_token.get_secret_value()
    app_id = f"app-hostile-{uuid.uuid4().hex[:10]}"
    async with aiohttp.ClientSession() as http:
        session_api = Api(http, api.port, token, app_id)
        status, body = await session_api.call(
            "PUT", f"/v1/apps/{app_id}", {"app": {"name": "hostile", "owner_id": "owner-hostile"}}
        )
        assert status == 201, body
        yield {"session": session_api, "strict": Api(http, strict_api.port, token, app_id)}


def assert_refused_for_the_url(status: int, problem: Any, url: str) -> None:
    assert status == 422, f"{url!r} was accepted: {problem}"
    # Only the URL is wrong. The notifier checks name it `type_data.webhook_url`; a NUL is
    # refused before them, by the request decoder, as `notifier.type_data.webhook_url`.
    [(field, messages)] = problem["errors"].items()
    assert field in {"type_data.webhook_url", "notifier.type_data.webhook_url"}, problem
    assert messages, problem
    assert all(isinstance(m, str) and m for m in messages), problem
    if field == "type_data.webhook_url":
        assert all(m.startswith("is not allowed: ") for m in messages), messages


@pytest.mark.parametrize("url", params(HOSTILE))
async def test_strict_api_refuses_the_hostile_url(clients: dict[str, Api], url: str) -> None:
    status, problem = await clients["strict"].create_webhook(url)
    assert_refused_for_the_url(status, problem, url)


@pytest.mark.parametrize(
    "url", params([(line, url) for line, url in HOSTILE if refused_even_with_loopback(url)])
)
async def test_session_api_refuses_the_hostile_url(clients: dict[str, Api], url: str) -> None:
    status, problem = await clients["session"].create_webhook(url)
    assert_refused_for_the_url(status, problem, url)


async def test_strict_api_accepts_a_public_url(clients: dict[str, Api]) -> None:
    """The control: the request the refusals above differ from only by its URL is valid."""
    status, body = await clients["strict"].create_webhook("https://hooks.example.com/herald")
    assert status == 201, body
    status, _ = await clients["strict"].call(
        "DELETE", f"/v1/apps/{clients['strict'].app_id}/notifiers/{body['notifier']['id']}", None
    )
    assert status == 204
