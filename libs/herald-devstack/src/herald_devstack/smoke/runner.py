"""Run a deployment description's processes here, against the local broker and Postgres.

`localize` (pure) turns a `ProcessSpec` into the argv and environment of a local process, and
changes only two things, which docs/deploy.md lists:

- **ports**: the process's HTTP port variable (`HERALD_<SERVICE>_HTTP__PORT`, equal to the
  probed container port, 8080 for every Herald container) becomes a free local port, since
  the containers would all listen on 8080 of their own network namespace;
- **host names**: every described `host:port` (in a URL, a `host:port` list, or a `*_HOST` /
  `*_PORT` pair of variables) and every bare host in a URL or a `*_HOST` variable becomes the
  local address `LocalTarget.hosts` gives it. A host it does not map fails the run
  (`LocalizeError`): that is how a wrong host or a misnamed variable pointing elsewhere shows.

Mechanics a container gives for free are reproduced, not changed: `python` is this
interpreter, a console script (`herald`, `herald-topics`) the one in this virtual
environment; files mounted into the container are written under the process's work directory
and every mention of their in-container path points there; an image directory
(`LocalTarget.paths`, e.g. `/app`) is the checkout. Each process gets only its described
environment, plus PATH, HOME and TMPDIR of its own (as each container has its own /tmp).

`SmokeRun` starts the jobs (each must exit 0), then every service, waits until each answers
its `ready_path`, and `stop_all_with_sigterm` stops them as an orchestrator does, reporting
each exit code and how long it took against the spec's grace period.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from herald_devstack.processes import free_port
from herald_devstack.smoke.model import LocalTarget, ProcessSpec

PYTHONS = re.compile(r"^python(3(\.\d+)?)?$")
HTTP_PORT_VARIABLE = re.compile(r"^HERALD_[A-Z]+_HTTP__PORT$")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# `host:port` anywhere in a value: not glued to a longer name before, a port of 1-5 digits that
# ends there (`user:password@` is not an address).
_HOST_PORT = re.compile(r"(?<![\w.-])(?P<host>[A-Za-z0-9][\w.-]*):(?P<port>\d{1,5})(?![\w.@])")
# A URL's authority without a port: scheme://[user[:password]@]host followed by / ? # or the end.
_URL_HOST = re.compile(
    r"(?P<prefix>[a-z][a-z0-9+.-]*://(?:[^@/\s]*@)?)(?P<host>[A-Za-z0-9][\w.-]*)(?=[/?#,\s]|$)"
)


class LocalizeError(ValueError):
    """A spec names a host the target does not map, or a port its probe does not use."""


class SmokeFailure(RuntimeError):
    """A process of the run exited or was not ready in time; the message has its log's tail."""


def local_file(workdir: Path, container_path: str) -> Path:
    """Where the content of a file mounted at `container_path` is written for the process."""
    return workdir / "files" / container_path.lstrip("/")


def localize(
    spec: ProcessSpec, target: LocalTarget, port: int | None, workdir: Path
) -> tuple[tuple[str, ...], dict[str, str]]:
    """The argv and environment that run `spec` here, listening on `port`. Pure.

    Raises:
        LocalizeError: listing every host `target` does not map (variable or argument, and the
            value), and an HTTP port variable that is not the probed port.
    """
    problems: list[str] = []
    paths = {**target.paths, **{p: str(local_file(workdir, p)) for p in spec.files}}
    env: dict[str, str] = {}
    for key, value in spec.env.items():
        env[key] = _map_hosts(
            _map_paths(value, paths), target.hosts, f"{spec.name}: {key}", problems
        )
    _map_split_pairs(spec.env, env, target.hosts, spec.name, problems)
    if spec.port is not None:
        _override_http_port(spec, env, port, problems)
    args = [
        _map_hosts(_map_paths(arg, paths), target.hosts, f"{spec.name}: argument {i}", problems)
        for i, arg in enumerate(spec.argv)
    ]
    if problems:
        raise LocalizeError("\n".join(problems))
    if args:
        args[0] = _executable(args[0])
    return tuple(args), env


def local_address(text: str, target: LocalTarget) -> str:
    """`text` (a URL an operator would use with the description, say) with its hosts mapped
    as `localize` maps a variable's. Pure.

    Raises:
        LocalizeError: when it names a host `target` does not map.
    """
    problems: list[str] = []
    mapped = _map_hosts(text, target.hosts, "address", problems)
    if problems:
        raise LocalizeError("\n".join(problems))
    return mapped


def _executable(command: str) -> str:
    """`python` is this interpreter; a console script is the one beside it; anything else is
    left alone (an absolute path mapped by `LocalTarget.paths` already)."""
    if PYTHONS.match(command):
        return sys.executable
    script = Path(sys.executable).parent / command
    return str(script) if "/" not in command and script.exists() else command


