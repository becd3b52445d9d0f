"""This process's live streams (`stream_api`): how many are open against the cap
(`stream_max_connections`, beyond it a 503), how many slow clients were dropped, and the
signal that closes them all at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from aiohttp import web


class StreamsFull(Exception):
    """Every stream slot of this process is taken."""


class StreamHub:
    """This process's streams: how many are open, the cap, and the signal to close at shutdown."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.dropped = 0  # slow clients dropped since start
        self.closing = asyncio.Event()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one stream slot for the block. Raises StreamsFull when none is free."""
        if self.open >= self.limit:
            raise StreamsFull(f"{self.limit} streams are open already")
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1


STREAMS = web.AppKey("herald_event_streams", StreamHub)
