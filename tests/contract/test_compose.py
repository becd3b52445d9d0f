"""docker-compose.yml, the Dockerfile and the Prometheus config, checked without Docker.

No Docker engine runs on the build machines (docs/decisions.md), so nothing ever starts this
stack here. Instead:

- the compose file is validated against the Compose Specification's JSON Schema, as vendored by
  the `check-jsonschema` package (`--builtin-schema vendor.compose-spec`, nothing downloaded);
- every service package (`services/*/src/herald_*`) must be run by a compose service (through the
  image's entry point, `herald <command>`) that waits for topic-init, has a /readyz healthcheck,
  reads only its own `HERALD_<SERVICE>_` variables and is scraped by Prometheus; a new service
  without a compose entry fails here; a sender runs for every channel docs/channels.md lists;
- no credential is written in the file: each is `${VAR:?...}` from `.env`, and `.env.example`
  lists every variable; ingest requires producer tokens; e-mail unsubscribe links point at the
  API's published port; Grafana gets the provisioning and dashboards where they say;
- topic-init must apply the topic file that the Dockerfile copies into the image, to a broker
  that can host it (one node: replication factor 1, no auto-created topics).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import tomllib
from itertools import pairwise
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from dotenv import dotenv_values
from herald_core.topics import Channel, load_topic_file
from herald_devstack.smoke.compose import dockerfile_instructions
from herald_devstack.stack import CHAT_CHANNELS
from herald_runtime.entrypoint import UnknownCommand, command_for

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ENV_EXAMPLE = ROOT / ".env.example"
GRAFANA_PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
TOPIC_FILE = "deploy/topics.yaml"  # relative to the repository root and to the build context

KAFKA = "kafka"
TOPIC_INIT = "topic-init"
SENDER_MODULE = "herald_sender"
SENDER_CHANNELS = {"webhook", "email", *(str(c) for c in CHAT_CHANNELS)}  # docs/channels.md
PROCESS_WIDE = {"herald_api": {"HERALD_UNSUBSCRIBE_SECRET"}}  # unprefixed, read by the module
VALIDATOR = "check-jsonschema==0.39.0"


def _load_yaml(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        # Safe loading, by libyaml (PyYAML's own parser takes eight times as long); it resolves
        # anchors and `<<` merges, as Compose does.
        document = yaml.load(handle, Loader=yaml.CSafeLoader)
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def _words(value: Any) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value or []]


def _argv(service: dict[str, Any]) -> list[str]:
    """The process a compose service starts: its entrypoint (else the image's) and command."""
    if "entrypoint" in service:
        entrypoint = _words(service["entrypoint"])
    else:
        entrypoint = _words(json.loads(next(a for k, a in _dockerfile() if k == "ENTRYPOINT")))
    return entrypoint + _words(service.get("command"))


def _option(argv: list[str], name: str) -> str | None:
    return next((value for flag, value in pairwise(argv) if flag == name), None)


def _resolved(argv: list[str]) -> list[str]:
    """`argv` with the image's `herald <command>` entry point replaced by what it execs."""
    if argv and argv[0] == "herald":
        try:
            return command_for(argv[1:], python="python")
        except UnknownCommand:
            return argv
    return argv


def _module(argv: list[str]) -> str | None:
    """`herald_x` for `herald x ...` or `python -m herald_x ...` (a service package), else None."""
    module = _option(_resolved(argv), "-m")
    return module if module in MODULES else None


def _env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def _prefix(module: str) -> str:
    return f"HERALD_{module.removeprefix('herald_').upper()}_"


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    return dockerfile_instructions(DOCKERFILE.read_text())


def _copy(arguments: str) -> tuple[str | None, list[str], str]:
    """A COPY's (`--from` stage or None for the build context, sources, destination)."""
    words = arguments.split()
    stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    *sources, dest = [w for w in words if not w.startswith("--")]
    return stage, sources, dest


def _image_paths() -> dict[str, PurePosixPath]:
    """Where the final stage of the Dockerfile holds each path COPY'd from the build context."""
    stages: dict[str, dict[str, PurePosixPath]] = {}
    current: dict[str, PurePosixPath] = {}
    workdir = PurePosixPath("/")
    for keyword, arguments in _dockerfile():
        if keyword == "FROM":
            current, workdir = {}, PurePosixPath("/")
            stages[arguments.split()[-1]] = current  # `FROM image AS name`
        elif keyword == "WORKDIR":
            workdir = workdir / arguments
        elif keyword == "COPY":
            stage, sources, dest = _copy(arguments)
            for src in sources:
                origin = stages.get(stage, {}) if stage else None  # {}: an external image
                current |= _copied(src, workdir / dest, dest.endswith("/"), origin)
    return current


def _copied(
    src: str, target: PurePosixPath, into: bool, stage: dict[str, PurePosixPath] | None
) -> dict[str, PurePosixPath]:
    if stage is None:  # from the build context
        is_file = (ROOT / src).is_file()
        return {src.rstrip("/"): target / PurePosixPath(src).name if into and is_file else target}
    base = PurePosixPath(src)  # from an earlier stage: carry what it holds under `src`
    return {k: target / v.relative_to(base) for k, v in stage.items() if v.is_relative_to(base)}


MODULES = sorted(p.name for p in ROOT.glob("services/*/src/herald_*") if p.is_dir())
COMPOSE = _load_yaml(COMPOSE_FILE)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
JOBS = {  # what others wait for to complete: topic-init, migrate
    target
    for s in SERVICES.values()
    for target, rule in (s.get("depends_on") or {}).items()
    if isinstance(rule, dict) and rule.get("condition") == "service_completed_successfully"
}
HERALD_SERVICES = {
    name: module
    for name, s in SERVICES.items()
    if name not in JOBS and (module := _module(_argv(s))) is not None
}


@pytest.fixture(scope="module")
def kafka_env() -> dict[str, str]:
    return _env(SERVICES[KAFKA])


@pytest.fixture(scope="module")
def internal_bootstrap(kafka_env: dict[str, str]) -> str:
    """`host:port` the broker advertises to the other containers."""
    listener = kafka_env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    advertised = dict(
        item.split("://") for item in kafka_env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    )
    return advertised[listener]


# --- The Compose Specification ------------------------------------------------------------


def _validate(path: Path) -> Result:
    """check-jsonschema's own command line, run in this process through click's test runner (a
    fresh interpreter for each file cost about a second apiece)."""
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.fail(f"the Compose validator is not installed: add {VALIDATOR} to the dev group")
    from check_jsonschema import main  # only here: the rest of this module runs without it

    return CliRunner().invoke(main, ["--builtin-schema", "vendor.compose-spec", str(path)])


def test_compose_file_conforms_to_the_compose_specification() -> None:
    result = _validate(COMPOSE_FILE)
    assert result.exit_code == 0, (result.output, result.exception)


def test_the_validator_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  web:\n    image: herald:dev\n    helthcheck: {test: [CMD, 'true']}\n"
        "    depends_on: {db: {condition: service_done}}\n"
    )
    result = _validate(broken)
    assert result.exit_code == 1, (result.output, result.exception)  # 1: invalid, not a crash
    assert "helthcheck" in result.stdout
    assert "service_done" in result.stdout


