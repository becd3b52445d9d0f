"""`herald-ops`: operate a running Herald.

\b
    herald-ops dlq stats                   dead letters by channel and reason
    herald-ops dlq show --channel webhook  the dead letters themselves (secrets never shown)
    herald-ops dlq replay --channel webhook --reason server_error --dry-run
    herald-ops dlq purge --channel webhook

`--channel events` names notify.events.dlq (events ingest refused).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from herald_core.settings import KafkaSettings, tool_kafka_settings
from herald_kafka import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from herald_ops.dlq import DlqFilter, ReplaySummary, describe, dlq_names, dlq_topic, parse_time
from herald_ops.replay import ReplayOptions, collect_stats, purge, read_letters, replay

app = typer.Typer(help=__doc__, no_args_is_help=True, rich_markup_mode=None)
dlq_app = typer.Typer(
    help="Inspect, replay and purge the dead-letter topics (notify.deliveries.<channel>.dlq, "
    "notify.events.dlq).",
    no_args_is_help=True,
)
app.add_typer(dlq_app, name="dlq")
console = Console()
T = TypeVar("T")

Bootstrap = Annotated[
    str,
    typer.Option(
        "--bootstrap-servers", envvar="HERALD_KAFKA_BOOTSTRAP_SERVERS", help="Kafka to talk to"
    ),
]
ChannelOpt = Annotated[
    str, typer.Option("--channel", "-c", help=f"One of: {', '.join(dlq_names())}")
]
ReasonOpt = Annotated[
    list[str] | None,
    typer.Option("--reason", "-r", help="Only this x-dlq-reason (repeatable)"),
]
NotifierOpt = Annotated[str | None, typer.Option("--notifier", help="Only this notifier id")]
SinceOpt = Annotated[
    str | None, typer.Option(help="Dead-lettered at or after: RFC 3339, a date, or 2h (ago)")
]
UntilOpt = Annotated[str | None, typer.Option(help="Dead-lettered before (same forms)")]
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"


def _settings(bootstrap_servers: str) -> KafkaSettings:
    return tool_kafka_settings(bootstrap_servers, "herald-ops")


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; a broker error or a missing topic ends the command with exit code 1."""
    try:
        return asyncio.run(work)
    except (KafkaError, LookupError, OSError) as error:
        console.print(f"[red]✗ {error}[/red]")
        raise typer.Exit(1) from None


def _topic(channel: str) -> str:
    try:
        return dlq_topic(channel)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--channel") from None


def _filter(
    reason: list[str] | None, notifier: str | None, since: str | None, until: str | None
) -> DlqFilter:
    now = datetime.now(UTC)
    try:
        return DlqFilter(
            reasons=frozenset(reason or ()),
            notifier_id=notifier,
            since=parse_time(since, now) if since else None,
            until=parse_time(until, now) if until else None,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@dlq_app.command()
def stats(
    channel: Annotated[
        str | None, typer.Option("--channel", "-c", help="Only this channel (or events)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table")] = False,
    bootstrap_servers: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Count dead letters by channel and reason, with the oldest and newest time."""
    if channel is not None:
        _topic(channel)
    names = [channel] if channel else dlq_names()
    rows = _run(collect_stats(_settings(bootstrap_servers), names))
    if as_json:
        typer.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    table = Table("dlq", "reason", "count", "oldest", "newest", title="dead letters")
    for row in rows:
        table.add_row(
            row.dlq, row.reason, str(row.count), row.oldest.isoformat(), row.newest.isoformat()
        )
    console.print(table if rows else "no dead letters")


@dlq_app.command()
def show(
    channel: ChannelOpt,
    reason: ReasonOpt = None,
    notifier: NotifierOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, help="At most this many")] = 20,
    bootstrap_servers: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Print matching dead letters, oldest first: headers (URLs redacted) and payload ids.

    Payload values are never printed: `type_data` shows its keys only (it holds secrets).
    """
    _topic(channel)
    selection = _filter(reason, notifier, since, until)
    letters = _run(read_letters(_settings(bootstrap_servers), channel, selection, limit))
    for letter in letters:
        console.print_json(json.dumps(describe(letter)))
    console.print(f"{len(letters)} dead letter(s) shown")


def _print_summary(summary: ReplaySummary, target: str) -> None:
    verb = "would replay" if summary.dry_run else "replayed"
    count = summary.matched - sum(summary.skipped.values())
    console.print(
        f"scanned {summary.scanned}, matched {summary.matched}, {verb} "
        f"{count if summary.dry_run else summary.produced} to {target}"
    )
    for why, skipped in sorted(summary.skipped.items()):
        console.print(f"[yellow]skipped {skipped}: {why}[/yellow]")


@dlq_app.command("replay")
def replay_command(
    channel: ChannelOpt,
    reason: ReasonOpt = None,
    notifier: NotifierOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would be replayed, write nothing")] = (
        False
    ),
    rate: Annotated[
        float | None, typer.Option(min=0.1, help="At most this many records per second")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
    bootstrap_servers: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Put matching dead letters back on their deliveries topic (or notify.events) to retry.

    A delivery goes on with the same delivery id (the receiver's idempotency
    key). A refused event is validated again; one still invalid is skipped and counted. The DLQ
    is read up to its end at start and is left as it is (purge it afterwards if you want).
    """
    topic = _topic(channel)
    selection = _filter(reason, notifier, since, until)
    if not (yes or dry_run):
        typer.confirm(f"Replay matching dead letters of {topic}?", abort=True)
    with Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("replay", total=None)
        options = ReplayOptions(
            dry_run=dry_run,
            rate=rate,
            on_total=lambda total: bar.update(task, total=total),
            on_progress=lambda read: bar.advance(task, read),
        )
        summary = _run(replay(_settings(bootstrap_servers), channel, selection, options))
    _print_summary(summary, "notify.events" if channel == "events" else topic[: -len(".dlq")])


@dlq_app.command("purge")
def purge_command(
    channel: ChannelOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
    bootstrap_servers: Bootstrap = DEFAULT_BOOTSTRAP,
) -> None:
    """Delete every dead letter of a DLQ (Kafka delete-records up to the end seen now)."""
    topic = _topic(channel)
    if not yes:
        typer.confirm(f"Delete every record of {topic}? This cannot be undone.", abort=True)
    done = _run(purge(_settings(bootstrap_servers), channel))
    deleted = sum(count for count, _low in done.values())
    console.print(f"[green]✓[/green] deleted {deleted} record(s) from {topic}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
