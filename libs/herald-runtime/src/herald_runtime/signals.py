"""Graceful shutdown: SIGTERM and SIGINT set one event that every loop watches."""

from __future__ import annotations

import asyncio
import signal


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