def test_references_between_services_volumes_and_files_resolve() -> None:
    declared_volumes = set(COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for target in service.get("depends_on") or {}:
            assert target in SERVICES, f"{name} depends on unknown service {target}"
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"
        if "build" in service:
            context = service["build"]
            context = context if isinstance(context, str) else context["context"]
            assert (ROOT / context / "Dockerfile").is_file(), f"{name}: no Dockerfile in {context}"


# --- Every Herald service ------------------------------------------------------------------


def test_service_packages_are_discovered() -> None:
    assert {"herald_ingest", "herald_router", SENDER_MODULE} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_service_package_runs_in_compose(module: str) -> None:
    running = [name for name, m in HERALD_SERVICES.items() if m == module]
    assert running, f"no service in docker-compose.yml runs {module} (`herald <command>`)"


def test_a_sender_runs_for_each_deployed_channel() -> None:
    channels = {
        _option(_argv(SERVICES[name]), "--channel")
        for name, module in HERALD_SERVICES.items()
        if module == SENDER_MODULE
    }
    assert channels <= {str(c) for c in Channel}, f"unknown channel in {channels}"
    assert channels == SENDER_CHANNELS


@pytest.mark.parametrize("name", sorted(HERALD_SERVICES))
def test_herald_service_waits_for_topic_init(name: str) -> None:
    depends_on = SERVICES[name].get("depends_on") or {}
    assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
    condition = (depends_on.get(TOPIC_INIT) or {}).get("condition")
    assert condition == "service_completed_successfully"


@pytest.mark.parametrize("name", sorted(HERALD_SERVICES))
def test_herald_service_env_uses_its_own_prefix(name: str) -> None:
    prefix = _prefix(HERALD_SERVICES[name])
    env = _env(SERVICES[name])
    assert env, f"{name} sets no environment"
    own = PROCESS_WIDE.get(HERALD_SERVICES[name], set())
    strays = sorted(key for key in env if not key.startswith(prefix) and key not in own)
    assert not strays, f"{name} runs {HERALD_SERVICES[name]}, which reads only {prefix}*"


@pytest.mark.parametrize("name", sorted(HERALD_SERVICES))
def test_herald_service_listens_reaches_kafka_and_logs_json(
    name: str, internal_bootstrap: str
) -> None:
    prefix = _prefix(HERALD_SERVICES[name])
    env = _env(SERVICES[name])
    assert env.get(f"{prefix}KAFKA__BOOTSTRAP_SERVERS") == internal_bootstrap
    assert env.get(f"{prefix}HTTP__HOST") == "0.0.0.0"
    assert env.get(f"{prefix}HTTP__PORT", "").isdigit()
    assert env.get(f"{prefix}LOG__JSON") == "true"


def _http_port(name: str) -> str:
    return _env(SERVICES[name])[f"{_prefix(HERALD_SERVICES[name])}HTTP__PORT"]


@pytest.mark.parametrize("name", sorted(HERALD_SERVICES))
def test_herald_service_healthcheck_hits_readyz_on_its_port(name: str) -> None:
    healthcheck = SERVICES[name].get("healthcheck") or {}
    assert not healthcheck.get("disable"), f"{name} has no healthcheck"
    test = healthcheck.get("test") or []
    probe = test if isinstance(test, str) else " ".join(test)
    assert re.search(rf"http://(127\.0\.0\.1|localhost):{_http_port(name)}/readyz\b", probe), probe


def test_ingest_is_published_on_8080() -> None:
    published = [str(p) for p in SERVICES["ingest"].get("ports") or []]
    assert any(p.endswith(":8080:8080") or p == "8080:8080" for p in published), published
    assert _http_port("ingest") == "8080"


# --- Topics and the broker -----------------------------------------------------------------


def test_topic_init_applies_the_topic_file_in_the_image(internal_bootstrap: str) -> None:
    topic_init = SERVICES[TOPIC_INIT]
    argv = _argv(topic_init)
    assert argv[:3] == ["herald", "topics", "apply"]
    assert _resolved(argv)[1:4] == ["-m", "herald_kafka.topics", "apply"]
    assert _option(argv, "--file") == str(_image_paths()[TOPIC_FILE])
    assert _option(argv, "--bootstrap-servers") == internal_bootstrap
    assert topic_init["depends_on"][KAFKA]["condition"] == "service_healthy"
    assert topic_init.get("restart") == "no"
    env = dict(w.split("=", 1) for k, a in _dockerfile() if k == "ENV" for w in a.split())
    assert env["HERALD_TOPIC_FILE"] == str(_image_paths()[TOPIC_FILE])


def test_the_image_installs_its_entry_point() -> None:
    scripts: dict[str, str] = {}
    for pyproject in ROOT.glob("*/*/pyproject.toml"):
        scripts |= tomllib.loads(pyproject.read_text())["project"].get("scripts", {})
    assert scripts["herald"] == "herald_runtime.entrypoint:main"
    entrypoints = [a for k, a in _dockerfile() if k == "ENTRYPOINT"]
    assert [json.loads(a) for a in entrypoints] == [["herald"]]


def test_every_topic_fits_the_broker(kafka_env: dict[str, str]) -> None:
    brokers = len(kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
    specs = load_topic_file(ROOT / TOPIC_FILE)
    assert specs
    assert max(s.replication_factor for s in specs) <= brokers


def test_kafka_is_a_single_kraft_node_without_auto_created_topics(
    kafka_env: dict[str, str],
) -> None:
    assert SERVICES[KAFKA]["image"].startswith("apache/kafka:")
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kafka_env['KAFKA_NODE_ID']}@kafka:9093"
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka_env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    single = {
        key: value
        for key, value in kafka_env.items()
        if key.endswith(("_REPLICATION_FACTOR", "_MIN_ISR", "_MIN_INSYNC_REPLICAS"))
    }
    assert {
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    } <= set(single)
    assert set(single.values()) == {"1"}, single
    assert SERVICES[KAFKA].get("healthcheck", {}).get("test")
    assert SERVICES[KAFKA].get("volumes")


# --- The image -----------------------------------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    """Roughly .dockerignore's rule: the last pattern matching the path or a parent decides."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        glob = pattern.removeprefix("!").strip("/")
        if any(fnmatch.fnmatch(p, g) for p in prefixes for g in (glob, glob.removeprefix("**/"))):
            ignored = not pattern.startswith("!")
    return ignored


def test_dockerfile_copies_only_files_that_reach_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copies = [_copy(arguments) for keyword, arguments in _dockerfile() if keyword == "COPY"]
    for source in (src for stage, sources, _ in copies if stage is None for src in sources):
        if not any(ch in source for ch in "*?["):  # a wildcard may match nothing
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not _ignored(source.rstrip("/"), patterns), f"COPY {source}: in .dockerignore"
    assert TOPIC_FILE in _image_paths()


def test_image_runs_unprivileged_from_the_locked_environment() -> None:
    instructions = _dockerfile()
    runs = " ".join(a for k, a in instructions if k == "RUN")
    assert "uv sync --frozen --no-dev" in runs
    users = [a for k, a in instructions if k == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(k == "FROM" for k, _ in instructions[1:]), "build and runtime are separate stages"


# --- Prometheus ----------------------------------------------------------------------------


def test_prometheus_reads_the_config_file() -> None:
    mounts = [str(v) for v in SERVICES["prometheus"].get("volumes") or []]
    assert any(m.startswith("./deploy/prometheus/prometheus.yml:") for m in mounts), mounts


@pytest.mark.parametrize("name", sorted(HERALD_SERVICES))
def test_prometheus_scrapes_herald_service(name: str) -> None:
    scrape_configs = _load_yaml(PROMETHEUS_FILE)["scrape_configs"]
    target = f"{name}:{_http_port(name)}"
    jobs = [
        job
        for job in scrape_configs
        for static in job.get("static_configs") or []
        if target in static.get("targets", [])
    ]
    assert jobs, f"no scrape job in {PROMETHEUS_FILE.name} has target {target}"
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in jobs)


# --- Secrets, ingest, links, Grafana, the webhook sink ---------------------------------------

CREDENTIALS = re.compile(r"(PASSWORD|SECRET|TOKEN|TOKENS)$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _raw_env_lines() -> list[tuple[str, str]]:
    """(key, raw value) of every `KEY: value` line of the file, before any interpolation."""
    pairs = []
    for line in COMPOSE_FILE.read_text().splitlines():
        match = re.match(r"\s+([A-Z][A-Z0-9_]*):\s*(.*)$", line)
        if match:
            pairs.append((match[1], match[2]))
    return pairs


def test_no_credential_is_written_in_the_compose_file() -> None:
    credentials = [(k, v) for k, v in _raw_env_lines() if CREDENTIALS.search(k)]
    assert len(credentials) >= 6, credentials
    for key, value in credentials:
        assert re.fullmatch(r"\$\{[A-Z_]+:\?set [A-Z_]+ in \.env\}", value), (key, value)
    urls = [v for k, v in _raw_env_lines() if "postgresql://" in v]
    assert all("${POSTGRES_PASSWORD:?" in v for v in urls), urls


def test_env_example_lists_every_variable_the_file_reads() -> None:
    lines = COMPOSE_FILE.read_text().splitlines()
    read = {
        v for line in lines if not line.lstrip().startswith("#") for v in _VARIABLE.findall(line)
    }
    read |= {str(s["environment"]) for s in (COMPOSE.get("secrets") or {}).values()}
    example = dotenv_values(ENV_EXAMPLE)
    assert read == set(example), read ^ set(example)
    assert all(example.values())


def test_env_files_stay_out_of_git_and_the_image() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    ignored = DOCKERIGNORE.read_text().split()
    assert ".env" in ignored
    assert ".env.example" in ignored


def test_ingest_requires_producer_tokens_from_a_secret() -> None:
    env = _env(SERVICES["ingest"])
    assert "HERALD_INGEST_AUTH__OPEN" not in env
    token_file = env["HERALD_INGEST_AUTH__TOKEN_FILE"]
    secrets = SERVICES["ingest"]["secrets"]
    assert token_file in {f"/run/secrets/{name}" for name in secrets}
    assert COMPOSE["secrets"]["ingest-tokens"] == {"environment": "HERALD_INGEST_TOKENS"}


def _published_host_port(name: str) -> str:
    """`127.0.0.1:8081` for `127.0.0.1:8081:8080` (the service's HTTP port)."""
    published = [str(p) for p in SERVICES[name].get("ports") or []]
    ours = [p.rsplit(":", 1)[0] for p in published if p.endswith(f":{_http_port(name)}")]
    assert len(ours) == 1, published
    return ours[0] if ours[0].count(":") == 1 else f"127.0.0.1:{ours[0]}"


def test_email_links_point_at_the_apis_published_port() -> None:
    """The e-mail sender's unsubscribe links open the API where a browser reaches it."""
    public_url = _env(SERVICES["api"])["HERALD_API_PUBLIC_URL"]
    assert public_url == f"http://{_published_host_port('api')}"
    assert _env(SERVICES["sender-email"])["HERALD_SENDER_SMTP__UNSUBSCRIBE_BASE_URL"] == public_url


def test_the_migrate_job_runs_before_the_database_users() -> None:
    migrate = SERVICES["migrate"]
    assert _resolved(_argv(migrate))[1:] == ["-m", "herald_api", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "recorder"):
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert _env(SERVICES["api"])["HERALD_API_MIGRATE_ON_START"] == "false"


def test_grafana_is_pinned_and_provisioned_as_the_files_say() -> None:
    grafana = SERVICES["grafana"]
    image, _, tag = grafana["image"].partition(":")
    assert image == "grafana/grafana"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), tag
    mounts = dict(str(v).split(":")[:2] for v in grafana["volumes"])
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    dashboards = _load_yaml(GRAFANA_PROVISIONING / "dashboards" / "herald.yaml")
    path = dashboards["providers"][0]["options"]["path"]
    assert mounts["./deploy/grafana/dashboards"] == path
    assert list((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
    datasource = _load_yaml(GRAFANA_PROVISIONING / "datasources" / "prometheus.yaml")
    prometheus_port = str(SERVICES["prometheus"]["ports"][0]).rsplit(":", 1)[1]
    assert datasource["datasources"][0]["url"] == f"http://prometheus:{prometheus_port}"


def test_the_webhook_sink_is_on_the_webhook_senders_loopback() -> None:
    sink = SERVICES["webhook-sink"]
    argv = _resolved(_argv(sink))
    assert argv[1:3] == ["-m", "herald_devstack.http_sink"]
    assert sink["network_mode"] == "service:sender-webhook"
    assert _option(argv, "--host") == "127.0.0.1"
    assert _option(argv, "--port") != _http_port("sender-webhook")
    assert _env(SERVICES["sender-webhook"])["HERALD_SENDER_ALLOW_LOOPBACK_TARGETS"] == "true"
    assert _env(SERVICES["api"])["HERALD_API_ALLOW_LOOPBACK_TARGETS"] == "true"
