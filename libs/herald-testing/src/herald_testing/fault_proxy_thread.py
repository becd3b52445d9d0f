"""A `FaultProxy` on an event loop of its own, in a thread: for a link that must keep flowing
whatever the test's own event loop is doing.

    with ThreadedFaultProxy("127.0.0.1", broker_port) as proxy:  # listening once this returns
        ...  # start the processes that connect to 127.0.0.1:{proxy.port}
        await proxy.reset()  # from any event loop: the call runs on the proxy's loop
        await proxy.heal()

Why a thread: a proxy on the test's event loop forwards only while that loop runs. Between
tests, in a synchronous fixture or while a test computes a verdict it forwards nothing, which
to the processes behind it is a blackhole nobody asked for. In front of one scenario's receiver
that is harmless; in front of the broker, which every service of a stack started once per run
goes through, a stall of a few seconds costs heartbeats and rebalances, and would show up as
duplicates in the scenarios without a fault.

The faults are `FaultProxy`'s (`set`, `latency`, `bandwidth`, `drop`, `reset`, `blackhole`,
`refuse`, `heal`), awaited from the caller's loop; `stats`, `fault` and `port` are read as
they are (plain values, written by the proxy's thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from herald_testing.fault_proxy import Fault, FaultProxy, Stats

__all__ = ["ThreadedFaultProxy"]

T = TypeVar("T")


class ThreadedFaultProxy:
    """`FaultProxy(target_host, target_port, …)` run in a daemon thread with its own loop;
    `start()`/`stop()` (synchronous) or `with`."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        seed: int | None = None,
    ) -> None:
        self._proxy = FaultProxy(
            target_host, target_port, listen_host=listen_host, listen_port=listen_port, seed=seed
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def target(self) -> tuple[str, int]:
        return self._proxy.target

    @property
    def port(self) -> int:
        """The port the proxy listens on (bound once `start()` returned)."""
        return self._proxy.port

    @property
    def fault(self) -> Fault:
        return self._proxy.fault

    @property
    def stats(self) -> Stats:
        return self._proxy.stats

    @property
    def open_connections(self) -> int:
        return self._proxy.open_connections

    def start(self, timeout_s: float = 10.0) -> ThreadedFaultProxy:
        """Start the thread and its loop, and return once the proxy listens."""
        if self._loop is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=_run_forever, args=(loop,), name=f"fault-proxy-{self.target[1]}", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        self._run(self._proxy.start(), timeout_s)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close every link and the listener, then end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._run(self._proxy.stop(), timeout_s)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout_s)
            self._loop = self._thread = None

    def __enter__(self) -> ThreadedFaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the faults, awaited from any loop ------------------------------------------------------

    async def set(self, fault: Fault) -> None:
        await self._call(self._proxy.set(fault))

    async def latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        await self._call(self._proxy.latency(ms, jitter_ms))

    async def bandwidth(self, bytes_per_s: float | None) -> None:
        await self._call(self._proxy.bandwidth(bytes_per_s))

    async def drop(self, probability: float) -> None:
        await self._call(self._proxy.drop(probability))

    async def reset(self) -> None:
        await self._call(self._proxy.reset())

    async def blackhole(self) -> None:
        await self._call(self._proxy.blackhole())

    async def refuse(self) -> None:
        await self._call(self._proxy.refuse())

    async def heal(self) -> None:
        await self._call(self._proxy.heal())

    # --- the bridge -------------------------------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the proxy is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run `coro` on the proxy's loop and wait for it here (no loop of ours needed)."""
        return self._submit(coro).result(timeout_s)

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the proxy's loop and await it from the caller's."""
        return await asyncio.wrap_future(self._submit(coro))


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    """The thread's body: the loop runs until `stop()` stops it, then closes."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
