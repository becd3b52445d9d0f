"""A TCP fault proxy for tests: put it between a service and its broker, database, SMTP server or
webhook receiver, and make the link slow, lossy or dead while the test runs.

    async with FaultProxy("127.0.0.1", postgres_port) as proxy:
        ...  # point the service at 127.0.0.1:{proxy.port}
        await proxy.latency(200, jitter_ms=50)
        await proxy.blackhole()  # nothing passes: clients hang until their own timeout
        await proxy.heal()  # a plain pass-through again

Written by hand on asyncio streams: toxiproxy, `tc netem` and iptables run as separate
processes or need root, and no Python library does this well in-process.

The faults, switchable at any time (`heal()` clears them all):

- `latency(ms, jitter_ms)`: each chunk is delivered `ms` (± up to `jitter_ms`) after it was
  read, in order, both ways, on open and new connections. Throughput is not reduced.
- `bandwidth(bytes_per_s)`: each direction of each connection, open or new, is paced to that rate.
- `drop(probability)`: a new connection is closed (FIN) right after accept with that probability.
- `reset()`: every open connection is aborted with a RST (SO_LINGER 0) on both sides, and each
  new one at once.
- `blackhole()`: nothing passes either way and nothing is answered, on open connections and on
  new ones (accepted, not connected onwards until `heal()`): clients hang until their own
  timeout. The proxy holds what it reads rather than discarding it, as TCP retransmission does
  behind a dead link, so a connection that outlives the blackhole goes on in order after heal.
- `refuse()`: the proxy stops listening, so new connections are refused; open ones go on.
  `heal()` listens again on the same port.

The fault is a `Fault`, a frozen dataclass holding the pure decisions (what to do with a new
connection, how long to hold a chunk, how to pace it); `await proxy.set(fault)` applies any
combination and the methods above change one aspect of the current fault. `proxy.stats` counts
connections and the bytes forwarded each way.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from dataclasses import dataclass, replace
from enum import Enum
from typing import TypeAlias

__all__ = ["Accept", "Fault", "FaultProxy", "Mode", "Stats"]

CHUNK = 16 * 1024
QUEUED_CHUNKS = 64  # per direction: at most 1 MiB read ahead, then the reader waits
PACE_SLICE_S = 0.05  # under a bandwidth limit, bytes go out in slices of 50 ms worth


class Mode(Enum):
    """What happens to the link as a whole (latency, bandwidth and drops combine with any)."""

    HEALTHY = "healthy"
    RESET = "reset"
    BLACKHOLE = "blackhole"
    REFUSE = "refuse"


class Accept(Enum):
    """What the proxy does with a connection it just accepted."""

    FORWARD = "forward"
    CLOSE = "close"
    RESET = "reset"


@dataclass(frozen=True)
class Fault:
    """The faults in force. `Fault()` is a plain pass-through. Pure: the proxy rolls the dice."""

    mode: Mode = Mode.HEALTHY
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    bytes_per_s: float | None = None
    drop_probability: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency and jitter must not be negative")
        if self.bytes_per_s is not None and self.bytes_per_s <= 0:
            raise ValueError("bytes_per_s must be positive (None: no limit)")
        if not 0.0 <= self.drop_probability <= 1.0:
            raise ValueError("drop_probability must be between 0 and 1")

    @property
    def flows(self) -> bool:
        """Whether bytes pass at all (not under a blackhole)."""
        return self.mode is not Mode.BLACKHOLE

    @property
    def listens(self) -> bool:
        """Whether the proxy accepts connections (not under `refuse`)."""
        return self.mode is not Mode.REFUSE

    def accept(self, roll: float) -> Accept:
        """The fate of a new connection; `roll` is uniform in [0, 1)."""
        if self.mode in (Mode.RESET, Mode.REFUSE):  # refuse: one that got in before the close
            return Accept.RESET
        if roll < self.drop_probability:
            return Accept.CLOSE
        return Accept.FORWARD

    def delay_s(self, roll: float) -> float:
        """How long a chunk is held: the latency ± up to the jitter; `roll` is uniform in [0, 1)."""
        return max(0.0, self.latency_ms + (2 * roll - 1) * self.jitter_ms) / 1000

    def slices(self, data: bytes) -> list[bytes]:
        """`data` cut into the pieces sent one after the other (one piece without a limit)."""
        if self.bytes_per_s is None:
            return [data]
        size = max(1, int(self.bytes_per_s * PACE_SLICE_S))
        return [data[i : i + size] for i in range(0, len(data), size)]

    def transfer_s(self, size: int) -> float:
        """How long `size` bytes take at the bandwidth limit."""
        return 0.0 if self.bytes_per_s is None else size / self.bytes_per_s


@dataclass
class Stats:
    """What went through the proxy since it started (for assertions)."""

    connections: int = 0  # accepted, whatever happened to them next
    dropped: int = 0  # closed right after accept (`drop`)
    reset: int = 0  # aborted with a RST by `reset()`, open or new
    bytes_to_target: int = 0
    bytes_to_client: int = 0


@dataclass(eq=False)
class _Link:
    sock: socket.socket
    """The accepted connection, until the link's task has wrapped it in streams (`client`)."""
    client: asyncio.StreamWriter | None = None
    target: asyncio.StreamWriter | None = None


