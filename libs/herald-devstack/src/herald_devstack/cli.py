"""`herald-dev`: run Herald's whole stack locally, without Docker.

\b
    herald-dev up        start Kafka, Postgres, the SMTP and webhook sinks and every service
    herald-dev status    what runs where
    herald-dev demo      send an event through the real path and show the webhook it produced
    herald-dev down      stop everything (data is kept); `reset` also deletes it
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Annotated

import typer
from herald_kafka.topics import apply_file
from rich.console import Console
from rich.table import Table

from herald_devstack.admin import post_event, put_notifier, sample_event, webhook_notifier
from herald_devstack.http_sink import read_requests
from herald_devstack.smtp_sink import read_messages
from herald_devstack.stack import Stack

app = typer.Typer(help=__doc__, no_args_is_help=True, rich_markup_mode=None)
notifier_app = typer.Typer(
    help="Write notifiers to notify.config.notifiers (until the config API lands)."
)
app.add_typer(notifier_app, name="notifier")
console = Console()


def _progress(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def _fail(error: Exception) -> None:
    console.print(f"[red]✗ {error}[/red]")
    raise typer.Exit(1)


@app.command()
def up(
    infra_only: Annotated[
        bool, typer.Option(help="Start Kafka, Postgres and the sinks, not the services")
    ] = False,
) -> None:
    """Start the local stack (whatever is not running yet) and print where each part listens."""
    stack = Stack()
    console.print(f"starting Herald's local stack in {stack.settings.home} …")
    started = time.monotonic()
    try:
        stack.up(_progress, services=not infra_only)
    except (RuntimeError, OSError) as error:
        _fail(error)
    console.print(
        f"up in {time.monotonic() - started:.1f}s. "
        "Try: herald-dev demo · herald-dev status · herald-dev down"
    )


@app.command()
def down() -> None:
    """Stop every part of the stack (services drain first). Data is kept."""
    Stack().down(_progress)


@app.command()
def reset(yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Stop everything and delete all local data (topics, database, mail, logs)."""
    stack = Stack()
    if not yes:
        typer.confirm(f"Delete {stack.settings.home}?", abort=True)
    stack.reset(_progress)


@app.command()
def status() -> None:
    """Show each component, its address and whether it runs."""
    table = Table("component", "address", "state", "detail")
    for part in Stack().status():
        table.add_row(
            part.name,
            part.address,
            "[green]up[/green]" if part.running else "[red]down[/red]",
            part.detail,
        )
    console.print(table)


@app.command()
def topics(
    dry_run: Annotated[bool, typer.Option(help="Print the plan, change nothing")] = False,
) -> None:
    """Create or update the topics of deploy/topics.yaml on the local broker."""
    plan = asyncio.run(apply_file(Stack().kafka.bootstrap_servers, dry_run=dry_run))
    _progress(
        f"created {len(plan.created)}, grown {len(plan.grown)}, "
        f"reconfigured {len(plan.reconfigured)}, unchanged {len(plan.unchanged)}"
    )


@app.command()
def logs(component: str, lines: Annotated[int, typer.Option("-n")] = 40) -> None:
    """Print the last lines of a component's log (kafka, ingest, router, sender-webhook, …)."""
    console.print(Stack().process(component).tail(lines) or f"no log for {component}")


@app.command()
def mail(last: Annotated[int, typer.Option("-n")] = 10) -> None:
    """List the messages the SMTP sink received."""
    table = Table("date", "from", "to", "subject")
    for message in read_messages(Stack().mail_dir)[-last:]:
        table.add_row(
            str(message["Date"]), str(message["From"]), str(message["To"]), str(message["Subject"])
        )
    console.print(table)


@app.command()
def webhooks(last: Annotated[int, typer.Option("-n")] = 5) -> None:
    """Show the last requests the webhook sink received."""
    for entry in read_requests(Stack().webhook_dir)[-last:]:
        console.print_json(json.dumps(entry))


@notifier_app.command("add")
def notifier_add(
    app_id: Annotated[str, typer.Option("--app", help="App id the notifier watches")],
    url: Annotated[
        str | None, typer.Option(help="Webhook URL (default: the local webhook sink)")
    ] = None,
    event: Annotated[
        list[str] | None, typer.Option(help="Event type to send (repeat); default all")
    ] = None,
    notifier_id: Annotated[str | None, typer.Option("--id")] = None,
) -> None:
    """Add (or replace) an app webhook notifier."""
    stack = Stack()
    notifier = webhook_notifier(
        app_id, url or f"{stack.webhook_sink_url}/{app_id}", event or [], notifier_id=notifier_id
    )
    asyncio.run(put_notifier(stack.kafka.bootstrap_servers, notifier, notifier.id))
    console.print(f"notifier {notifier.id} → {notifier.type_data['webhook_url']}")


@notifier_app.command("remove")
def notifier_remove(notifier_id: str) -> None:
    """Delete a notifier (a tombstone on the compacted topic)."""
    asyncio.run(put_notifier(Stack().kafka.bootstrap_servers, None, notifier_id))
    console.print(f"notifier {notifier_id} removed")


@app.command()
def event(
    app_id: Annotated[str, typer.Option("--app")],
    event_type: Annotated[str, typer.Option("--type")] = "app_deployed",
    data: Annotated[str | None, typer.Option(help="type_data as JSON")] = None,
) -> None:
    """Post one event to ingest and print its answer."""
    status_code, body = post_event(
        Stack().ingest_url, sample_event(app_id, event_type, json.loads(data) if data else None)
    )
    console.print(f"HTTP {status_code}")
    console.print_json(json.dumps(body))


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the webhook")] = 30.0,
) -> None:
    """Send one deployment through ingest → router → sender and show the webhook it produced."""
    stack = Stack()
    app_id = f"demo-{int(time.time())}"
    notifier = webhook_notifier(app_id, f"{stack.webhook_sink_url}/{app_id}", ["app_deployed"])
    asyncio.run(put_notifier(stack.kafka.bootstrap_servers, notifier, notifier.id))
    _progress(f"notifier {notifier.id} for app {app_id} → {notifier.type_data['webhook_url']}")
    time.sleep(1.0)  # the router applies config asynchronously; give it a moment before the event
    status_code, body = post_event(stack.ingest_url, sample_event(app_id, "app_deployed"))
    if status_code != 202:
        _fail(RuntimeError(f"ingest answered {status_code}: {body}"))
    _progress(f"event {body['id']} accepted (HTTP 202)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [r for r in read_requests(stack.webhook_dir) if r["path"] == f"/{app_id}"]
        if hits:
            headers = {k.lower(): v for k, v in dict(hits[0]["headers"]).items()}  # type: ignore[call-overload]
            _progress(f"webhook received, webhook-id {headers.get('webhook-id')}")
            console.print_json(str(hits[0]["body"]))
            return
        time.sleep(0.2)
    _fail(
        RuntimeError(
            f"no webhook within {timeout}s; see `herald-dev logs router` and `sender-webhook`"
        )
    )


def main() -> None:
    # aiokafka logs each refused connection while the broker boots; progress lines say enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
