"""`herald-dev fault`: inject a fault into the running local stack by hand.

\b
    herald-dev fault kill router          SIGKILL (a crash: nothing flushed)
    herald-dev fault pause kafka --for 30 SIGSTOP, then SIGCONT after 30 s
    herald-dev fault resume kafka         SIGCONT
    herald-dev fault kill postgres        stop in immediate mode (crash recovery at next start)
    herald-dev fault restart router       start it again and wait until it is ready
    herald-dev fault stop kafka-2         SIGTERM: a graceful stop (a broker hands over first)

Components: every service (`herald-dev status` lists them), `kafka` (on a cluster `kafka-1`,
`kafka-2`, `kafka-3`) and `postgres` (which can be killed and restarted, not paused). What
Herald does meanwhile is in docs/operations.md (Faults) and what it promises in
docs/guarantees.md; `make chaos` and `make cluster` run the same faults under load.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from herald_kafka.admin import wait_until_ready
from rich.console import Console

from herald_devstack.processes import ManagedProcess
from herald_devstack.stack import Stack

fault_app = typer.Typer(help=__doc__, no_args_is_help=True, rich_markup_mode=None)
console = Console()

Component = Annotated[
    str, typer.Argument(help="A service or instance name (router, router-2), kafka or postgres")
]


def _done(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def _refuse(message: str) -> None:
    console.print(f"[red]✗ {message}[/red]")
    raise typer.Exit(1)


def _process(stack: Stack, component: str) -> ManagedProcess:
    """The process behind `component`; exits with the list of names when it is unknown."""
    node = stack.cluster.by_name(component)
    if node is not None:
        return node.process
    try:
        stack.spec(component)  # a service, or one of its instances (router-2)
    except KeyError:
        names = [spec.name for spec in stack.services]
        brokers = ", ".join(n.name for n in stack.cluster.nodes)
        _refuse(
            f"unknown component {component!r}; try {brokers}, postgres, one of {names} or an "
            "instance of one (router-2)"
        )
    return stack.process(component)


@fault_app.command()
def stop(component: Component) -> None:
    """SIGTERM a service or a broker and wait until it exits (a graceful stop)."""
    stack = Stack()
    if component == "postgres":
        if not stack.postgres.stop():
            _refuse("postgres is not running")
        _done("postgres stopped")
        return
    if not _process(stack, component).stop(timeout_s=60):
        _refuse(f"{component} is not running")
    _done(f"{component} stopped (SIGTERM); `herald-dev fault restart {component}` starts it again")


@fault_app.command()
def kill(component: Component) -> None:
    """SIGKILL a service or the broker; stop Postgres in immediate mode."""
    stack = Stack()
    if component == "postgres":
        if not stack.postgres.stop("immediate"):
            _refuse("postgres is not running")
        _done("postgres stopped in immediate mode")
        return
    if not _process(stack, component).kill():
        _refuse(f"{component} is not running")
    _done(f"{component} killed (SIGKILL); `herald-dev fault restart {component}` starts it again")


@fault_app.command()
def pause(
    component: Component,
    seconds: Annotated[
        float | None, typer.Option("--for", help="Resume after this many seconds")
    ] = None,
) -> None:
    """SIGSTOP a service or the broker: it keeps its sockets open and answers nothing."""
    if component == "postgres":
        _refuse("postgres cannot be paused here; use `herald-dev fault kill postgres`")
    process = _process(Stack(), component)
    if not process.pause():
        _refuse(f"{component} is not running")
    _done(f"{component} paused (SIGSTOP)")
    if seconds is not None:
        time.sleep(seconds)
        process.resume()
        _done(f"{component} resumed (SIGCONT) after {seconds:g} s")


@fault_app.command()
def resume(component: Component) -> None:
    """SIGCONT a paused service or broker."""
    if not _process(Stack(), component).resume():
        _refuse(f"{component} is not running")
    _done(f"{component} resumed (SIGCONT)")


@fault_app.command()
def restart(component: Component) -> None:
    """Start a killed component again and wait until it is ready."""
    stack = Stack()
    started = time.monotonic()
    if component == "postgres":
        stack.postgres.start()
    elif (node := stack.cluster.by_name(component)) is not None:
        node.cluster_id = stack.cluster.cluster_id()
        node.start()
        asyncio.run(wait_until_ready(node.client_settings(), timeout_s=120))
    else:
        _process(stack, component)
        try:
            stack.start_service(component)
        except RuntimeError as error:
            _refuse(str(error))
    _done(f"{component} ready ({time.monotonic() - started:.1f}s)")
