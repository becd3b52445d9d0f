"""herald_devstack.smoke: reading docker-compose.yml as Compose does, and `localize`, which
may change only ports and host names; a planted error in the description fails the run before
anything starts, saying what and where."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from herald_devstack.smoke.compose import (
    ComposeError,
    compose_specs,
    compose_target,
    duration_s,
    image_config,
    interpolate,
    load_compose,
    service_addresses,
)
from herald_devstack.smoke.model import LocalTarget, ProcessSpec
from herald_devstack.smoke.runner import LocalizeError, SmokeRun, local_address, localize

from support.settings_names import unknown_settings

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = dotenv_values(ROOT / ".env.example")
WORK = Path("/tmp/smoke-work")
HOSTS = {
    "kafka:9092": "127.0.0.1:1001",
    "postgres:5432": "127.0.0.1:1002",
    "mailpit:1025": "127.0.0.1:1003",
    "127.0.0.1:9000": "127.0.0.1:1004",
    "0.0.0.0": "127.0.0.1",
}


def _spec(env: dict[str, str], **fields: Any) -> ProcessSpec:
    return ProcessSpec(
        **{"name": "svc", "argv": ("herald", "router"), "env": env, "files": {}, "port": 8080}
        | fields
    )


def _document() -> dict[str, Any]:
    return load_compose(ROOT / "docker-compose.yml", VARIABLES)


def _run(document: dict[str, Any]) -> SmokeRun:
    specs = compose_specs(
        document, image_config(ROOT / "Dockerfile"), project_dir=ROOT, variables=VARIABLES
    )
    target = compose_target(
        document,
        kafka=HOSTS["kafka:9092"],
        postgres=HOSTS["postgres:5432"],
        smtp=HOSTS["mailpit:1025"],
        webhook_sink=HOSTS["127.0.0.1:9000"],
        checkout=ROOT,
    )
    return SmokeRun(
        specs,
        target,
        WORK,
        service_addresses=service_addresses(document, specs),
        check_env=unknown_settings,
    )


# --- localize ----------------------------------------------------------------------------------


def test_localize_maps_hosts_ports_files_and_the_interpreter() -> None:
    spec = _spec(
        {
            "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": "kafka:9092,kafka:9092",
            "HERALD_ROUTER_HTTP__HOST": "0.0.0.0",
            "HERALD_ROUTER_HTTP__PORT": "8080",
            "HERALD_ROUTER_DATABASE_URL": "postgresql://u:123@postgres:5432/db",
            "HERALD_ROUTER_KAFKA__SSL_CAFILE": "/etc/herald/ca.pem",
        },
        argv=("python", "-m", "herald_router", "--bootstrap", "kafka:9092"),
        files={"/etc/herald/ca.pem": b"pem"},
    )
    argv, env = localize(spec, LocalTarget(HOSTS), 4242, WORK / "svc")
    assert argv == (sys.executable, "-m", "herald_router", "--bootstrap", "127.0.0.1:1001")
    assert env == {
        "HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1001,127.0.0.1:1001",
        "HERALD_ROUTER_HTTP__HOST": "127.0.0.1",
        "HERALD_ROUTER_HTTP__PORT": "4242",
        "HERALD_ROUTER_DATABASE_URL": "postgresql://u:123@127.0.0.1:1002/db",
        "HERALD_ROUTER_KAFKA__SSL_CAFILE": str(WORK / "svc" / "files" / "etc/herald/ca.pem"),
    }


def test_a_mapped_path_is_not_mapped_again() -> None:
    """A mounted file's local copy lives under the work directory, here under `/tmp`, which is
    itself a mapped folder (an emptyDir): each path is mapped once."""
    spec = _spec(
        {
            "HERALD_ROUTER_HTTP__PORT": "8080",
            "HERALD_ROUTER_TOKEN_FILE": "/etc/herald/tokens",
            "HERALD_ROUTER_DATA_DIR": "/tmp/data",
        },
        files={"/etc/herald/tokens": b"t"},
    )
    target = LocalTarget(HOSTS, paths={"/tmp": "/local/tmp"})
    _, env = localize(spec, target, 4242, WORK / "svc")
    assert env["HERALD_ROUTER_TOKEN_FILE"] == str(WORK / "svc" / "files" / "etc/herald/tokens")
    assert env["HERALD_ROUTER_DATA_DIR"] == "/local/tmp/data"


def test_a_host_and_port_in_two_variables_are_mapped_together() -> None:
    spec = _spec(
        {
            "HERALD_SENDER_HTTP__PORT": "8080",
            "HERALD_SENDER_SMTP__HOST": "mailpit",
            "HERALD_SENDER_SMTP__PORT": "1025",
        }
    )
    _, env = localize(spec, LocalTarget(HOSTS), 4242, WORK)
    assert env["HERALD_SENDER_SMTP__HOST"] == "127.0.0.1"
    assert env["HERALD_SENDER_SMTP__PORT"] == "1003"


def test_a_console_script_is_the_one_of_this_environment() -> None:
    argv, _ = localize(_spec({"HERALD_ROUTER_HTTP__PORT": "8080"}), LocalTarget(HOSTS), 1, WORK)
    assert argv == (str(Path(sys.executable).parent / "herald"), "router")


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVERS", "kafka-0:9092", "kafka-0:9092 is not mapped"),
        ("HERALD_ROUTER_PUBLIC_URL", "http://127.0.0.1:18080", "127.0.0.1:18080 is not mapped"),
        ("HERALD_ROUTER_OTLP_ENDPOINT", "http://collector/v1", "host 'collector' is not mapped"),
        ("HERALD_ROUTER_SMTP__HOST", "mailhog", "SMTP__HOST='mailhog' is not mapped"),
    ],
)
def test_an_unmapped_host_fails_naming_variable_and_host(key: str, value: str, said: str) -> None:
    spec = _spec({"HERALD_ROUTER_HTTP__PORT": "8080", key: value})
    with pytest.raises(LocalizeError, match="svc: ") as error:
        localize(spec, LocalTarget(HOSTS), 1, WORK)
    assert said in str(error.value)
    assert key in str(error.value)


def test_an_http_port_other_than_the_probed_one_fails() -> None:
    with pytest.raises(LocalizeError, match=r"HTTP__PORT='8081' but its probes use 8080"):
        localize(_spec({"HERALD_ROUTER_HTTP__PORT": "8081"}), LocalTarget(HOSTS), 1, WORK)
    with pytest.raises(LocalizeError, match="no HERALD_<SERVICE>_HTTP__PORT variable"):
        localize(_spec({}), LocalTarget(HOSTS), 1, WORK)


def test_local_address_maps_an_operators_url() -> None:
    target = LocalTarget(HOSTS)
    assert local_address("http://127.0.0.1:9000/app", target) == "http://127.0.0.1:1004/app"
    with pytest.raises(LocalizeError, match="9001"):
        local_address("http://127.0.0.1:9001/app", target)


# --- compose -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("$A/x", "a/x"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${A:+yes}", "yes"),
        ("${UNSET:+yes}", ""),
        ("$$A", "$A"),
        ("x${A:?needed}y", "xay"),
    ],
)
def test_interpolation_follows_compose(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected


def test_a_missing_required_variable_fails_with_its_message() -> None:
    variables = {k: v for k, v in VARIABLES.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(ComposeError, match="POSTGRES_PASSWORD is missing: set POSTGRES_PASSWORD"):
        load_compose(ROOT / "docker-compose.yml", variables)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("1.5s", 1.5)])
def test_compose_durations(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


def test_the_compose_file_becomes_herald_processes_only() -> None:
    specs = _run(_document()).specs
    names = [s.name for s in specs]
    assert names[:2] == ["topic-init", "migrate"]  # the jobs first
    assert all(s.job and s.port is None for s in specs[:2])
    assert not {"kafka", "postgres", "mailpit", "prometheus", "grafana", "webhook-sink"} & set(
        names
    )
    assert all(s.argv[0] == "herald" for s in specs)  # the image's ENTRYPOINT
    ingest = next(s for s in specs if s.name == "ingest")
    assert ingest.files == {
        "/run/secrets/ingest-tokens": str(VARIABLES["HERALD_INGEST_TOKENS"]).encode()
    }
    assert ingest.grace_s == 30
    assert ingest.ready_path == "/readyz"


def test_localizing_the_compose_file_changes_only_ports_hosts_and_paths() -> None:
    run = _run(_document())
    changed: set[str] = set()
    for spec, argv, env in run.localized():
        assert env.keys() == spec.env.keys()
        changed |= {k.split("_", 2)[-1] for k in env if env[k] != spec.env[k]}
        assert argv[1:] == tuple(
            a.replace("kafka:9092", HOSTS["kafka:9092"]).replace("/app", str(ROOT))
            for a in spec.argv[1:]
        )
    assert changed == {
        "HTTP__PORT",  # 8080 → a free port
        "HTTP__HOST",  # 0.0.0.0 → 127.0.0.1
        "KAFKA__BOOTSTRAP_SERVERS",
        "DATABASE_URL",
        "SMTP__HOST",
        "SMTP__PORT",
        "PUBLIC_URL",  # the api's published port → its local port
        "SMTP__UNSUBSCRIBE_BASE_URL",  # likewise
        "AUTH__TOKEN_FILE",  # a mounted secret → its local copy
        "FILE",  # HERALD_TOPIC_FILE: /app → the checkout
    }


# --- planted errors: the run fails before anything starts ------------------------------------


def test_a_renamed_variable_fails_the_run() -> None:
    document = copy.deepcopy(_document())
    env = document["services"]["sender-webhook"]["environment"]
    env["HERALD_SENDER_KAFKA_BOOTSTRAP_SERVERS"] = env.pop("HERALD_SENDER_KAFKA__BOOTSTRAP_SERVERS")
    run = _run(document)
    with pytest.raises(LocalizeError) as error, run:  # fails before starting anything
        pytest.fail("the run started")
    assert (
        "sender-webhook: HERALD_SENDER_KAFKA_BOOTSTRAP_SERVERS is not a setting of herald_sender"
        in str(error.value)
    )
    assert run.alive() == {}


def test_a_variable_of_another_service_fails_the_run() -> None:
    document = copy.deepcopy(_document())
    document["services"]["router"]["environment"]["HERALD_SENDER_LOG__JSON"] = "true"
    with pytest.raises(
        LocalizeError,
        match=r"router: HERALD_SENDER_LOG__JSON is not a setting of herald_router "
        r"\(it reads HERALD_ROUTER_\*\)",
    ):
        _run(document).localized()


def test_a_host_that_is_not_mapped_fails_the_run() -> None:
    document = copy.deepcopy(_document())
    document["services"]["sender-email"]["environment"]["HERALD_SENDER_SMTP__HOST"] = "mailhog"
    with pytest.raises(LocalizeError, match="sender-email: HERALD_SENDER_SMTP__HOST='mailhog'"):
        _run(document).localized()


def test_the_old_unsubscribe_url_fails_the_run() -> None:
    """The bug compose had: e-mail links to a port the API does not publish."""
    document = copy.deepcopy(_document())
    env = document["services"]["sender-email"]["environment"]
    env["HERALD_SENDER_SMTP__UNSUBSCRIBE_BASE_URL"] = "http://127.0.0.1:18080"
    with pytest.raises(LocalizeError, match=r"127\.0\.0\.1:18080 is not mapped"):
        _run(document).localized()