def _map_paths(value: str, paths: Mapping[str, str]) -> str:
    """`value` with every in-container path of `paths` (the longest first) replaced in one
    pass, so a local path put in is never mapped again (a mounted file lands under the work
    directory, which may itself be under a mapped folder such as `/tmp`)."""
    if not paths:
        return value
    alternatives = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    pattern = rf"(?<![\w/.-])(?:{alternatives})(?=/|$|[\s,;:=])"
    return re.sub(pattern, lambda match: paths[match[0]], value)


def _map_hosts(value: str, hosts: Mapping[str, str], where: str, problems: list[str]) -> str:
    """`value` with every `host:port` and every URL's port-less host mapped; the unmapped
    ones added to `problems`."""

    def host_port(match: re.Match[str]) -> str:
        described = f"{match['host']}:{match['port']}"
        if described in hosts:
            return match[0].replace(described, hosts[described])
        problems.append(f"{where}={value!r}: {described} is not mapped to a local address")
        return match[0]

    def url_host(match: re.Match[str]) -> str:
        host = match["host"]
        if host in hosts:
            return match["prefix"] + hosts[host]
        problems.append(f"{where}={value!r}: host {host!r} is not mapped to a local address")
        return match[0]

    return _URL_HOST.sub(url_host, _HOST_PORT.sub(host_port, value))


def _map_split_pairs(
    described: Mapping[str, str],
    env: dict[str, str],
    hosts: Mapping[str, str],
    name: str,
    problems: list[str],
) -> None:
    """`X_HOST` (with its `X_PORT`, when there is one) names an address in two variables:
    map the pair when `hosts` maps `host:port`, else the bare host."""
    for key, host in described.items():
        if not key.endswith("HOST") or not host or ":" in host or "/" in host:
            continue
        port_key = key.removesuffix("HOST") + "PORT"
        pair = f"{host}:{described.get(port_key, '')}"
        if port_key in described and pair in hosts and not HTTP_PORT_VARIABLE.match(port_key):
            env[key], _, env[port_key] = hosts[pair].rpartition(":")
        elif host in hosts:
            env[key] = hosts[host].rpartition(":")[0] if ":" in hosts[host] else hosts[host]
        else:
            problems.append(f"{name}: {key}={host!r} is not mapped to a local address")


def _override_http_port(
    spec: ProcessSpec, env: dict[str, str], port: int | None, problems: list[str]
) -> None:
    keys = [key for key in spec.env if HTTP_PORT_VARIABLE.match(key)]
    if not keys:
        problems.append(
            f"{spec.name}: no HERALD_<SERVICE>_HTTP__PORT variable; its probes use port {spec.port}"
        )
    for key in keys:
        if spec.env[key] != str(spec.port):
            problems.append(f"{spec.name}: {key}={spec.env[key]!r} but its probes use {spec.port}")
        elif port is not None:
            env[key] = str(port)


# --- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopResult:
    """How a process ended after SIGTERM: its exit code (negative: the signal that killed it)
    and the seconds it took, against its grace period."""

    name: str
    exit_code: int
    seconds: float
    grace_s: float

    @property
    def within_grace(self) -> bool:
        return self.seconds <= self.grace_s

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and self.within_grace


@dataclass
class _Running:
    spec: ProcessSpec
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None


