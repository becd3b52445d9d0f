"""Ingest lets in only its producers, on the session broker: a token (`Authorization: Bearer`)
from the list or the token file, or a client certificate the configured CAs signed (mTLS).

The token case runs `python -m herald_ingest` as a process with `HERALD_ENV=production`: it is
also the production start that passes its checks. The mTLS case runs ingest in-process over
HTTPS with certificates made for the test (`herald_devstack.tls`).
"""

from __future__ import annotations

import json
import secrets
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import EVENTS
from herald_devstack.tls import make_tls
from herald_ingest.app import IngestService
from herald_ingest.settings import IngestAuthSettings, IngestSettings
from herald_testing.polling import eventually
from herald_testing.scrape import sample_value
from herald_testing.service_process import ServiceProcess, started
from herald_testing.topics import find_record, records_now

from support.helpers import deployed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


async def post(
    http: aiohttp.ClientSession, url: str, event: dict[str, Any], **options: Any
) -> tuple[int, dict[str, str], Any]:
    async with http.post(url, json=event, **options) as response:
        return response.status, dict(response.headers), await response.json(content_type=None)


def of_event(event_id: str) -> Any:
    return lambda record: json.loads(record.value).get("id") == event_id


async def test_production_ingest_takes_events_only_with_a_producer_token(
    kafka_settings: KafkaSettings, http: aiohttp.ClientSession, unique: str, tmp_path: Path
) -> None:
    listed, rotated = secrets.token_hex(32), secrets.token_hex(32)
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# the next token\n{rotated}\n")
    ingest = ServiceProcess(
        "ingest",
        kafka_settings.bootstrap_servers,
        tmp_path / "ingest.log",
        auth__tokens=json.dumps([listed]),
        auth__token_file=str(token_file),
        consume_platform_events="false",
    )
    ingest.env["HERALD_ENV"] = "production"
    try:
        await started(ingest, timeout_s=120)  # /readyz needs no token
        assert "environment=production" in ingest.tail(200)
        url = f"http://127.0.0.1:{ingest.port}/v1/events"
        refused = deployed(f"app-{unique}")

        status, headers, body = await post(http, url, refused)
        assert (status, body["status"]) == (401, 401)
        assert headers["Content-Type"].startswith(PROBLEM)
        assert headers["WWW-Authenticate"] == 'Bearer realm="herald-ingest"'
        assert "Bearer" in body["detail"]

        for wrong in ({"Authorization": f"Bearer {listed}x"}, {"Authorization": f"Basic {listed}"}):
            status, headers, body = await post(http, url, refused, headers=wrong)
            assert status == 401, body
            assert headers["Content-Type"].startswith(PROBLEM)
        assert headers["WWW-Authenticate"] == 'Bearer realm="herald-ingest"'
        status, headers, _ = await post(
            http, url, refused, headers={"Authorization": f"Bearer {listed[:-1]}"}
        )
        assert headers["WWW-Authenticate"].endswith('error="invalid_token"')
        async with http.get(f"http://127.0.0.1:{ingest.port}/metrics") as response:
            scraped = await response.text()
        unauthenticated = {"reason": "unauthenticated"}
        assert sample_value(scraped, "herald_ingest_refused_total", unauthenticated) == 4

        accepted = [deployed(f"app-{unique}"), deployed(f"app-{unique}")]
        for event, token in zip(accepted, (listed, rotated), strict=True):
            status, _, body = await post(
                http, url, event, headers={"Authorization": f"Bearer {token}"}
            )
            assert (status, body["id"]) == (202, event["id"]), body
        bootstrap = kafka_settings.bootstrap_servers
        for event in accepted:
            await find_record(bootstrap, EVENTS, of_event(event["id"]), timeout_s=60)
        assert await records_now(bootstrap, EVENTS, of_event(refused["id"])) == []
    finally:
        ingest.stop()


def client_context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


async def test_a_client_certificate_stands_in_for_the_token_over_https(
    kafka_settings: KafkaSettings, http: aiohttp.ClientSession, unique: str, tmp_path: Path
) -> None:
    ours, theirs = make_tls(tmp_path / "ours"), make_tls(tmp_path / "theirs", ca_name="Other CA")
    token = secrets.token_hex(32)
    auth = IngestAuthSettings(
        tokens=(token,),  # type: ignore[arg-type]
        tls_certfile=ours.broker,  # its key, certificate and CA in one PEM file
        tls_keyfile=ours.broker,
        client_cafile=ours.ca,
    )
    settings = IngestSettings(
        kafka=kafka_settings,
        http=HttpSettings(port=0),
        log=LogSettings(json=False, level="warning"),
        consume_platform_events=False,
        auth=auth,
    )
    async with IngestService(settings) as ingest:
        await eventually(lambda: ingest.ready()[0], timeout_s=60, what="ingest ready")
        base = f"https://127.0.0.1:{ingest.port}"
        url = f"{base}/v1/events"
        certified = client_context(ours.ca, ours.client_cert, ours.client_key)
        anonymous = client_context(ours.ca)

        event = deployed(f"app-{unique}")
        status, _, body = await post(http, url, event, ssl=certified)
        assert (status, body["id"]) == (202, event["id"]), body

        status, headers, _ = await post(http, url, deployed(f"app-{unique}"), ssl=anonymous)
        assert status == 401
        assert headers["WWW-Authenticate"] == 'Bearer realm="herald-ingest"'
        with_token = deployed(f"app-{unique}")
        status, _, _ = await post(
            http, url, with_token, ssl=anonymous, headers={"Authorization": f"Bearer {token}"}
        )
        assert status == 202, "a token still works over HTTPS"
        async with http.get(f"{base}/readyz", ssl=anonymous) as response:
            assert response.status == 200, "probes need no certificate"

        strangers = client_context(ours.ca, theirs.client_cert, theirs.client_key)
        with pytest.raises(aiohttp.ClientError):
            await post(http, url, deployed(f"app-{unique}"), ssl=strangers)
        await find_record(
            kafka_settings.bootstrap_servers, EVENTS, of_event(with_token["id"]), timeout_s=60
        )
