"""`make bench-sender`: the real sender against a raw client, deliveries per second.

One throwaway Kafka 4 broker (`herald_testing.infra.LocalInfra`), one receiver subprocess (an
aiohttp server that answers 200 after `delay` ms, and an aiosmtpd sink that accepts every
message), and in this process, taking turns on the same receiver:

    webhook  Herald: a backlog of N deliveries released at once (one Kafka transaction; the
                     sender reads `read_committed`) → SenderService(webhook): parse, render,
                     sign, POST, result record, ack, commit. Timed from the release until the
                     receiver has answered N more requests.
             raw:    the same N bodies and headers, pre-rendered, POSTed by one aiohttp session
                     with the same concurrency (a semaphore) and per-host connection limit.
    e-mail   Herald: as above with SenderService(email) and the sink (one SMTP connection).
             raw:    the same messages, pre-rendered, sent one after another by aiosmtplib
                     over one connection.

Samples go in pairs, H B then B H (`harness.compare_async`); the ratio is the median of the
per-pair ratios. The target: webhook ratio >= 0.7 with a slow receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import aiosmtplib
from aiokafka import AIOKafkaProducer
from harness import Figure, compare_async, progress, stop_process, table
from herald_core import headers as h
from herald_core.deliveries import Delivery, Recipient
from herald_core.intake import parse_event
from herald_core.logging import configure
from herald_core.notifiers import Notifier, Selection
from herald_core.settings import HttpSettings, KafkaSettings, LogSettings
from herald_core.topics import Channel, deliveries_topic
from herald_devstack.kafka import kafka_version
from herald_devstack.processes import free_port
from herald_sender.app import SenderService
from herald_sender.channels.email import render_email
from herald_sender.channels.webhook import WebhookSender, render_webhook
from herald_sender.settings import SenderSettings, SmtpSettings
from herald_testing.infra import LocalInfra
from herald_testing.polling import eventually

TARGET = 0.7
CONCURRENCY = 64
NOTIFIERS = 1000  # deliveries are keyed by notifier id: enough keys for every slot
SAMPLE_TIMEOUT_S = 180.0
RECIPIENT = Recipient(address="ops@example.com", name="Ops")

RECEIVER = textwrap.dedent(
    """
    import asyncio, sys
    from aiohttp import web
    from aiosmtpd.controller import Controller

    http_port, smtp_port = int(sys.argv[1]), int(sys.argv[2])
    counts = {"http": 0, "mail": 0}

    async def hook(request):
        await request.read()
        delay_ms = int(request.match_info["delay"])
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        counts["http"] += 1
        return web.Response(text="ok")

    async def hang(request):
        await request.read()
        await asyncio.sleep(3600)  # a receiver that never answers: the sender's timeout ends it
        return web.Response(text="late")

    async def count(request):
        return web.json_response(counts)

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            counts["mail"] += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    app = web.Application()
    app.router.add_post("/hook/{delay}", hook)
    app.router.add_post("/hang", hang)
    app.router.add_get("/count", count)
    web.run_app(
        app, host="127.0.0.1", port=http_port, print=None, access_log=None, shutdown_timeout=1
    )
    """
)


class Receiver:
    """The receiver subprocess, and its counters read over HTTP."""

    def __init__(self) -> None:
        self.http_port, self.smtp_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER, str(self.http_port), str(self.smtp_port)]
        )
        self.session: aiohttp.ClientSession | None = None

    async def count(self, what: str) -> int:
        assert self.session is not None
        async with self.session.get(f"http://127.0.0.1:{self.http_port}/count") as response:
            return int((await response.json())[what])

    async def until(self, what: str, target: int) -> None:
        deadline = time.monotonic() + SAMPLE_TIMEOUT_S
        while await self.count(what) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the receiver saw fewer than {target} {what}")
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        stop_process(self.proc)


def make_deliveries(
    channel: Channel, count: int, url: str, url_of: Callable[[int], str] | None = None
) -> list[Delivery]:
    """`count` deliveries over NOTIFIERS notifiers; notifier k posts to `url_of(k)` if given."""
    now = datetime.now(UTC)
    notifiers = [
        Notifier(
            id=f"n-{k:05d}-{uuid.uuid4().hex[:6]}",
            name="bench",
            app_id="app-bench",
            platform=channel,
            selection=Selection(send_all_events=True),
            type_data={
                "webhook_url": url_of(k) if url_of else url,
                "format": "raw",
                "secret": "whsec_" + "A" * 32,
            }
            if channel is not Channel.EMAIL
            else {"emails": ["ops@example.com"]},
        )
        for k in range(NOTIFIERS)
    ]
    made = []
    for i in range(count):
        event = parse_event(
            {
                "id": f"ev-{uuid.uuid4().hex}",
                "type": "app_deployed",
                "created_at": now.isoformat(),
                "source": "deployer",
                "app_id": "app-bench",
                "owner_id": "owner-bench",
                "user": {"id": "u1", "username": "johndoe", "email": "john@doe.com"},
                "type_data": {"status": "success", "git_ref": f"{i:08x}", "duration": 40},
            }
        )
        recipients = (RECIPIENT,) if channel is Channel.EMAIL else ()
        made.append(Delivery.for_(event, notifiers[i % NOTIFIERS], now, recipients=recipients))
    return made


async def release(producer: AIOKafkaProducer, channel: Channel, batch: list[Delivery]) -> None:
    """Put `batch` on the channel's topic in one transaction: invisible until the commit."""
    async with producer.transaction():
        for delivery in batch:
            await producer.send(
                deliveries_topic(channel),
                value=delivery.to_json(),
                key=delivery.notifier.id.encode(),
                headers=[(h.DELIVERY_ID, delivery.id.encode())],
            )


