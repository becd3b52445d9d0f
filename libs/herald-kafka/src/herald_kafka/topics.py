"""`herald-topics`: create or update the topics of the topic file on a broker.

herald-topics apply [--file deploy/topics.yaml] [--profile dev|prod]
                    [--bootstrap-servers 127.0.0.1:19092] [--dry-run]

The profile (`--profile`, else `HERALD_TOPIC_PROFILE`, else the file's `default_profile`, `dev`)
says how every topic is replicated: `dev` one replica, `prod` three with min.insync.replicas=2.

The security settings come from `HERALD_KAFKA_SECURITY_PROTOCOL`, `HERALD_KAFKA_SASL_…` and
`HERALD_KAFKA_SSL_…` (`herald_core.settings.ToolKafkaSettings`, docs/operations.md).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from herald_core.settings import DEFAULT_BOOTSTRAP, KafkaSettings, tool_kafka_settings
from herald_core.topics import load_topic_file

from herald_kafka.admin import TopicPlan, admin_client, apply_topics, wait_until_ready

app = typer.Typer(help="Manage Herald's Kafka topics from the declarative topic file.")


async def apply_file(
    kafka: KafkaSettings,
    path: Path | None = None,
    *,
    dry_run: bool = False,
    timeout_s: float = 60,
    profile: str | None = None,
) -> TopicPlan:
    """Wait for the broker, then apply the topic file to it as `profile` (None: the file's
    default) replicates its topics."""
    specs = load_topic_file(path, profile)
    await wait_until_ready(kafka, timeout_s=timeout_s)
    async with admin_client(kafka) as admin:
        return await apply_topics(admin, specs, dry_run=dry_run)


def _default_file() -> Path | None:
    env = os.environ.get("HERALD_TOPIC_FILE")
    return Path(env) if env else None


@app.command()
def apply(
    file: Annotated[
        Path | None,
        typer.Option(help="Topic file (default: $HERALD_TOPIC_FILE or deploy/topics.yaml)"),
    ] = None,
    bootstrap_servers: Annotated[
        str, typer.Option(envvar="HERALD_KAFKA_BOOTSTRAP_SERVERS", help="Broker to apply to")
    ] = DEFAULT_BOOTSTRAP,
    dry_run: Annotated[bool, typer.Option(help="Print the plan, change nothing")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the broker")] = 60.0,
    profile: Annotated[
        str | None,
        typer.Option(
            envvar="HERALD_TOPIC_PROFILE",
            help="The file's profile: dev (one replica) or prod (three, min ISR 2) "
            "[default: the file's default_profile, dev]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create missing topics, add partitions and set configs. Never deletes anything."""
    try:
        plan = asyncio.run(
            apply_file(
                tool_kafka_settings(bootstrap_servers, "herald-topics"),
                file or _default_file(),
                dry_run=dry_run,
                timeout_s=timeout,
                profile=profile,
            )
        )
    except ValueError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2) from None
    verb = "would " if dry_run else ""
    typer.echo(f"{verb}create {len(plan.created)} topics: {', '.join(plan.created) or '-'}")
    for name, old, new in plan.grown:
        typer.echo(f"{verb}grow {name}: {old} → {new} partitions")
    typer.echo(f"{verb}reconfigure {len(plan.reconfigured)}: {', '.join(plan.reconfigured) or '-'}")
    typer.echo(f"unchanged: {len(plan.unchanged)}")
    for warning in plan.warnings:
        typer.secho(f"warning: {warning}", fg="yellow")


@app.command("list")
def list_topics(
    file: Annotated[Path | None, typer.Option()] = None,
    profile: Annotated[str | None, typer.Option(envvar="HERALD_TOPIC_PROFILE")] = None,
) -> None:
    """Print every topic the file declares, with partitions, replication factor and configs."""
    for spec in load_topic_file(file or _default_file(), profile):
        config = " ".join(f"{k}={v}" for k, v in sorted(spec.config.items()))
        typer.echo(f"{spec.name}\t{spec.partitions}\t{spec.replication_factor}\t{config}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