@dataclass
class SmokeRun:
    """The processes of `specs`, run here against `target`, each in its own directory under
    `workdir`. `service_addresses` maps more described addresses to the service answering
    there (`"api:8080" -> "api"`, the published `"127.0.0.1:8081" -> "api"`): they become
    that service's local address once its port is chosen.

    `check_env`, when given, lists what is wrong with a spec's environment before anything
    starts (tests/support/settings_names.py: a variable the service does not read, i.e. a
    misnamed one, which pydantic-settings would ignore silently). `cwd` is where the processes
    run: the checkout, as the image's WORKDIR holds the same layout.

    Use as a context manager: `start()` on entry, every process killed on exit.
    """

    specs: Sequence[ProcessSpec]
    target: LocalTarget
    workdir: Path
    service_addresses: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    check_env: Callable[[ProcessSpec], list[str]] | None = None
    job_timeout_s: float = 180.0
    ready_timeout_s: float = 180.0
    progress: Callable[[str], None] = lambda line: None
    ports: dict[str, int] = field(default_factory=dict, init=False)
    _running: dict[str, _Running] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        names = [spec.name for spec in self.specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names repeat: {names}")
        unknown = sorted(set(self.service_addresses.values()) - set(names))
        if unknown:
            raise ValueError(f"service_addresses name unknown services {unknown}")

    def __enter__(self) -> SmokeRun:
        try:
            self.start()
        except BaseException:
            self.kill_all()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill_all()

    @property
    def local_target(self) -> LocalTarget:
        """The target with every service's described addresses pointing at its local port."""
        local = {
            address: f"127.0.0.1:{self.ports[name]}"
            for address, name in self.service_addresses.items()
            if name in self.ports
        }
        return replace(self.target, hosts={**self.target.hosts, **local})

    def url(self, name: str, path: str = "") -> str:
        """The local URL of service `name`'s HTTP port."""
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def localized(self) -> list[tuple[ProcessSpec, tuple[str, ...], dict[str, str]]]:
        """Every spec with its local argv and environment (ports chosen on first call).

        Raises:
            LocalizeError: every problem of every spec, at once.
        """
        for spec in self.specs:
            if spec.port is not None and spec.name not in self.ports:
                self.ports[spec.name] = _free_port_not_in(set(self.ports.values()))
        target = self.local_target
        out, problems = [], []
        for spec in self.specs:
            problems += self.check_env(spec) if self.check_env else []
            try:
                argv, env = localize(spec, target, self.ports.get(spec.name), self._dir(spec))
            except LocalizeError as error:
                problems.append(str(error))
                continue
            out.append((spec, argv, env))
        if problems:
            raise LocalizeError(
                "the description names what this machine cannot run:\n" + "\n".join(problems)
            )
        return out

    def start(self) -> None:
        """Run every job to completion, then start every service and wait until each is ready.

        Raises:
            LocalizeError: before anything starts, when a spec cannot be localized.
            SmokeFailure: when a job fails or a service exits or is not ready in time.
        """
        plan = self.localized()
        for spec, argv, env in (p for p in plan if p[0].job):
            started = time.monotonic()
            running = self._launch(spec, argv, env)
            try:
                code = running.popen.wait(timeout=self.job_timeout_s)
            except subprocess.TimeoutExpired:
                raise SmokeFailure(
                    self._tail(running, f"job {spec.name} still runs after {self.job_timeout_s:g}s")
                ) from None
            if code != 0:
                raise SmokeFailure(self._tail(running, f"job {spec.name} exited {code}"))
            self.progress(f"job {spec.name} done ({time.monotonic() - started:.1f}s)")
        services = [self._launch(spec, argv, env) for spec, argv, env in plan if not spec.job]
        for running in services:
            self._wait_ready(running)

    def _dir(self, spec: ProcessSpec) -> Path:
        return self.workdir / spec.name

    def _launch(self, spec: ProcessSpec, argv: tuple[str, ...], env: Mapping[str, str]) -> _Running:
        home = self._dir(spec)
        for path, content in spec.files.items():
            local = local_file(home, path)
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(content)
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        log = home / "log.txt"
        system = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
        }
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env={**system, **env},
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        running = _Running(spec, popen, log, self.ports.get(spec.name))
        self._running[spec.name] = running
        return running

    def _wait_ready(self, running: _Running) -> None:
        spec = running.spec
        url = f"http://127.0.0.1:{running.port}{spec.ready_path}"
        started = time.monotonic()
        deadline = started + self.ready_timeout_s
        while not _http_ok(url):
            code = running.popen.poll()
            if code is not None:
                raise SmokeFailure(
                    self._tail(running, f"{spec.name} exited {code} before {url} was ready")
                )
            if time.monotonic() > deadline:
                raise SmokeFailure(
                    self._tail(
                        running, f"{spec.name}: {url} not ready after {self.ready_timeout_s:g}s"
                    )
                )
            time.sleep(0.2)
        self.progress(f"{spec.name} ready on {url} ({time.monotonic() - started:.1f}s)")

    @staticmethod
    def _tail(running: _Running, headline: str, lines: int = 40) -> str:
        try:
            text = running.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return f"{headline}\n--- {running.log} (last {lines} lines) ---\n" + "\n".join(text)

    def alive(self) -> dict[str, bool]:
        """Each started service: still running?"""
        return {n: r.popen.poll() is None for n, r in self._running.items() if not r.spec.job}

    def log(self, name: str) -> str:
        return self._running[name].log.read_text(errors="replace")

    def stop_all_with_sigterm(self) -> list[StopResult]:
        """SIGTERM every running service at once, as `docker compose down` or a rollout does,
        and wait for each up to its grace period (then SIGKILL, as they would). Returns each
        one's exit code and time to exit, in start order."""
        started = time.monotonic()
        services = [r for r in self._running.values() if not r.spec.job and r.popen.poll() is None]
        for running in services:
            with contextlib.suppress(ProcessLookupError):
                running.popen.send_signal(signal.SIGTERM)
        exited: dict[str, tuple[int, float]] = {}
        while len(exited) < len(services):
            now = time.monotonic() - started
            for running in services:
                name = running.spec.name
                if name in exited:
                    continue
                code = running.popen.poll()
                if code is None and now > running.spec.grace_s:
                    _kill_group(running.popen)  # as the orchestrator would, after the grace
                    code = running.popen.wait()
                if code is not None:
                    exited[name] = (code, now)
            time.sleep(0.05)
        results = [StopResult(r.spec.name, *exited[r.spec.name], r.spec.grace_s) for r in services]
        return results

    def kill_all(self) -> None:
        """SIGKILL whatever still runs (after a failure or a test's end)."""
        for running in self._running.values():
            if running.popen.poll() is None:
                _kill_group(running.popen)
                running.popen.wait()


def _kill_group(popen: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)


def _free_port_not_in(taken: set[int]) -> int:
    while (port := free_port()) in taken:
        pass
    return port


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except OSError:
        return False