def sender_settings(bootstrap: str, channel: Channel, smtp_port: int) -> SenderSettings:
    return SenderSettings(
        kafka=KafkaSettings(bootstrap_servers=bootstrap, client_id="bench-sender"),
        http=HttpSettings(host="127.0.0.1", port=0),
        log=LogSettings(json=False, level="warning"),
        channel=channel,
        group_id=f"bench-sender-{channel}-{uuid.uuid4().hex[:6]}",
        allow_loopback_targets=True,
        concurrency=CONCURRENCY,
        endpoint_concurrency=CONCURRENCY,
        endpoint_rate_per_s=0,
        host_concurrency=CONCURRENCY,
        host_rate_per_s=0,
        smtp=SmtpSettings(port=smtp_port),
    )


Pass = Callable[[], Awaitable[tuple[int, float]]]


def herald_pass(
    receiver: Receiver, producer: AIOKafkaProducer, channel: Channel, batches: list[Any]
) -> Pass:
    what = "mail" if channel is Channel.EMAIL else "http"

    async def run() -> tuple[int, float]:
        batch = batches.pop()
        target = await receiver.count(what) + len(batch)
        await release(producer, channel, batch)
        started = time.perf_counter()
        await receiver.until(what, target)
        return len(batch), time.perf_counter() - started

    return run


def raw_http_pass(receiver: Receiver, requests: list[tuple[str, bytes, dict[str, str]]]) -> Pass:
    async def run() -> tuple[int, float]:
        connector = aiohttp.TCPConnector(limit_per_host=CONCURRENCY)
        limit = asyncio.Semaphore(CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(url: str, body: bytes, headers: dict[str, str]) -> None:
                async with limit, session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(post(*r) for r in requests))
            return len(requests), time.perf_counter() - started

    return run


def raw_smtp_pass(receiver: Receiver, messages: list[Any]) -> Pass:
    async def run() -> tuple[int, float]:
        started = time.perf_counter()
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=receiver.smtp_port)
        await client.connect()
        for message in messages:
            await client.send_message(
                message, sender="notifications@herald.local", recipients=["ops@example.com"]
            )
        await client.quit()
        return len(messages), time.perf_counter() - started

    return run


