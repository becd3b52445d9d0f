"""`herald-dev`: run Herald's whole stack locally, without Docker.

\b
    herald-dev up        start Kafka, Postgres, the SMTP and webhook sinks and every service
                         (`--brokers 3`: a three-node Kafka cluster, the topics' prod profile)
    herald-dev status    what runs where
    herald-dev scale     run N instances of a service: herald-dev scale router=3
    herald-dev demo      send an event through the real path and show the webhook it produced
    herald-dev notifier  add, list and remove notifiers through the config API
    herald-dev fault     kill, pause, resume or restart a service, the broker or Postgres
    herald-dev dashboards  write the Grafana dashboards' JSON (`--check`: fail if it drifted)
    herald-dev helm-files  write the Helm chart's generated files (`--check`: fail if drifted)
    herald-dev down      stop everything (data is kept); `reset` also deletes it
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from herald_core.settings import KafkaSettings
from herald_core.topics import CONFIG_NOTIFIERS
from herald_kafka.reader import AssignedReader
from herald_kafka.topics import apply_file
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from herald_devstack import dashboards as grafana_dashboards
from herald_devstack import helm_files
from herald_devstack.admin import (
    DEFAULT_OWNER,
    ApiProblem,
    ApiUnreachable,
    ConfigApi,
    notifier_body,
    post_event,
    problem_errors,
    sample_event,
)
from herald_devstack.fault_cli import fault_app
from herald_devstack.http_sink import read_requests
from herald_devstack.instances import parse_scale
from herald_devstack.smtp_sink import read_messages
from herald_devstack.stack import DevSettings, KafkaSecurity, Stack

app = typer.Typer(help=__doc__, no_args_is_help=True, rich_markup_mode=None)
notifier_app = typer.Typer(
    help="Add, list and remove notifiers through the config API (the local stack's by default).",
    no_args_is_help=True,
)
app.add_typer(notifier_app, name="notifier")
app.add_typer(fault_app, name="fault")
console = Console()


def _progress(message: str) -> None:
    console.print(f"[green]✓[/green] {message}")


def _fail(error: Exception) -> NoReturn:
    console.print(f"[red]✗ {error}[/red]")
    raise typer.Exit(1)


@app.command()
def up(
    infra_only: Annotated[
        bool, typer.Option(help="Start Kafka, Postgres and the sinks, not the services")
    ] = False,
    kafka_security: Annotated[
        KafkaSecurity | None,
        typer.Option(
            help="How every service reaches Kafka: plaintext, or sasl_ssl (SCRAM-SHA-512 over "
            "TLS, a local CA, on HERALD_DEV_KAFKA_SECURE_PORT). Default: HERALD_DEV_KAFKA_SECURITY,"
            " else what the last `up` used, else plaintext",
        ),
    ] = None,
    scale: Annotated[
        str,
        typer.Option(
            metavar="SERVICE=N,…",
            help="Instances per service, e.g. router=2,sender-webhook=3 (instance k ≥ 2 is "
            "named <service>-<k>, on its own port of the instance block). Default: "
            "HERALD_DEV_SCALE (JSON), else one each",
        ),
    ] = "",
    brokers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=9,
            help="Kafka nodes, each broker and controller: 1, or 3 for a cluster (node i on "
            "HERALD_DEV_KAFKA_PORT + 10 * (i - 1); topics with the prod profile: 3 replicas, "
            "min ISR 2). Default: HERALD_DEV_BROKERS, else what the last `up` used, else 1",
        ),
    ] = None,
    prometheus: Annotated[
        bool | None,
        typer.Option(
            help="Run Prometheus (built by `make install`) scraping every service and "
            "evaluating deploy/prometheus/rules, on HERALD_DEV_PROMETHEUS_PORT (19090). "
            "Default: HERALD_DEV_PROMETHEUS, else on",
        ),
    ] = None,
) -> None:
    """Start the local stack (whatever is not running yet) and print where each part listens."""
    told: dict[str, object] = {}
    if kafka_security is not None:
        told["kafka_security"] = kafka_security
    if brokers is not None:
        told["brokers"] = brokers
    if prometheus is not None:
        told["prometheus"] = prometheus
    settings = DevSettings(**told) if told else None  # type: ignore[arg-type]
    stack = _scaled_stack(settings, scale)
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


def _scaled_stack(settings: DevSettings | None, scale: str) -> Stack:
    """The local stack at `scale` (`router=2,…`); a bad scale exits with a clear error."""
    try:
        counts = parse_scale(scale)
    except ValueError as error:
        console.print(f"[red]✗ --scale: {escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    try:
        return Stack(settings, scale=counts)
    except (RuntimeError, ValueError) as error:  # an unknown service, a home of other brokers
        console.print(f"[red]✗ {escape(str(error))}[/red]")
        raise typer.Exit(2) from None


@app.command()
def scale(
    counts: Annotated[
        str, typer.Argument(metavar="SERVICE=N,…", help="e.g. router=3 or router=1,recorder=2")
    ],
) -> None:
    """Run N instances of a running stack's service: start the missing ones and wait until
    they are ready, stop the highest-numbered extra ones (they drain and commit)."""
    stack = _scaled_stack(None, "")
    try:
        wanted = parse_scale(counts)
        for service, count in wanted.items():
            stack.scale_to(service, count, progress=_progress)
    except ValueError as error:
        console.print(f"[red]✗ {escape(str(error))}[/red]")
        raise typer.Exit(2) from None
    except RuntimeError as error:
        _fail(error)


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


class TopicsAction(StrEnum):
    APPLY = "apply"


@app.command()
def topics(
    action: Annotated[
        TopicsAction, typer.Argument(help="apply (the only action, and the default)")
    ] = TopicsAction.APPLY,
    dry_run: Annotated[bool, typer.Option(help="Print the plan, change nothing")] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            help="The topic file's profile: dev (one replica) or prod (three, min ISR 2) "
            "[default: prod on 3 brokers or more, else dev]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or update the topics of deploy/topics.yaml on the local broker(s)."""
    stack = Stack()
    chosen = profile or stack.topic_profile
    try:
        plan = asyncio.run(apply_file(stack.kafka_settings(), dry_run=dry_run, profile=chosen))
    except ValueError as error:
        _fail(error)
    _progress(
        f"{chosen} profile: created {len(plan.created)}, grown {len(plan.grown)}, "
        f"reconfigured {len(plan.reconfigured)}, unchanged {len(plan.unchanged)}"
    )
    for warning in plan.warnings:
        console.print(f"[yellow]! {escape(warning)}[/yellow]")


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


ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="HERALD_DEV_API_URL",
        help="The config API [default: the local stack's, http://127.0.0.1:$HERALD_DEV_API_PORT]",
        show_default=False,
    ),
]
ApiToken = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="HERALD_DEV_API_ADMIN_TOKEN",
        help="A bearer token of the API [default: the local admin token `make up` prints]",
        show_default=False,
    ),
]
AppOption = Annotated[str, typer.Option("--app", help="The app's id")]


