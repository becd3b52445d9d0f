"""`/livez`, `/readyz` and `/metrics` for every service (docs/architecture.md).

A service adds these routes to its own aiohttp app (ingest, api) or runs them alone on its
health port (router, sender). Readiness is a callable, so each service says what "ready" means
(router: config view caught up; sender: consumer assigned).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

ReadyCheck = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Probes:
    """What the three endpoints read: the metrics registry, readiness and liveness."""

    registry: CollectorRegistry
    ready: ReadyCheck
    alive: Callable[[], str | None] = lambda: None


PROBES = web.AppKey("herald_probes", Probes)


async def livez(request: web.Request) -> web.Response:
    """200 while the process works; 500 with the reason once `alive` names one."""
    failure = request.app[PROBES].alive()
    if failure is not None:
        return web.json_response({"status": "failed", "detail": failure}, status=500)
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the service is ready for traffic, 503 with what it waits for otherwise."""
    ok, detail = request.app[PROBES].ready()
    return web.json_response(
        {"status": "ready" if ok else "starting", "detail": detail}, status=200 if ok else 503
    )


async def metrics(request: web.Request) -> web.Response:
    """The registry in Prometheus' text format."""
    body = generate_latest(request.app[PROBES].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(
    app: web.Application,
    registry: CollectorRegistry,
    ready: ReadyCheck,
    alive: Callable[[], str | None] = lambda: None,
) -> None:
    """Mount the three endpoints on `app`; `alive` returns why the process is broken, or None.

    An app that declares its routes (the API) sets `PROBES` itself and declares the handlers.
    """
    app[PROBES] = Probes(registry, ready, alive)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def start_site(
    app: web.Application, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    """Serve `app` on host:port (0 = any free port), over HTTPS with `ssl_context`; returns the
    runner and the bound port."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
