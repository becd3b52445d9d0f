"""docker-compose.yml read into `ProcessSpec`s: what each Herald container would run.

    doc = load_compose(Path("docker-compose.yml"), dotenv_values(".env"))
    specs = compose_specs(doc, image_config(Path("Dockerfile")))

`load_compose` parses the file as Compose does: YAML anchors and `<<` merge keys resolved, then
`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`
and `$$` interpolated in every string from the given variables (a `.env` file's). A required
variable left unset fails with its own message, as `docker compose` does.

`compose_specs` keeps the services built from the Herald image and leaves out the third-party
containers (`PROVIDED`: Kafka, Postgres, Mailpit, Prometheus, Grafana and the webhook sink),
which the local stack provides. Each spec's argv is the service's entrypoint (else the
image's ENTRYPOINT) followed by its command; its environment the image's ENV, then its
`env_file`s, then its `environment`; its probe port and path come from its `healthcheck`, its
grace from `stop_grace_period` (Compose's default: 10s); a service that another one awaits
with `service_completed_successfully` is a job. Files bind-mounted into it and its Compose
`secrets` (their `file`, or the variable their `environment` names) become the spec's `files`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from herald_devstack.smoke.model import LocalTarget, ProcessSpec

PROVIDED = frozenset({"kafka", "postgres", "mailpit", "prometheus", "grafana", "webhook-sink"})
"""Containers the local stack stands in for: not run from the description."""

COMPOSE_DEFAULT_GRACE_S = 10.0
IMAGE_ROOT = "/app"
"""Where the Dockerfile installs the workspace, in the layout of a checkout."""

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
_PROBE = re.compile(r"http://(?:127\.0\.0\.1|localhost):(?P<port>\d+)(?P<path>/[^\s\"')]*)")
_DURATION = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>h|ms|m|s|us|ns)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


class ComposeError(ValueError):
    """The compose file cannot be read as Compose would, or describes an unrunnable service."""


@dataclass(frozen=True)
class ImageConfig:
    """What the Dockerfile's final stage gives every container: ENTRYPOINT and ENV."""

    entrypoint: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


# --- reading -----------------------------------------------------------------------------------


def interpolate(value: str, variables: Mapping[str, str], where: str = "") -> str:
    """`value` with Compose's `$` syntax replaced from `variables`. Pure.

    Raises:
        ComposeError: for `${VAR:?message}` (or `?`) with VAR unset (or, for `:?`, empty).
    """

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        current = variables.get(name)
        unset_or_empty = not current
        missing = unset_or_empty if op and op.startswith(":") else current is None
        if op in (":-", "-"):
            return arg if missing else str(current)
        if op in (":?", "?"):
            if missing:
                raise ComposeError(f"{where}: required variable {name} is missing: {arg}")
            return str(current)
        if op in (":+", "+"):
            return "" if missing else arg
        return current or ""

    return _VARIABLE.sub(replace, value)


def _interpolated(node: Any, variables: Mapping[str, str], where: str) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables, where)
    if isinstance(node, list):
        return [_interpolated(item, variables, where) for item in node]
    if isinstance(node, dict):
        return {k: _interpolated(v, variables, f"{where}.{k}".lstrip(".")) for k, v in node.items()}
    return node


def load_compose(path: Path, variables: Mapping[str, str | None]) -> dict[str, Any]:
    """The compose file, anchors and merge keys resolved, `variables` interpolated.

    Raises:
        ComposeError: when it is not a mapping or a required variable is missing.
    """
    with path.open() as handle:
        # libyaml's safe loader resolves anchors and `<<` merges, as Compose does.
        document = yaml.load(handle, Loader=yaml.CSafeLoader)
    if not isinstance(document, dict):
        raise ComposeError(f"{path} is not a YAML mapping")
    known = {k: v for k, v in variables.items() if v is not None}
    interpolated: dict[str, Any] = _interpolated(document, known, "")
    return interpolated


