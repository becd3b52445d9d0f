"""Run a platform's own JavaScript client (an npm package pinned in a folder) against Herald.

Interop tests keep one folder per client: `package.json` pinning the package exactly, its
`package-lock.json`, and a program that drives the client and prints one line per step.
`NodeClient.run` makes sure `npm ci` installed the pinned version (once per session), then
runs the program with Node as a child process, so the test's event loop keeps serving the
in-process API meanwhile. Node and npm are required: without them the test FAILS (no skip).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

NPM_CI_TIMEOUT_S = 300
RUN_TIMEOUT_S = 90


@dataclass
class NodeClient:
    """The pinned npm `package` in `folder`, driven by `folder/program`."""

    folder: Path
    package: str
    label: str
    """What the client is, for messages ("the Scalingo JavaScript client")."""
    program: str = "interop.mjs"
    _installed: bool = field(default=False, init=False)

    def pinned_version(self) -> str:
        manifest = json.loads((self.folder / "package.json").read_text())
        return str(manifest["dependencies"][self.package])

    def installed_version(self) -> str | None:
        manifest = self.folder / "node_modules" / self.package / "package.json"
        if not manifest.is_file():
            return None
        return str(json.loads(manifest.read_text())["version"])

    def tool(self, name: str) -> str:
        found = shutil.which(name)
        if found is None:
            pytest.fail(
                f"`{name}` is not on PATH: the interop test of {self.label} needs Node.js (20+)"
                " and npm; install them (e.g. apt-get install nodejs npm)",
                pytrace=False,
            )
        return found

    def npm_ci(self) -> str | None:
        """Run `npm ci` unless the pinned client is there; None, or what went wrong."""
        if self.installed_version() == self.pinned_version():
            return None
        proc = subprocess.run(
            [self.tool("npm"), "ci", "--no-audit", "--no-fund"],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            return (
                f"npm ci in {self.folder} failed (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}"
            )
        if self.installed_version() != self.pinned_version():
            return (
                f"npm ci left {self.package} {self.installed_version()} in {self.folder},"
                f" want {self.pinned_version()}"
            )
        return None

    async def ensure(self) -> str:
        """The node binary, with the pinned client installed (npm ci at most once)."""
        node = self.tool("node")
        self.tool("npm")
        if not self._installed:
            failure = await asyncio.to_thread(self.npm_ci)
            if failure is not None:
                pytest.fail(failure, pytrace=False)
            self._installed = True
        return node

    async def run(self, *args: str, env: dict[str, str]) -> tuple[int, str]:
        """Run the program with `args` and `env` added to ours; (exit code, report).

        The report is "exit N" then the program's stdout and stderr (`stdout_lines` reads it).
        Secrets go through `env`, never argv.
        """
        node = await self.ensure()
        proc = await asyncio.create_subprocess_exec(
            node,
            str(self.folder / self.program),
            *args,
            cwd=self.folder,
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            out, err = await proc.communicate()
            return -1, f"timed out after {RUN_TIMEOUT_S}s\n{streams(out, err)}"
        code = proc.returncode if proc.returncode is not None else -1
        return code, f"exit {code}\n{streams(out, err)}"


def streams(out: bytes, err: bytes) -> str:
    return f"--- stdout\n{out.decode()}--- stderr\n{err.decode()}"


def stdout_lines(report: str) -> list[str]:
    """The program's stdout lines in a `NodeClient.run` report."""
    return report.split("--- stdout\n", 1)[1].split("--- stderr\n", 1)[0].splitlines()
