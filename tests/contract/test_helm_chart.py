"""deploy/helm/herald: the chart lints and renders for its three value sets, and what it renders
is what the cluster and Herald's services accept.

- `helm lint` and `helm template` (the pinned Helm `make install` builds, `tool_path("helm")`:
  these tests fail, never skip, without it) for deploy/helm/values/{minimal,production,
  all-channels}.yaml;
- every rendered manifest validates against the Kubernetes schemas of KUBERNETES_VERSION
  (`kubernetes-validate`, strict: an unknown field fails), the Strimzi KafkaTopics, KEDA
  ScaledObjects and ServiceMonitors against the schemas of tests/contract/crd_schemas (subsets
  written by hand; each file says from what);
- values.schema.json refuses a bad value (Helm fails);
- every environment variable a Deployment or hook Job sets is one its program's settings read
  (`herald_core.env_names` of the pydantic settings classes): a misspelt name, which
  pydantic-settings would silently ignore, fails here;
- the chart's generated files (dashboards, files/topics.json) match their sources.

Helm runs as a subprocess without a cluster (`helm template` makes no connection).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from herald_alerter.settings import AlerterSettings
from herald_api.native.unsubscribe_api import UnsubscribeSettings
from herald_api.settings import ApiSettings
from herald_core.deployment import ENV_VARIABLE
from herald_core.env_names import env_names
from herald_core.settings import ToolKafkaSettings
from herald_core.topics import load_topic_file
from herald_derive.settings import DeriveSettings
from herald_devstack import helm_files
from herald_devstack.smoke.helm import process_specs
from herald_devstack.stack import CHAT_CHANNELS
from herald_devstack.tools import tool_path
from herald_ingest.settings import IngestSettings
from herald_recorder.settings import RecorderSettings
from herald_router.settings import RouterSettings
from herald_sender.settings import SenderSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "herald"
VALUES_DIR = ROOT / "deploy" / "helm" / "values"
VALUE_SETS = ("minimal", "production", "all-channels")
CRD_SCHEMAS = Path(__file__).resolve().parent / "crd_schemas"
KUBERNETES_VERSION = "1.34.0"
"""The Kubernetes release whose schemas the manifests must satisfy (kubernetes-validate's)."""
CUSTOM_SCHEMAS = {
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafkatopic-v1beta2.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-v1alpha1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-v1.json",
}
SENDER_CHANNELS = ("webhook", "email", *(c.value for c in CHAT_CHANNELS))
WORKLOADS = ("Deployment", "Job")


# --- rendering -----------------------------------------------------------------------------------
def helm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool_path("helm")), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render_text(value_set: str, *extra: str) -> str:
    done = helm(
        "template", "herald", CHART, "--namespace", "herald", "-f",
        VALUES_DIR / f"{value_set}.yaml", *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@functools.cache
def rendered(value_set: str) -> tuple[dict[str, Any], ...]:
    return tuple(d for d in yaml.safe_load_all(render_text(value_set)) if d)


def of_kind(docs: tuple[dict[str, Any], ...], *kinds: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in kinds]


def containers(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


# --- which settings a container's program reads ---------------------------------------------------
GLOBAL_NAMES = frozenset({ENV_VARIABLE})
PROGRAM_NAMES: dict[tuple[str, ...], frozenset[str]] = {
    ("python", "-m", "herald_api"): env_names(ApiSettings) | env_names(UnsubscribeSettings),
    ("python", "-m", "herald_ingest"): env_names(IngestSettings),
    ("python", "-m", "herald_router"): env_names(RouterSettings),
    ("python", "-m", "herald_derive"): env_names(DeriveSettings),
    ("python", "-m", "herald_alerter"): env_names(AlerterSettings),
    ("python", "-m", "herald_recorder"): env_names(RecorderSettings),
    ("python", "-m", "herald_sender"): env_names(SenderSettings),
    ("herald-api", "migrate"): env_names(ApiSettings),
    ("herald-topics", "apply"): env_names(ToolKafkaSettings)
    | {"HERALD_TOPIC_FILE", "HERALD_TOPIC_PROFILE"},
}


def accepted_names(argv: list[str]) -> frozenset[str]:
    """The variables the program `argv` starts reads (its settings classes', HERALD_ENV)."""
    for program, names in PROGRAM_NAMES.items():
        if tuple(argv[: len(program)]) == program:
            return names | GLOBAL_NAMES
    raise AssertionError(f"no settings known for the program {argv}")


def unread_env_names(docs: tuple[dict[str, Any], ...]) -> list[str]:
    """`<workload>/<container>: <NAME>` for every variable set that its program does not read."""
    unread = []
    for doc in of_kind(docs, *WORKLOADS):
        for container in containers(doc):
            argv = [*container.get("command", []), *container.get("args", [])]
            accepted = accepted_names(argv)
            for variable in container.get("env", []):
                if variable["name"].upper() not in accepted:
                    unread.append(
                        f"{doc['metadata']['name']}/{container['name']}: {variable['name']}"
                    )
    return unread


# --- lint and render -----------------------------------------------------------------------------
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_passes(value_set: str) -> None:
    done = helm("lint", "--strict", CHART, "-f", VALUES_DIR / f"{value_set}.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_validates(value_set: str) -> None:
    docs = rendered(value_set)
    assert len(of_kind(docs, "Deployment")) >= 8
    problems = []
    for doc in docs:
        custom = CUSTOM_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            if custom:
                schema = json.loads((CRD_SCHEMAS / custom).read_text())
                jsonschema.validate(doc, schema)
            else:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            problems.append(f"{where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{where}: no schema for {doc['apiVersion']} {doc['kind']}")
    assert problems == []


def test_the_validators_can_fail() -> None:
    """A misspelt Deployment field and a KafkaTopic without partitions' type are refused."""
    deployment = json.loads(json.dumps(of_kind(rendered("minimal"), "Deployment")[0]))
    deployment["spec"]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    topic = json.loads(json.dumps(of_kind(rendered("production"), "KafkaTopic")[0]))
    topic["spec"]["partitions"] = "six"
    schema = json.loads(
        (CRD_SCHEMAS / CUSTOM_SCHEMAS[("kafka.strimzi.io/v1beta2", "KafkaTopic")]).read_text()
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(topic, schema)


def test_chart_app_version_is_the_packages() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == version("herald-core")


def test_generated_chart_files_match_their_sources() -> None:
    assert helm_files.drift(CHART) == [], "run `uv run herald-dev helm-files`"


# --- values.schema.json --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("kafka.securityProtocol=TLS", "securityProtocol"),
        ("topics.profile=staging", "profile"),
        ("senders.telegram.enabled=true", "telegram"),
        ("api.env.WRONG=1", "WRONG"),
        ("terminationGracePeriodSeconds=5", "terminationGracePeriodSeconds"),
    ],
)
def test_values_schema_refuses_a_bad_value(setting: str, named: str) -> None:
    done = helm("template", "herald", CHART, "-f", VALUES_DIR / "minimal.yaml", "--set", setting)
    assert done.returncode != 0
    assert "schema" in done.stderr.lower(), done.stderr
    assert named in done.stderr, done.stderr


def test_a_missing_database_url_is_refused_by_name() -> None:
    done = helm("template", "herald", CHART, "--set", "kafka.bootstrapServers=kafka:9092")
    assert done.returncode != 0
    assert "secrets.databaseUrl" in done.stderr


# --- environment variables -----------------------------------------------------------------------
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_env_name_is_one_the_program_reads(value_set: str) -> None:
    assert unread_env_names(rendered(value_set)) == []


def test_a_misspelt_env_name_is_caught() -> None:
    """A planted error: a name the router does not read (BOOTSTRAP_SERVER) is reported."""
    docs = tuple(
        d
        for d in yaml.safe_load_all(
            render_text("minimal", "--set", "router.env.HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVER=x")
        )
        if d
    )
    assert unread_env_names(docs) == ["herald-router/router: HERALD_ROUTER_KAFKA__BOOTSTRAP_SERVER"]


def test_env_names_cover_nested_and_aliased_fields() -> None:
    names = env_names(RouterSettings)
    assert {"HERALD_ROUTER_KAFKA__SASL_PASSWORD_FILE", "HERALD_ROUTER_LOG__JSON"} <= names
    assert "HERALD_ROUTER_LOG__JSON_OUTPUT" not in names  # the alias, not the field name
    assert "HERALD_ROUTER_NOPE" not in names


# --- what the value sets render ------------------------------------------------------------------
def deployment_names(docs: tuple[dict[str, Any], ...]) -> set[str]:
    return {d["metadata"]["name"].removeprefix("herald-") for d in of_kind(docs, "Deployment")}


SERVICES = {"api", "ingest", "router", "derive", "alerter", "recorder"}


def test_minimal_runs_every_service_and_the_default_senders() -> None:
    assert deployment_names(rendered("minimal")) == SERVICES | {"sender-webhook", "sender-email"}


def test_all_channels_runs_a_sender_per_channel_with_its_channel_argument() -> None:
    docs = rendered("all-channels")
    assert deployment_names(docs) == SERVICES | {f"sender-{c}" for c in SENDER_CHANNELS}
    for doc in of_kind(docs, "Deployment"):
        name = doc["metadata"]["name"].removeprefix("herald-")
        if name.startswith("sender-"):
            (container,) = containers(doc)
            assert container["command"][-2:] == ["--channel", name.removeprefix("sender-")]
    scaled = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "ScaledObject")}
    assert scaled == {f"herald-{n}" for n in ("router", *(f"sender-{c}" for c in SENDER_CHANNELS))}