def image_config(dockerfile: Path) -> ImageConfig:
    """The final stage's ENTRYPOINT (exec form) and ENV (`KEY=value` pairs; a value that
    refers to another variable, such as PATH's, is left out: the runner sets PATH)."""
    entrypoint: tuple[str, ...] = ()
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions(dockerfile.read_text()):
        if keyword == "FROM":
            entrypoint, env = (), {}
        elif keyword == "ENTRYPOINT":
            entrypoint = tuple(json.loads(arguments))
        elif keyword == "ENV":
            for word in shlex.split(arguments):
                key, _, value = word.partition("=")
                if "$" not in value:
                    env[key] = value
    return ImageConfig(entrypoint, env)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's (INSTRUCTION, arguments) pairs, continuation lines joined and comments
    dropped. Pure."""
    out, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        out.append((keyword.upper(), arguments.strip()))
        pending = ""
    return out


# --- specs -------------------------------------------------------------------------------------


def compose_specs(
    document: Mapping[str, Any],
    image: ImageConfig,
    *,
    project_dir: Path,
    variables: Mapping[str, str | None] | None = None,
    provided: frozenset[str] = PROVIDED,
) -> list[ProcessSpec]:
    """A spec per Herald container of `document` (jobs first, then services, in file order).
    `variables` are those the file was interpolated with: a secret's `environment` reads them.

    Raises:
        ComposeError: for a service without a readiness healthcheck, or a mount or secret
            that cannot be read.
    """
    services: Mapping[str, Any] = document.get("services") or {}
    awaited = {
        target
        for service in services.values()
        for target, rule in _depends_on(service).items()
        if rule.get("condition") == "service_completed_successfully"
    }
    specs = [
        _spec(name, service, image, name in awaited, document, project_dir, variables or {})
        for name, service in services.items()
        if name not in provided and _herald_image(service)
    ]
    return [s for s in specs if s.job] + [s for s in specs if not s.job]


def _herald_image(service: Mapping[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("herald:")


def _depends_on(service: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        return {name: {"condition": "service_started"} for name in depends}
    return {name: dict(rule or {}) for name, rule in depends.items()}


def _words(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _spec(
    name: str,
    service: Mapping[str, Any],
    image: ImageConfig,
    job: bool,
    document: Mapping[str, Any],
    project_dir: Path,
    variables: Mapping[str, str | None],
) -> ProcessSpec:
    entrypoint = (
        _words(service["entrypoint"]) if "entrypoint" in service else list(image.entrypoint)
    )
    argv = (*entrypoint, *_words(service.get("command")))
    env = {**image.env, **_env_files(service, project_dir), **_environment(service)}
    port, ready_path = _probe(name, service, job)
    grace = service.get("stop_grace_period")
    return ProcessSpec(
        name=name,
        argv=argv,
        env=env,
        files=_files(name, service, document, project_dir, variables),
        port=port,
        ready_path=ready_path,
        grace_s=duration_s(str(grace)) if grace is not None else COMPOSE_DEFAULT_GRACE_S,
        job=job,
    )


def _environment(service: Mapping[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(str(item).partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def _env_files(service: Mapping[str, Any], project_dir: Path) -> dict[str, str]:
    entries = service.get("env_file") or []
    env: dict[str, str] = {}
    for entry in [entries] if isinstance(entries, str | dict) else entries:
        path = entry if isinstance(entry, str) else entry["path"]
        required = True if isinstance(entry, str) else entry.get("required", True)
        file = project_dir / path
        if not file.is_file():
            if required:
                raise ComposeError(f"env_file {path} does not exist")
            continue
        env |= {k: v or "" for k, v in dotenv_values(file).items()}
    return env


def _probe(name: str, service: Mapping[str, Any], job: bool) -> tuple[int | None, str]:
    healthcheck = service.get("healthcheck") or {}
    test = " ".join(_words(healthcheck.get("test")))
    match = _PROBE.search(test)
    if match:
        return int(match["port"]), match["path"]
    if job:
        return None, "/readyz"
    raise ComposeError(f"service {name} has no HTTP healthcheck: nothing says when it is ready")


def _files(
    name: str,
    service: Mapping[str, Any],
    document: Mapping[str, Any],
    project_dir: Path,
    variables: Mapping[str, str | None],
) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for volume in service.get("volumes") or []:
        source, _, rest = str(volume).partition(":")
        target = rest.split(":")[0]
        if source.startswith((".", "/")) and (project_dir / source).is_file():
            files[target] = (project_dir / source).read_bytes()
    declared = document.get("secrets") or {}
    for entry in service.get("secrets") or []:
        secret = entry if isinstance(entry, str) else entry["source"]
        given = "" if isinstance(entry, str) else str(entry.get("target", ""))
        target = given if given.startswith("/") else f"/run/secrets/{given or secret}"
        definition = declared.get(secret) or {}
        if "file" in definition:
            files[target] = (project_dir / str(definition["file"])).read_bytes()
        elif "environment" in definition:
            value = variables.get(str(definition["environment"]))
            if not value:
                raise ComposeError(
                    f"{name}: secret {secret} reads ${definition['environment']}, which is not set"
                )
            files[target] = value.encode()
        else:
            raise ComposeError(f"{name}: secret {secret} has neither `file` nor `environment`")
    return files


def duration_s(text: str) -> float:
    """Compose's duration (`30s`, `1m30s`, `1.5s`) in seconds. Pure.

    Raises:
        ComposeError: when `text` is not one.
    """
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(p[0] for p in parts) != text:
        raise ComposeError(f"not a duration: {text!r}")
    return sum(float(p["value"]) * _UNIT_S[p["unit"]] for p in parts)


# --- where things are ---------------------------------------------------------------------------


def service_addresses(document: Mapping[str, Any], specs: Sequence[ProcessSpec]) -> dict[str, str]:
    """The addresses that reach each Herald service: `<name>:<port>` on the compose network
    and each port it publishes on the host (`127.0.0.1:8081` for `127.0.0.1:8081:8080`)."""
    services: Mapping[str, Any] = document.get("services") or {}
    addresses: dict[str, str] = {}
    for spec in specs:
        if spec.port is None:
            continue
        addresses[f"{spec.name}:{spec.port}"] = spec.name
        for published in services[spec.name].get("ports") or []:
            host, container = _published(str(published))
            if container == spec.port and host is not None:
                addresses[host] = spec.name
                if host.startswith("127.0.0.1:"):
                    addresses["localhost:" + host.split(":")[1]] = spec.name
    return addresses


def _published(entry: str) -> tuple[str | None, int | None]:
    """`127.0.0.1:8081:8080` → (`127.0.0.1:8081`, 8080); `8081:8080` → (`127.0.0.1:8081`,
    8080); a bare container port publishes nothing we can name."""
    parts = entry.split("/")[0].split(":")
    if len(parts) == 3:
        return f"{parts[0]}:{parts[1]}", int(parts[2])
    if len(parts) == 2:
        return f"127.0.0.1:{parts[0]}", int(parts[1])
    return None, None


def webhook_sink_address(document: Mapping[str, Any]) -> str:
    """Where compose's webhook sink listens, as the webhook sender sees it: on loopback in the
    sender's network namespace (`network_mode: service:sender-webhook`), on its `--port`.

    Raises:
        ComposeError: when there is no `webhook-sink` service with a `--port`.
    """
    sink = (document.get("services") or {}).get("webhook-sink")
    words = _words((sink or {}).get("command"))
    if "--port" not in words:
        raise ComposeError("no webhook-sink service with a --port in the compose file")
    return f"127.0.0.1:{words[words.index('--port') + 1]}"


def compose_target(
    document: Mapping[str, Any],
    *,
    kafka: str,
    postgres: str,
    smtp: str,
    webhook_sink: str,
    checkout: Path,
) -> LocalTarget:
    """Compose's third-party hosts at the local stack's addresses: the broker (`kafka:9092`),
    Postgres, Mailpit's SMTP port, the webhook sink; `0.0.0.0` (listen everywhere) is
    loopback here, and the image's `/app` the checkout."""
    return LocalTarget(
        hosts={
            "kafka:9092": kafka,
            "postgres:5432": postgres,
            "mailpit:1025": smtp,
            webhook_sink_address(document): webhook_sink,
            "0.0.0.0": "127.0.0.1",  # noqa: S104 - a listen address, mapped to loopback
        },
        paths={IMAGE_ROOT: str(checkout)},
    )
