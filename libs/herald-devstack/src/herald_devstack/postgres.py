"""A real PostgreSQL server from the machine's packages, run under a data directory of ours.

We use Debian's (or any distribution's) `postgresql` package and start it with initdb/pg_ctl
on `state_dir/postgres`: no system service, no root needed. PostgreSQL refuses to run as root, so
when we are root (CI, containers) every server command runs as the `postgres` system user that the
package creates, and the state directory is handed to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresSetupError(RuntimeError):
    """The server could not be found, initialised or started; the message says why."""


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if not candidates:
        raise PostgresSetupError(
            "PostgreSQL server binaries not found (apt-get install postgresql)"
        )
    return Path(candidates[-1]).parent


@dataclass
class PostgresNode:
    """One server on 127.0.0.1:`port`: a `herald` superuser and database, trust auth, loopback.

    `durable` (the default, what `make up` runs) keeps PostgreSQL's crash safety: an
    acknowledged commit survives a crash of the machine. Test fixtures turn it off (no fsync,
    no synchronous commit, no full-page writes): their data lives for one session.
    """

    state_dir: Path
    port: int = 15432
    user: str = "herald"
    database: str = "herald"
    durable: bool = True

    def __post_init__(self) -> None:
        if not _IDENTIFIER.match(self.database) or not _IDENTIFIER.match(self.user):
            raise PostgresSetupError("user and database names must be plain SQL identifiers")

    @property
    def home(self) -> Path:
        return self.state_dir / "postgres"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", "postgres", "--", *argv]

    def _run(self, argv: list[str], what: str) -> str:
        result = subprocess.run(self._as_owner(argv), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresSetupError(
                f"{what} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
            )
        return result.stdout

    def _hand_over(self) -> None:
        """As root, give the state directory to the postgres user; make its path traversable."""
        if os.geteuid() != 0:
            return
        entry = pwd.getpwnam("postgres")
        for path in [self.home, *self.home.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in self.home.parents:
            if parent == Path("/"):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)

    def prepare(self) -> None:
        """initdb once: UTF-8, a `herald` superuser, trust auth (loopback only)."""
        if (self.data / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "run").mkdir(exist_ok=True)
        self._hand_over()
        self._run(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                *([] if self.durable else ["--no-sync"]),
            ],
            "initdb",
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and self._status() == 0

    def _status(self) -> int:
        return subprocess.run(
            self._as_owner([str(_bin_dir() / "pg_ctl"), "-D", str(self.data), "status"]),
            capture_output=True,
            check=False,
        ).returncode

    def start(self, *, timeout_s: float = 60) -> float:
        """Start (if needed), create the database, and return the seconds it took."""
        started = time.monotonic()
        self.prepare()
        if not self.running():
            options = f"-p {self.port} -k {self.home / 'run'} -c listen_addresses=127.0.0.1"
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                [
                    str(_bin_dir() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.home / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout_s)),
                    "start",
                ],
                "pg_ctl start",
            )
        self._ensure_database()
        return time.monotonic() - started

    def _psql(self, sql: str, database: str = "postgres") -> str:
        return self._run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-tAc",
                sql,
            ],
            "psql",
        )

    def _ensure_database(self) -> None:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"  # noqa: S608 - checked name
        exists = self._psql(query).strip()
        if exists != "1":
            self._psql(f'CREATE DATABASE "{self.database}"')

    def stop(self, mode: Literal["smart", "fast", "immediate"] = "fast") -> bool:
        """Stop the server; `immediate` is a crash as far as the data is concerned (recovery at
        the next start), as a killed machine would leave it."""
        if not (self.data / "postmaster.pid").exists():
            return False
        self._run(
            [str(_bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            "pg_ctl stop",
        )
        return True

    def reset(self) -> None:
        if (self.data / "PG_VERSION").exists():
            with contextlib.suppress(PostgresSetupError):
                self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