async def measure_webhook(
    bootstrap: str, receiver: Receiver, producer: AIOKafkaProducer, args: argparse.Namespace
) -> list[Figure]:
    figures = []
    settings = sender_settings(bootstrap, Channel.WEBHOOK, receiver.smtp_port)
    async with SenderService(settings) as service:
        await eventually(lambda: service.ready()[0], timeout_s=60, what="webhook sender ready")
        for delay in args.delays:
            url = f"http://127.0.0.1:{receiver.http_port}/hook/{delay}"
            n = args.deliveries
            progress(f"webhook, receiver {delay} ms: {args.repeats} samples of {n} per side")
            batches = [make_deliveries(Channel.WEBHOOK, n, url) for _ in range(args.repeats + 1)]
            now = datetime.now(UTC)
            raw = [render_webhook(d, now) for d in batches[0]]
            requests = [(r.url, r.body, r.headers) for r in raw]
            await herald_pass(receiver, producer, Channel.WEBHOOK, batches)()  # warm-up
            await raw_http_pass(receiver, requests)()
            samples = await compare_async(
                herald_pass(receiver, producer, Channel.WEBHOOK, batches),
                raw_http_pass(receiver, requests),
                repeats=args.repeats,
            )
            figures.append(
                Figure(
                    name=f"webhook.{delay}ms",
                    unit="/s",
                    samples=samples,
                    herald_label=f"SenderService(webhook), concurrency {CONCURRENCY}, Kafka in",
                    baseline_label=f"aiohttp POST loop, {CONCURRENCY} at once, no Kafka",
                    meaning=f"webhook deliveries/s, receiver answers after {delay} ms",
                )
            )
    return figures


ENDPOINTS = 100  # B6: the notifiers' URLs, one of them hanging


async def measure_hanging(
    bootstrap: str, receiver: Receiver, producer: AIOKafkaProducer, args: argparse.Namespace
) -> Figure:
    """B6: healthy endpoints' throughput with one endpoint of 100 that never answers, against
    the same healthy deliveries without it (two senders with the default per-URL limits, so
    that the hanging endpoint's backlog in one does not weigh on the other)."""
    base = f"http://127.0.0.1:{receiver.http_port}"
    hanging_url = f"{base}/hang"

    def url_of(k: int) -> str:
        endpoint = k % ENDPOINTS
        return hanging_url if endpoint == 0 else f"{base}/hook/{args.delays[0]}?e={endpoint}"

    n = args.deliveries
    progress(f"one hanging endpoint of {ENDPOINTS}: {args.repeats} samples of {n} per side")
    with_hang = [make_deliveries(Channel.WEBHOOK, n, "", url_of) for _ in range(args.repeats + 1)]
    healthy = [
        [d for d in b if d.notifier.type_data["webhook_url"] != hanging_url] for b in with_hang
    ]
    # Two topics no earlier pass wrote to: a new group reads its topic from the start.
    settings = {
        channel: sender_settings(bootstrap, channel, receiver.smtp_port).model_copy(
            update={
                "endpoint_concurrency": 10,
                "endpoint_rate_per_s": 50.0,
                # every hanging delivery times out: a warning each, not worth printing
                "log": LogSettings(json=False, level="error"),
            }
        )
        for channel in (Channel.APNS, Channel.WEBPUSH)
    }
    hang_side = SenderService(settings[Channel.APNS], sender_factory=WebhookSender.from_settings)
    clean_side = SenderService(
        settings[Channel.WEBPUSH], sender_factory=WebhookSender.from_settings
    )
    async with hang_side, clean_side:
        await eventually(
            lambda: hang_side.ready()[0] and clean_side.ready()[0], timeout_s=60, what="senders"
        )
        await herald_pass(receiver, producer, Channel.WEBPUSH, healthy)()  # warm-up
        with_hang.pop()
        samples = await compare_async(
            hanging_pass(receiver, producer, with_hang, hanging_url),
            herald_pass(receiver, producer, Channel.WEBPUSH, healthy),
            repeats=args.repeats,
        )
    return Figure(
        name="hanging-endpoint",
        unit="/s",
        samples=samples,
        herald_label=f"healthy deliveries/s, 1 of {ENDPOINTS} endpoints never answers",
        baseline_label="the same healthy deliveries, no hanging endpoint",
        meaning=f"B6: 1 - ratio is the drop; receiver answers after {args.delays[0]} ms",
    )


def hanging_pass(
    receiver: Receiver, producer: AIOKafkaProducer, batches: list[Any], hanging_url: str
) -> Pass:
    """A sample with the hanging endpoint's deliveries in it, timed until every healthy one has
    been answered (the hanging ones wait for the sender's request timeout, then a retry tier)."""

    async def run() -> tuple[int, float]:
        batch = batches.pop()
        healthy = sum(1 for d in batch if d.notifier.type_data["webhook_url"] != hanging_url)
        target = await receiver.count("http") + healthy
        await release(producer, Channel.APNS, batch)
        started = time.perf_counter()
        await receiver.until("http", target)
        return healthy, time.perf_counter() - started

    return run