Chunks: TypeAlias = "asyncio.Queue[tuple[float, bytes | None]]"  # b"": EOF; None: a reset


class FaultProxy:
    """Listens on `listen_host:listen_port` (0: a free port, then `.port`) and forwards to the
    target; `start()`/`stop()` or `async with`. `seed` makes the dice (drops, jitter) repeatable."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        seed: int | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.port = listen_port
        self.fault = Fault()
        self.stats = Stats()
        self._random = random.Random(seed)
        self._listener: socket.socket | None = None
        self._links: dict[_Link, asyncio.Task[None]] = {}  # the proxy's own tasks
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._started = False

    @property
    def open_connections(self) -> int:
        """The links being forwarded now (accepted and not yet closed)."""
        return len(self._links)

    async def start(self) -> FaultProxy:
        """Listen (unless the fault refuses); `.port` is then the bound port."""
        self._started = True
        if self.fault.listens:
            await self._listen()
        return self

    async def stop(self) -> None:
        """Stop listening and close every link at once."""
        self._started = False
        self._unlisten()
        links, self._links = self._links, {}
        for task in links.values():
            task.cancel()
        await asyncio.gather(*links.values(), return_exceptions=True)
        for link in links:  # a task cancelled halfway may have closed nothing
            self._close(link)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the faults ---------------------------------------------------------------------------

    async def set(self, fault: Fault) -> None:
        """Put `fault` in force, on open connections and new ones."""
        self.fault = fault
        if fault.flows:
            self._flowing.set()
        else:
            self._flowing.clear()
        if fault.mode is Mode.RESET:
            links, self._links = self._links, {}
            for link, task in links.items():  # a task cancelled before it ran pops nothing
                self.stats.reset += 1
                self._abort(link)
                task.cancel()
        if self._started and fault.listens and self._listener is None:
            await self._listen()
        elif not fault.listens:
            self._unlisten()

    async def latency(self, ms: float, jitter_ms: float = 0.0) -> None:
        await self.set(replace(self.fault, latency_ms=ms, jitter_ms=jitter_ms))

    async def bandwidth(self, bytes_per_s: float | None) -> None:
        await self.set(replace(self.fault, bytes_per_s=bytes_per_s))

    async def drop(self, probability: float) -> None:
        await self.set(replace(self.fault, drop_probability=probability))

    async def reset(self) -> None:
        await self.set(replace(self.fault, mode=Mode.RESET))

    async def blackhole(self) -> None:
        await self.set(replace(self.fault, mode=Mode.BLACKHOLE))

    async def refuse(self) -> None:
        await self.set(replace(self.fault, mode=Mode.REFUSE))

    async def heal(self) -> None:
        await self.set(Fault())

    # --- the shell ----------------------------------------------------------------------------

    async def _listen(self) -> None:
        """Listen on a socket of our own and accept from a reader callback. Not asyncio's
        `start_server`: a connection it has accepted but not wrapped yet when the server closes
        is dropped half-made, its socket left to the garbage collector (a ResourceWarning in
        some later test), and `refuse()` closes the listener while clients reconnect in a
        tight loop."""
        family = socket.AF_INET6 if ":" in self.listen_host else socket.AF_INET
        listener = socket.create_server((self.listen_host, self.port), family=family, backlog=128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        asyncio.get_running_loop().add_reader(listener.fileno(), self._accept, listener)
        self._listener = listener

    def _unlisten(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()  # connects are refused from now on

    def _accept(self, listener: socket.socket) -> None:
        """Take every connection waiting on the listener (called when it is readable)."""
        while True:
            try:
                sock, _ = listener.accept()
            except ConnectionAbortedError:  # the client gave up before it was taken
                continue
            except OSError:  # nothing more waiting (or no descriptor left: next time)
                return
            sock.setblocking(False)
            self._serve(sock)

    def _serve(self, sock: socket.socket) -> None:
        self.stats.connections += 1
        action = self.fault.accept(self._random.random())
        if action is not Accept.FORWARD:
            if action is Accept.CLOSE:
                self.stats.dropped += 1
                sock.close()
            else:
                self.stats.reset += 1
                _linger_zero(sock)
                sock.close()
            return
        link = _Link(sock)
        task = asyncio.create_task(self._forward(link))
        # A task cancelled before it ran never wraps the socket: this closes it then.
        task.add_done_callback(lambda _: _release(link))
        self._links[link] = task

    async def _forward(self, link: _Link) -> None:
        try:
            reader, client = await asyncio.open_connection(sock=link.sock)
            link.client = client
            await self._flowing.wait()  # a blackhole: accepted, not connected onwards
            target_reader, link.target = await asyncio.open_connection(*self.target)
            async with asyncio.TaskGroup() as group:
                for src, dst, to_target in (
                    (reader, link.target, True),
                    (target_reader, client, False),
                ):
                    chunks: Chunks = asyncio.Queue(QUEUED_CHUNKS)
                    group.create_task(self._read(src, chunks))
                    group.create_task(self._write(chunks, dst, to_target=to_target))
        except* OSError:  # a reset on one side is one on the other; a refused target too
            self._abort(link)
        finally:
            self._links.pop(link, None)
            self._close(link)

    def _close(self, link: _Link) -> None:
        for end in (link.client, link.target):
            if end is not None:
                end.close()

    def _abort(self, link: _Link) -> None:
        """RST both ends; a connection not wrapped yet is closed with a RST by its task."""
        _linger_zero(link.sock)
        for end in (link.client, link.target):
            if end is not None:
                _rst(end)

    async def _read(self, src: asyncio.StreamReader, chunks: Chunks) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data: bytes | None
            try:
                data = await src.read(CHUNK)
            except OSError:
                data = None  # held like data: a blackhole delays the news of a reset too
            await chunks.put((loop.time() + self.fault.delay_s(self._random.random()), data))
            if not data:
                return

    async def _write(self, chunks: Chunks, dst: asyncio.StreamWriter, *, to_target: bool) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await chunks.get()
            await asyncio.sleep(due - loop.time())
            await self._flowing.wait()
            if data is None:
                raise ConnectionResetError("the other side reset the connection")
            if not data:
                if dst.can_write_eof() and not dst.transport.is_closing():
                    dst.write_eof()
                return
            for piece in self.fault.slices(data):
                await asyncio.sleep(self.fault.transfer_s(len(piece)))
                await self._flowing.wait()
                dst.write(piece)
                await dst.drain()
                if to_target:
                    self.stats.bytes_to_target += len(piece)
                else:
                    self.stats.bytes_to_client += len(piece)


def _rst(writer: asyncio.StreamWriter) -> None:
    """Abort with a RST rather than a FIN: SO_LINGER on, with a zero timeout, then close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        _linger_zero(sock)
    writer.transport.abort()


def _linger_zero(sock: socket.socket) -> None:
    """Make the socket's close a RST (SO_LINGER on, zero timeout)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _release(link: _Link) -> None:
    """Close a connection its task never wrapped in streams (once wrapped, they own it)."""
    if link.client is None:
        link.sock.close()
