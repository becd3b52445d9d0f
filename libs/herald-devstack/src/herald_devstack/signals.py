"""Wait for SIGTERM or SIGINT (the local sinks run until `herald-dev down`)."""

from __future__ import annotations

import asyncio
import signal


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
