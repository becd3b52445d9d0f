"""Serve an aiohttp application on 127.0.0.1, on a port the kernel picks: what every local
receiver and stand-in does (tests send traffic to loopback only)."""

from __future__ import annotations

from aiohttp import web


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1:0; its runner (`cleanup()` stops it) and the port it got."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port: int = runner.addresses[0][1]
    return runner, port
