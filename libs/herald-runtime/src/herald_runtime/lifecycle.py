"""Starting a service as a context manager without leaking what a failed start had opened.

`async with Service(...)` never calls `__aexit__` when `__aenter__` raises: a producer
started before the broker refused the next step, or an HTTP site already listening, would be
left open ("Unclosed AIOKafkaProducer"). A service wraps the body of its `__aenter__` in
`undone_on_failure(self)`, and its `__aexit__` copes with a start that stopped half-way.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol


class Exitable(Protocol):
    async def __aexit__(self, *exc: Any) -> Any: ...


@asynccontextmanager
async def undone_on_failure(service: Exitable) -> AsyncIterator[None]:
    """Run the block; if it raises, `service.__aexit__` with that error, then re-raise it."""
    try:
        yield
    except BaseException:
        await service.__aexit__(*sys.exc_info())
        raise