def _config_api(api_url: str | None, token: str | None) -> ConfigApi:
    stack = Stack()
    return ConfigApi(api_url or stack.api_url, token or stack.settings.api_admin_token)


def _api_failed(error: ApiUnreachable | ApiProblem) -> NoReturn:
    console.print(f"[red]✗ {escape(str(error))}[/red]")
    if isinstance(error, ApiProblem):
        for line in problem_errors(error.problem):
            console.print(f"  [red]•[/red] {escape(line)}")
    raise typer.Exit(1)


def _notifier_table(notifiers: list[dict[str, Any]]) -> Table:
    table = Table("id", "name", "platform", "events", "active", "webhook_url")
    for n in notifiers:
        events = "all" if n.get("send_all_events") else ", ".join(n.get("selected_event_ids", []))
        table.add_row(
            n["id"],
            escape(str(n.get("name", ""))),
            n.get("platform_id", ""),
            escape(events or "none"),
            "yes" if n.get("active") else "no",
            escape(str(n.get("type_data", {}).get("webhook_url", ""))),
        )
    return table


@notifier_app.command("add")
def notifier_add(
    app_id: AppOption,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", metavar="TYPE", help="An event type to send (repeat the option for several)"
        ),
    ] = None,
    send_all: Annotated[
        bool, typer.Option("--send-all", help="Send every event type (send_all_events)")
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="The webhook URL [default: the local webhook sink, /<app>]"
        ),
    ] = None,
    platform: Annotated[
        str,
        typer.Option(
            help="The platform id: webhook, slack, mattermost, discord… (the sink"
            " stands in for any of them locally)"
        ),
    ] = "webhook",
    name: Annotated[str | None, typer.Option(help="[default: '<platform> for <app>']")] = None,
    owner: Annotated[
        str, typer.Option(help="The owner an app gets when it has to be registered")
    ] = DEFAULT_OWNER,
    api_url: ApiUrl = None,
    token: ApiToken = None,
) -> None:
    """Create a notifier through the config API, registering the app first if it is new.

    \b
    A thin client of the API, as any other:
      GET  /v1/apps/<app>             and, when it is 404, PUT /v1/apps/<app> (owner --owner)
      POST /v1/apps/<app>/notifiers   in Scalingo's shape
    so the notifier is stored in Postgres, shows in the API and reaches the router through the
    API's outbox. Example:
      herald-dev notifier add --app my-app --event app_deployed --event app_crashed
    """
    if not event and not send_all:
        console.print("[red]✗ say what to send: --event <type> (repeatable) or --send-all[/red]")
        raise typer.Exit(2)
    api = _config_api(api_url, token)
    body = notifier_body(
        platform=platform,
        url=url or f"{Stack().webhook_sink_url}/{app_id}",
        events=event or [],
        send_all=send_all,
        name=name or f"{platform} for {app_id}",
    )
    try:
        registered = api.ensure_app(app_id, owner)
        created = api.create_notifier(app_id, body)
    except (ApiUnreachable, ApiProblem) as error:
        _api_failed(error)
    if registered is not None:
        _progress(f"app {app_id} registered (owner {registered.get('owner_id', owner)})")
    _progress(f"notifier {created['id']} created for app {app_id} through {api.base_url}")
    console.print(_notifier_table([created]))


