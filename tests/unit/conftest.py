"""The machinery of the two unit-test guards (docs/contributing.md); the tests are in
`test_import_boundary.py`.

No network: an autouse fixture makes `socket.socket.connect`, `connect_ex` and
`socket.create_connection` raise `NetworkAccessInUnitTest`. The error is not an `OSError`, so
code that treats a failed connect as "broker down, retry" does not quietly absorb it. Every
attempt is also recorded, and the test fails at teardown even if something swallowed the error.
`socket.socketpair` is left alone: asyncio's event loop uses it for its self-pipe.

Import boundary: the `core_import_probe` fixture runs a fresh interpreter that imports every
`herald_core` module and reports which I/O packages got loaded. Those imports take about a
second, so the probe is started as soon as collection is over, when a selected test asks for
it, and the tests that wait for it run last: it runs beside all the other tests (the unit suite
must stay well under 5 s).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

IO_PACKAGES = ("aiokafka", "aiohttp", "asyncpg")
PROBE_CONTROL = "asyncpg"  # the cheapest of the three to import

PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    io_packages = set(sys.argv[1].split(","))
    def loaded():
        return sorted(m for m in sys.modules if m.split(".")[0] in io_packages)
    import herald_core
    modules = ["herald_core"]
    modules += [m.name for m in pkgutil.walk_packages(herald_core.__path__, "herald_core.")]
    for name in modules:
        importlib.import_module(name)
    core = loaded()
    importlib.import_module(sys.argv[2])  # the control: the probe does see an import
    print(json.dumps({"io_packages": sorted(io_packages), "modules": modules, "core": core,
                      "control": loaded(), "origin": herald_core.__file__}))
    """
)

_PROBE = pytest.StashKey[subprocess.Popen]()
_PROBE_OUTPUT = pytest.StashKey[tuple[int, str, str]]()


class NetworkAccessInUnitTest(RuntimeError):
    """A unit test tried to open a network connection."""


_ATTEMPTS: list[str] = []  # the refused connects of the running test


def _refuse(what: str, address_at: int):
    def blocked(*args, **kwargs):
        target = args[address_at] if len(args) > address_at else kwargs.get("address")
        _ATTEMPTS.append(f"{what}({target!r})")
        raise NetworkAccessInUnitTest(
            f"unit tests must not open network connections: {what}({target!r}); "
            "move this test to tests/integration"
        )

    return blocked


@pytest.fixture(scope="module", autouse=True)
def _network_refused():
    """Refuse connections for every test of the module. Patched once per module rather than per
    test: a per-test fixture costs more than most unit tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse("socket.socket.connect", 1))
        patch.setattr(socket.socket, "connect_ex", _refuse("socket.socket.connect_ex", 1))
        patch.setattr(socket, "create_connection", _refuse("socket.create_connection", 0))
        yield


@pytest.fixture
def no_network() -> list[str]:
    """This test's refused connects, for the guard tests (which clear it)."""
    return _ATTEMPTS


def pytest_runtest_setup(item):
    _ATTEMPTS.clear()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """A test fails at teardown if it tried to connect, even if something swallowed the error."""
    if _ATTEMPTS:
        attempts = list(_ATTEMPTS)
        _ATTEMPTS.clear()
        pytest.fail(f"unit test attempted network access: {attempts}", pytrace=False)


def _start_probe() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", PROBE, ",".join(IO_PACKAGES), PROBE_CONTROL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _waits_for_probe(item) -> bool:
    return "core_import_probe" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the tests that wait for the probe last, so that it runs beside all the others."""
    items.sort(key=_waits_for_probe)  # stable: every other test keeps its place


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    if any(_waits_for_probe(item) for item in session.items):
        session.config.stash[_PROBE] = _start_probe()


def pytest_sessionfinish(session):
    probe = session.config.stash.get(_PROBE, None)
    if probe is not None and probe.returncode is None:  # never waited for: interrupted run
        probe.kill()
        probe.communicate()


@pytest.fixture
def core_import_probe(request):
    """What a fresh interpreter loaded: {"io_packages", "modules", "core", "control", "origin"}.

    `modules` are the herald_core modules it imported (found with pkgutil.walk_packages),
    `core` the I/O-package modules loaded after importing them, `control` the same after also
    importing PROBE_CONTROL.
    """
    output = request.config.stash.get(_PROBE_OUTPUT, None)
    if output is None:
        probe = request.config.stash.get(_PROBE, None) or _start_probe()
        request.config.stash[_PROBE] = probe
        stdout, stderr = probe.communicate(timeout=60)
        output = request.config.stash[_PROBE_OUTPUT] = (probe.returncode, stdout, stderr)
    returncode, stdout, stderr = output
    assert returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])
