"""Local servers for the sender contract suite (`test_sender_contract.py`), on 127.0.0.1.

`ScriptedSmtp` is an aiosmtpd handler that answers RCPT as scripted per recipient address and
accepts a login with one username and password; the server takes no mail without that login
(over plain SMTP: it allows AUTH without TLS, so the sender's password is really sent and
checked). `stalling_server` accepts TCP
connections and never says a word: an SMTP server that hangs before its greeting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from herald_devstack.processes import free_port


@dataclass
class ScriptedSmtp:
    """Answers RCPT from `rcpt_replies` (address → reply line), else accepts; keeps every RCPT
    address and every message."""

    username: str
    password: str
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    rcpts: list[str] = field(default_factory=list)
    messages: list[tuple[tuple[str, ...], bytes]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        # No mail without the login: proof that the sender used its password. (aiosmtpd's own
        # `auth_required` warns when TLS is not required too, and warnings are errors here.)
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpts.append(address)
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((tuple(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """aiosmtpd's authenticator: the one username and password, nothing else."""
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if ok:
            self.logins.append(self.username)
        return AuthResult(success=ok, handled=False)

    def received_by(self, address: str) -> list[bytes]:
        return [content for rcpt_tos, content in self.messages if address in rcpt_tos]


@contextlib.contextmanager
def smtp_server(handler: ScriptedSmtp) -> Iterator[int]:
    """Run `handler` in an aiosmtpd server on a free port; yields the port."""
    port = free_port()  # aiosmtpd's Controller(port=0) fails its own self-check
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def stalling_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and stays silent until it stops; yields the port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
