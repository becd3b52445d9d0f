"""Detached processes with a pid file and a log file: what the local stack is made of."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def distinct_free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 that nothing listens on right now: all bound at
    once before any is released, so that two are never the same (as two `free_port()` calls in
    a row can be, when the kernel hands the released port out again)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_ports(count: int, *, attempts: int = 200) -> int:
    """The first of `count` consecutive TCP ports on 127.0.0.1 that are free right now.

    Raises:
        RuntimeError: when no such block was found in `attempts` tries.
    """
    for _ in range(attempts):
        first = free_port()
        if first + count > 65535:
            continue
        if all(bindable(first + offset) for offset in range(1, count)):
            return first
    raise RuntimeError(f"no block of {count} free ports found")


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's range of ephemeral ports (`net.ipv4.ip_local_port_range`): where a bind to
    port 0 and the local end of every outgoing connection take their port. Linux's default
    when it cannot be read."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports_below_ephemeral(count: int, *, lowest: int = 20000, attempts: int = 200) -> int:
    """The first of `count` consecutive TCP ports on 127.0.0.1, free now, between `lowest` and
    the ephemeral range. Ports there are never handed out by the kernel, so they stay free
    until someone binds them on purpose: for ports bound long after they are chosen (a service
    instance started minutes into a run), where a port of the ephemeral range, free when
    chosen, may meanwhile be the local end of some connection.

    Raises:
        RuntimeError: when no such block was found in `attempts` tries, or none fits.
    """
    low, _ = ephemeral_port_range()
    highest_first = low - count
    if highest_first < lowest:
        raise RuntimeError(f"no room for {count} ports between {lowest} and {low}")
    for _ in range(attempts):
        first = lowest + secrets.randbelow(highest_first - lowest + 1)
        if all(bindable(first + offset) for offset in range(count)):
            return first
    raise RuntimeError(f"no block of {count} free ports found below {low}")


def bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on host:port.

    A connection reset as it opens counts: something listened and accepted it, then let go at
    once (a proxy whose target is not up yet, on another thread, may beat the connect's own
    check of the handshake). A refusal means nothing listens.
    """
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except ConnectionResetError:
        return True
    except OSError:
        return False


@dataclass
class ManagedProcess:
    """A process started by the stack, known by its pid file under the state directory."""

    name: str
    state_dir: Path
    _popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "log" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return None
        except PermissionError:
            return pid
        return pid if not _is_zombie(pid) else None

    def start(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        """Start `argv` detached (own session), output to the log file. Returns the pid."""
        running = self.pid()
        if running is not None:
            return running
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        self._popen = proc  # kept so that stop() reaps it (no zombie, no ResourceWarning)
        self.pid_file.write_text(str(proc.pid))
        return proc.pid

    def stop(self, *, timeout_s: float = 20.0) -> bool:
        """SIGTERM, wait, then SIGKILL. Returns True if something was stopped."""
        return self._end(signal.SIGTERM, timeout_s)

    def kill(self) -> bool:
        """SIGKILL the process group at once (a crash: nothing is flushed). True if it ran."""
        return self._end(signal.SIGKILL, 10.0)

    def _end(self, first: signal.Signals, timeout_s: float) -> bool:
        """Send `first` to the group, wait up to `timeout_s`, then SIGKILL; reap, forget the pid."""
        pid = self.pid()
        if pid is None:
            if self._popen is not None:  # stopped by someone else: still reap our child
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._popen.wait(timeout=5)
                self._popen = None
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, first)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._alive(pid):
            time.sleep(0.05)
        if self._alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self._popen is not None:
            self._popen.wait(timeout=5)
            self._popen = None
        self.pid_file.unlink(missing_ok=True)
        return True

    def pause(self, *, timeout_s: float = 5.0) -> bool:
        """SIGSTOP the process group: it holds its sockets but answers nothing. True if it ran.

        Signals are delivered asynchronously; this returns once the kernel reports the
        leader stopped (or after `timeout_s`), so the caller's fault has begun.
        """
        return self._signal(signal.SIGSTOP, until={"T", "t"}, timeout_s=timeout_s)

    def resume(self, *, timeout_s: float = 5.0) -> bool:
        """SIGCONT after `pause`, returning once the leader runs again. True if it ran."""
        return self._signal(signal.SIGCONT, until={"R", "S", "D"}, timeout_s=timeout_s)

    def _signal(self, sig: signal.Signals, *, until: set[str], timeout_s: float) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout_s
        while _state(pid) not in until and time.monotonic() < deadline:
            time.sleep(0.01)
        return True

    @staticmethod
    def _alive(pid: int) -> bool:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return not _is_zombie(pid)

    def tail(self, lines: int = 20) -> str:
        """The last lines of the log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def _state(pid: int) -> str:
    """The state letter of /proc/<pid>/stat (R, S, D, T, t, Z), or "" when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[0]


def _is_zombie(pid: int) -> bool:
    return _state(pid) == "Z"
