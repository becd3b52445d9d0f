"""Unit tests open no sockets (STYLE.md §8): any attempt to connect fails the test.

`socket.socket.connect`, `connect_ex` and `socket.create_connection` raise
`NetworkAccessInUnitTest`. The error is not an `OSError`, so code that treats a failed connect
as "broker down, retry" does not quietly absorb it. Every attempt is also recorded, and the test
fails at teardown even if something swallowed the error. `socket.socketpair` is left alone:
asyncio's event loop uses it for its self-pipe.
"""

from __future__ import annotations

import socket

import pytest


class NetworkAccessInUnitTest(RuntimeError):
    """A unit test tried to open a network connection."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse connections for the test; yields the list of attempts (guard tests clear it)."""
    attempts: list[str] = []

    def refuse(what, address_at):
        def blocked(*args, **kwargs):
            target = args[address_at] if len(args) > address_at else kwargs.get("address")
            attempts.append(f"{what}({target!r})")
            raise NetworkAccessInUnitTest(
                f"unit tests must not open network connections: {what}({target!r}); "
                "move this test to tests/integration"
            )

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.socket.connect", 1))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.socket.connect_ex", 1))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection", 0))
    yield attempts
    if attempts:
        pytest.fail(f"unit test attempted network access: {attempts}", pytrace=False)