@notifier_app.command("list")
def notifier_list(app_id: AppOption, api_url: ApiUrl = None, token: ApiToken = None) -> None:
    """List an app's notifiers (GET /v1/apps/<app>/notifiers)."""
    try:
        notifiers = _config_api(api_url, token).notifiers(app_id)
    except (ApiUnreachable, ApiProblem) as error:
        _api_failed(error)
    console.print(_notifier_table(notifiers))


@notifier_app.command("remove")
def notifier_remove(
    notifier_id: Annotated[str, typer.Argument(help="The notifier's id")],
    app_id: AppOption,
    api_url: ApiUrl = None,
    token: ApiToken = None,
) -> None:
    """Delete a notifier (DELETE /v1/apps/<app>/notifiers/<id>)."""
    try:
        _config_api(api_url, token).delete_notifier(app_id, notifier_id)
    except (ApiUnreachable, ApiProblem) as error:
        _api_failed(error)
    _progress(f"notifier {notifier_id} removed")


@app.command()
def event(
    app_id: Annotated[str, typer.Option("--app")],
    event_type: Annotated[str, typer.Option("--type")] = "app_deployed",
    data: Annotated[str | None, typer.Option(help="type_data as JSON")] = None,
    owner: Annotated[str, typer.Option(help="The event's owner_id")] = DEFAULT_OWNER,
) -> None:
    """Post one event to ingest and print its answer."""
    event = sample_event(app_id, event_type, json.loads(data) if data else None, owner_id=owner)
    stack = Stack()
    status_code, body = post_event(stack.ingest_url, event, stack.settings.ingest_token)
    console.print(f"HTTP {status_code}")
    console.print_json(json.dumps(body))