async def measure_email(
    bootstrap: str, receiver: Receiver, producer: AIOKafkaProducer, args: argparse.Namespace
) -> Figure:
    settings = sender_settings(bootstrap, Channel.EMAIL, receiver.smtp_port)
    n = args.mails
    progress(f"e-mail: {args.repeats} samples of {n} per side")
    batches = [make_deliveries(Channel.EMAIL, n, "") for _ in range(args.repeats + 1)]
    s, now = settings.smtp, datetime.now(UTC)
    messages = [
        render_email(
            d,
            d.recipients[0],
            from_addr=s.from_address,
            unsubscribe_base_url=s.unsubscribe_base_url,
            secret=s.unsubscribe_secret.get_secret_value(),
            now=now,
        )
        for d in batches[0]
    ]
    async with SenderService(settings) as service:
        await eventually(lambda: service.ready()[0], timeout_s=60, what="e-mail sender ready")
        await herald_pass(receiver, producer, Channel.EMAIL, batches)()  # warm-up
        samples = await compare_async(
            herald_pass(receiver, producer, Channel.EMAIL, batches),
            raw_smtp_pass(receiver, messages),
            repeats=args.repeats,
        )
    return Figure(
        name="email",
        unit="/s",
        samples=samples,
        herald_label="SenderService(email): one SMTP connection, Kafka in",
        baseline_label="aiosmtplib send_message loop over one connection, pre-rendered",
        meaning="e-mail deliveries/s (one recipient each) to a local aiosmtpd sink",
    )


async def measure(bootstrap: str, args: argparse.Namespace) -> list[Figure]:
    receiver = Receiver()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        transactional_id=f"bench-sender-{uuid.uuid4().hex[:6]}",
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )
    await producer.start()
    try:
        async with aiohttp.ClientSession() as session:
            receiver.session = session
            await eventually(_answers(receiver), timeout_s=30, what="receiver up")
            figures = await measure_webhook(bootstrap, receiver, producer, args)
            if args.hanging:
                figures.append(await measure_hanging(bootstrap, receiver, producer, args))
            if args.mails:
                figures.append(await measure_email(bootstrap, receiver, producer, args))
            return figures
    finally:
        await producer.stop()
        receiver.stop()


def _answers(receiver: Receiver) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        try:
            await receiver.count("http")
        except aiohttp.ClientError:
            return False
        return True

    return probe


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/sender.py", description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000, help="webhook deliveries/sample")
    parser.add_argument("--mails", type=int, default=500, help="e-mails per sample; 0: skip")
    parser.add_argument("--repeats", type=int, default=4, help="samples per side")
    parser.add_argument(
        "--delays", type=int, nargs="+", default=[20, 0], help="receiver delays (ms)"
    )
    parser.add_argument(
        "--no-hanging", dest="hanging", action="store_false", help="skip B6 (hanging endpoint)"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure(json=False, level="warning")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    print(
        f"Herald sender benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}, Kafka {kafka_version()}; concurrency {CONCURRENCY}\n"
    )
    infra = LocalInfra.create()
    started = time.perf_counter()
    try:
        progress("starting a throwaway Kafka broker")
        infra.start_kafka()
        progress(f"broker ready in {infra.timings['kafka_ready_s']:.1f}s")
        figures = asyncio.run(measure(infra.bootstrap_servers, args))
    finally:
        infra.stop()
    print(table(figures))
    for figure in figures:
        if figure.name == "hanging-endpoint":
            drop = 1 - figure.ratio
            verdict = "met" if drop <= 0.05 else "floor met" if drop <= 0.15 else "NOT met"
            print(f"\nB6: healthy throughput drop {drop:.1%} (target <= 5%, floor 15%): {verdict}")
    webhook = [f for f in figures if f.name.startswith("webhook")]
    if webhook:
        slow = webhook[0]
        verdict = "met" if slow.ratio >= TARGET else "NOT met"
        print(f"\ntarget: {slow.name} ratio >= {TARGET}: {slow.ratio:.2f}, {verdict}")
    print(f"Total {time.perf_counter() - started:.0f}s; load {os.getloadavg()[0]:.2f} at the end.")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([f.as_json() for f in figures], handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