def test_every_pod_runs_as_the_image_user_on_a_read_only_root() -> None:
    uid = int(re.search(r"--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1))  # type: ignore[union-attr]
    for value_set in VALUE_SETS:
        for doc in of_kind(rendered(value_set), *WORKLOADS):
            pod = doc["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["runAsUser"] == uid
            for container in containers(doc):
                assert container["securityContext"]["readOnlyRootFilesystem"] is True
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                assert "/tmp" in mounts
            if doc["kind"] == "Deployment":
                assert pod["terminationGracePeriodSeconds"] >= 15
                (container,) = containers(doc)
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
                assert container["livenessProbe"]["httpGet"]["path"] == "/livez"


def test_faust_services_keep_their_data_folder_on_a_volume() -> None:
    for doc in of_kind(rendered("minimal"), "Deployment"):
        (container,) = containers(doc)
        env = {e["name"]: e.get("value") for e in container["env"]}
        data = [v for k, v in env.items() if k.endswith("_DATA_DIR")]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        for folder in data:
            assert any(folder.startswith(m + "/") for m in mounts), (
                doc["metadata"]["name"],
                folder,
            )
    names = {
        d["metadata"]["name"]
        for d in of_kind(rendered("minimal"), "Deployment")
        if any(e["name"].endswith("_DATA_DIR") for e in containers(d)[0]["env"])
    }
    assert names == {"herald-derive"}


def test_hook_jobs_migrate_and_create_the_topics_before_the_services() -> None:
    jobs = {d["metadata"]["name"]: d for d in of_kind(rendered("minimal"), "Job")}
    assert set(jobs) == {"herald-migrate", "herald-topics"}
    for job in jobs.values():
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (migrate,) = containers(jobs["herald-migrate"])
    assert migrate["command"] == ["herald-api", "migrate"]
    (topics,) = containers(jobs["herald-topics"])
    assert topics["command"] == ["herald-topics", "apply"]
    assert topics["args"][topics["args"].index("--profile") + 1] == "dev"
    secret = of_kind(rendered("minimal"), "Secret")[0]
    weights = [
        int(d["metadata"]["annotations"]["helm.sh/hook-weight"]) for d in (secret, *jobs.values())
    ]
    assert weights[0] < min(weights[1:]), "the Secret the jobs read comes first"


def test_minimal_generates_long_random_credentials() -> None:
    secret = of_kind(rendered("minimal"), "Secret")[0]
    values = {k: v for k, v in secret["stringData"].items() if k != "database-url"}
    assert set(values) == {"admin-token", "jwt-secret", "unsubscribe-secret", "ingest-tokens"}
    assert all(len(v) >= 32 for v in values.values())
    assert values["admin-token"].startswith("hrld_")
    again = of_kind(tuple(d for d in yaml.safe_load_all(render_text("minimal")) if d), "Secret")[0]
    assert again["stringData"]["jwt-secret"] != values["jwt-secret"], "not a fixed value"


def test_production_uses_existing_secrets_tls_sasl_and_three_replicas() -> None:
    docs = rendered("production")
    assert of_kind(docs, "Secret") == [], "every credential comes from an existing Secret"
    hpas = {
        d["spec"]["scaleTargetRef"]["name"]: d for d in of_kind(docs, "HorizontalPodAutoscaler")
    }
    for doc in of_kind(docs, "Deployment"):
        name = doc["metadata"]["name"]
        replicas = hpas[name]["spec"]["minReplicas"] if name in hpas else doc["spec"]["replicas"]
        assert replicas == 3, name
        (container,) = containers(doc)
        env = {e["name"]: e for e in container["env"]}
        prefix = next(n for n in env if n.endswith("KAFKA__BOOTSTRAP_SERVERS")).removesuffix(
            "BOOTSTRAP_SERVERS"
        )
        assert env[f"{prefix}SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        files = {env[f"{prefix}SASL_PASSWORD_FILE"]["value"], env[f"{prefix}SSL_CAFILE"]["value"]}
        mounted = {
            f"{m['mountPath']}/{item['path']}"
            for m in container["volumeMounts"]
            for v in doc["spec"]["template"]["spec"]["volumes"]
            if v["name"] == m["name"] and "secret" in v
            for item in v["secret"].get("items", [])
        }
        assert files <= mounted, name
        for variable in env.values():
            if "valueFrom" in variable:
                assert variable["valueFrom"]["secretKeyRef"]["name"] == "herald-credentials"


def test_strimzi_topics_are_the_topic_files_prod_profile() -> None:
    topics = of_kind(rendered("production"), "KafkaTopic")
    jobs = {j["metadata"]["name"] for j in of_kind(rendered("production"), "Job")}
    assert jobs == {"herald-migrate"}, "Strimzi's Topic Operator makes the topics: no topic job"
    expected = {s.name: s for s in load_topic_file(profile="prod")}
    assert {t["spec"]["topicName"] for t in topics} == set(expected)
    for topic in topics:
        spec = expected[topic["spec"]["topicName"]]
        assert topic["spec"]["partitions"] == spec.partitions
        assert topic["spec"]["replicas"] == spec.replication_factor == 3
        assert topic["spec"]["config"] == dict(spec.config)
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "kafka"


def test_dashboards_configmap_carries_every_dashboard_for_the_sidecar() -> None:
    (config_map,) = [
        d
        for d in of_kind(rendered("minimal"), "ConfigMap")
        if "dashboards" in d["metadata"]["name"]
    ]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    source = ROOT / "deploy" / "grafana" / "dashboards"
    assert set(config_map["data"]) == {p.name for p in source.glob("*.json")}
    for name, text in config_map["data"].items():
        assert json.loads(text) == json.loads((source / name).read_text())


# --- the smoke run's reading of the chart --------------------------------------------------------
def test_process_specs_of_the_minimal_rendering() -> None:
    text = render_text("minimal")
    specs = {s.name: s for s in process_specs(text)}
    secret = next(d for d in yaml.safe_load_all(text) if d and d["kind"] == "Secret")
    values = secret["stringData"]
    assert [s.name for s in process_specs(text) if s.job] == ["herald-topics", "herald-migrate"]
    assert set(specs) == {"herald-topics", "herald-migrate"} | {
        f"herald-{n}" for n in (*SERVICES, "sender-webhook", "sender-email")
    }
    for spec in specs.values():
        assert spec.port == (None if spec.job else 8080)
        assert spec.argv == tuple(accepted_argv(spec.name, text))
        assert set(spec.env) <= accepted_names(list(spec.argv))
    api = specs["herald-api"]
    assert api.env["HERALD_API_JWT_SECRET"] == values["jwt-secret"]
    assert api.env["HERALD_UNSUBSCRIBE_SECRET"] == values["unsubscribe-secret"]
    assert (
        specs["herald-sender-email"].env["HERALD_SENDER_SMTP__UNSUBSCRIBE_SECRET"]
        == (values["unsubscribe-secret"])
    )
    assert specs["herald-migrate"].env["HERALD_API_DATABASE_URL"] == values["database-url"]
    ingest = specs["herald-ingest"]
    assert ingest.files == {"/etc/herald/ingest/tokens": values["ingest-tokens"].encode()}
    assert ingest.env["HERALD_INGEST_AUTH__TOKEN_FILE"] == "/etc/herald/ingest/tokens"
    assert all(s.grace_s == 60 for s in specs.values() if not s.job)


def accepted_argv(name: str, text: str) -> list[str]:
    """The rendered command + args of workload `name`."""
    doc = next(
        d
        for d in yaml.safe_load_all(text)
        if d and d["kind"] in WORKLOADS and d["metadata"]["name"] == name
    )
    (container,) = containers(doc)
    return [*container["command"], *container.get("args", [])]


def test_process_specs_resolve_production_files_from_existing_secrets() -> None:
    existing = {
        "herald-credentials": {
            k: b"x" * 40
            for k in ("admin-token", "jwt-secret", "unsubscribe-secret", "ingest-tokens")
        }
        | {"database-url": b"postgresql://db/herald", "smtp-password": b"p"},
        "herald-kafka-user": {"password": b"scram"},
        "kafka-cluster-ca-cert": {"ca.crt": b"-----BEGIN CERTIFICATE-----"},
    }
    specs = process_specs(render_text("production"), existing=existing)
    router = next(s for s in specs if s.name == "herald-router")
    assert router.files == {
        "/etc/herald/kafka-sasl/password": b"scram",
        "/etc/herald/kafka-tls/ca.crt": b"-----BEGIN CERTIFICATE-----",
    }
    assert router.env["HERALD_ROUTER_KAFKA__SASL_PASSWORD_FILE"] in router.files
    assert router.env["HERALD_ROUTER_KAFKA__SSL_CAFILE"] in router.files
    with pytest.raises(ValueError, match="herald-credentials"):
        process_specs(render_text("production"))


@pytest.mark.parametrize("value_set", ["minimal", "all-channels"])
def test_rendered_settings_start_in_production(
    value_set: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Deployment's resolved environment builds its settings, and HERALD_ENV=production
    finds no development default in them (the generated secrets are long and random)."""
    from herald_api.production import production_problems as api_problems
    from herald_core.deployment import Environment
    from herald_core.topics import Channel
    from herald_ingest.production import start_problems
    from herald_sender.production import production_problems as sender_problems

    settings_of = {
        "herald_api": ApiSettings,
        "herald_ingest": IngestSettings,
        "herald_router": RouterSettings,
        "herald_derive": DeriveSettings,
        "herald_alerter": AlerterSettings,
        "herald_recorder": RecorderSettings,
        "herald_sender": SenderSettings,
    }
    for spec in process_specs(render_text(value_set)):
        if spec.job:
            continue
        for name in [n for n in os.environ if n.startswith("HERALD_")]:
            monkeypatch.delenv(name)
        moved = {path: tmp_path / spec.name / path.lstrip("/") for path in spec.files}
        for path, content in spec.files.items():
            moved[path].parent.mkdir(parents=True, exist_ok=True)
            moved[path].write_bytes(content)
        for name, value in spec.env.items():
            monkeypatch.setenv(name, str(moved.get(value, value)))
        assert spec.env["HERALD_ENV"] == "production"
        module = spec.argv[2]
        if module == "herald_sender":
            settings = SenderSettings(channel=Channel(spec.argv[-1]))
            problems = sender_problems(settings, Environment.PRODUCTION)
        elif module == "herald_api":
            problems = api_problems(ApiSettings(), UnsubscribeSettings(), Environment.PRODUCTION)
        elif module == "herald_ingest":
            problems = start_problems(IngestSettings(), Environment.PRODUCTION)
        else:
            settings_of[module]()
            problems = []
        assert problems == [], spec.name