async def config_published(kafka: KafkaSettings, notifier_id: str, *, timeout_s: float) -> bool:
    """Whether the notifier's record is on `notify.config.notifiers` within `timeout_s`."""
    key = notifier_id.encode()
    async with AssignedReader(kafka, [CONFIG_NOTIFIERS], start="beginning") as reader:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=200)
            if any(r.key == key for records in batches.values() for r in records):
                return True
    return False


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the webhook")] = 30.0,
    api_url: ApiUrl = None,
    token: ApiToken = None,
) -> None:
    """Send one deployment through ingest → router → sender and show the webhook it produced.

    The notifier is created through the config API (a new app, a webhook to the local sink).
    """
    stack = Stack()
    api = _config_api(api_url, token)
    app_id = f"demo-{int(time.time())}"
    url = f"{stack.webhook_sink_url}/{app_id}"
    body = notifier_body(
        platform="webhook", url=url, events=["app_deployed"], send_all=False, name="demo webhook"
    )
    try:
        api.ensure_app(app_id, DEFAULT_OWNER)
        notifier = api.create_notifier(app_id, body)
    except (ApiUnreachable, ApiProblem) as error:
        _api_failed(error)
    _progress(f"notifier {notifier['id']} for app {app_id} → {url} (through the config API)")
    # The API's outbox publishes the notifier asynchronously, and the router applies it as it
    # reads the topic: wait for the record itself, then give the router its moment.
    kafka = stack.kafka_settings("herald-dev")
    if not asyncio.run(config_published(kafka, notifier["id"], timeout_s=timeout)):
        _fail(RuntimeError(f"the notifier was not published within {timeout}s; see `logs api`"))
    time.sleep(0.5)
    status_code, answer = post_event(
        stack.ingest_url, sample_event(app_id, "app_deployed"), stack.settings.ingest_token
    )
    if status_code != 202:
        _fail(RuntimeError(f"ingest answered {status_code}: {answer}"))
    _progress(f"event {answer['id']} accepted (HTTP 202)")
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
            f"no webhook within {timeout}s; see `herald-dev logs api`, `router` and"
            " `sender-webhook`"
        )
    )


@app.command()
def dashboards(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the files differ")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="[default: deploy/grafana/dashboards]", show_default=False),
    ] = None,
) -> None:
    """Write Herald's Grafana dashboards (herald_devstack.dashboards) as JSON, or check them."""
    folder = out or grafana_dashboards.default_dashboard_dir()
    if check:
        drifted = grafana_dashboards.drift(folder)
        if drifted:
            for line in grafana_dashboards.drift_report(folder, drifted):
                console.print(escape(line), highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        _progress(f"the dashboards under {folder} match the generator")
        return
    changed = grafana_dashboards.generate(folder)
    _progress(f"{len(changed)} dashboard file(s) written under {folder}")
    for name in changed:
        console.print(f"  {name}", highlight=False)


@app.command("helm-files")
def helm_files_command(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if the files differ")
    ] = False,
) -> None:
    """Write the Helm chart's generated files (dashboards, files/topics.json), or check them."""
    chart = helm_files.default_chart_dir()
    if check:
        drifted = helm_files.drift(chart)
        if drifted:
            for line in drifted:
                console.print(escape(line), highlight=False)
            console.print("run `herald-dev helm-files` to regenerate them", highlight=False)
            raise typer.Exit(1)
        _progress(f"the generated files of {chart} match their sources")
        return
    changed = helm_files.write(chart)
    _progress(f"{len(changed)} file(s) written under {chart}")
    for name in changed:
        console.print(f"  {name}", highlight=False)


def main() -> None:
    # aiokafka logs each refused connection while the broker boots; progress lines say enough.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    app()
