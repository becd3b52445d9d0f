"""An SMTP sink for local runs and tests: every message received is kept as a file.

    python -m herald_devstack.smtp_sink --port 12525 --dir var/mail

Each message becomes `<dir>/<received-ns>-<n>.eml` (the raw RFC 5322 bytes, with the envelope
sender and recipients as `X-Herald-Mail-From` / `X-Herald-Rcpt-To` headers prepended), so tests
and people read the same thing: `herald-dev mail` lists them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from herald_devstack.signals import wait_for_signal

_counter = itertools.count()


class MaildirHandler:
    """aiosmtpd handler writing each message to a directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        prefix = (
            f"X-Herald-Mail-From: {envelope.mail_from}\r\n"
            f"X-Herald-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        name = f"{time.time_ns()}-{next(_counter)}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(prefix + envelope.original_content)
        tmp.rename(self.directory / name)  # atomic: readers never see half a message
        return "250 Message accepted for delivery"


def read_messages(directory: Path) -> list[EmailMessage]:
    """Every message in the sink, oldest first."""
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.eml"), key=lambda p: p.name)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def start_sink(directory: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start an in-process sink (a thread).

    Pick the port yourself: aiosmtpd's port 0 fails its own self-check.
    """
    controller = Controller(MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12525)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = start_sink(args.dir, args.port, args.host)
    print(f"smtp sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)  # noqa: T201

    try:
        asyncio.run(wait_for_signal())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
