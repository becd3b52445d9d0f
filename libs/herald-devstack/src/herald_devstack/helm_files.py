"""The files of the Helm chart (deploy/helm/herald) generated from the repository's sources.

A chart reads only files inside itself, so what it shares with the rest of the repository is
copied in, generated here and checked for drift (`herald-dev helm-files --check`, a contract
test):

    dashboards/<name>.json   Herald's Grafana dashboards (`herald_devstack.dashboards`), the
                             ConfigMap Grafana's sidecar loads
    files/topics.json        deploy/topics.yaml expanded per profile: the Strimzi `KafkaTopic`
                             resources of `topics.strimzi.enabled`

Pure but for `write` and `drift`, which read and write under the chart's folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from herald_core.topics import TopicSpec, load_topic_file, topic_profiles

from herald_devstack import dashboards

GENERATED_NOTE = "generated from deploy/topics.yaml by `herald-dev helm-files`: do not edit"
TOPICS_FILE = "files/topics.json"
DASHBOARDS_FOLDER = "dashboards"
_NOT_IN_A_NAME = re.compile(r"[^a-z0-9.-]+")


def default_chart_dir() -> Path:
    """`deploy/helm/herald/` of the checkout this package is installed from."""
    return Path(__file__).resolve().parents[4] / "deploy" / "helm" / "herald"


def resource_name(topic: str) -> str:
    """A Kubernetes object name (DNS-1123 subdomain) for Kafka topic `topic`.

    Topic names may hold `_` and capitals, object names may not: `_` becomes `-`, the rest is
    lowered. The topic's own name goes to `spec.topicName`.
    """
    name = _NOT_IN_A_NAME.sub("-", topic.lower()).strip("-.")
    if not name or len(name) > 253:
        raise ValueError(f"topic {topic!r} makes no Kubernetes object name")
    return name


def topic_entry(spec: TopicSpec) -> dict[str, Any]:
    """One topic as the chart's KafkaTopic template reads it."""
    return {
        "name": resource_name(spec.name),
        "topicName": spec.name,
        "partitions": spec.partitions,
        "replicas": spec.replication_factor,
        "config": dict(sorted(spec.config.items())),
    }


def topics_document(path: Path | None = None) -> dict[str, Any]:
    """Every profile of the topic file (default: deploy/topics.yaml), each expanded.

    Raises:
        ValueError: two topics map to one object name.
    """
    profiles: dict[str, list[dict[str, Any]]] = {}
    for profile in sorted(topic_profiles(path)):
        entries = [topic_entry(spec) for spec in load_topic_file(path, profile)]
        names = [e["name"] for e in entries]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ValueError(f"topics share a Kubernetes object name: {', '.join(clashes)}")
        profiles[profile] = entries
    return {"_generated": GENERATED_NOTE, "profiles": profiles}


def render_all(topic_file: Path | None = None) -> dict[str, str]:
    """Every generated file of the chart, by path relative to the chart's folder."""
    files = {f"{DASHBOARDS_FOLDER}/{name}": text for name, text in dashboards.render_all().items()}
    files[TOPICS_FILE] = json.dumps(topics_document(topic_file), indent=2) + "\n"
    return files


def drift(chart: Path, rendered: Mapping[str, str] | None = None) -> list[str]:
    """The generated files of `chart` that are missing, changed, or stale (no longer generated).

    Reads only.
    """
    expected = render_all() if rendered is None else rendered
    found = {f"{DASHBOARDS_FOLDER}/{p.name}" for p in (chart / DASHBOARDS_FOLDER).glob("*.json")}
    problems = [f"{name}: stale" for name in sorted(found - set(expected))]
    for name, text in sorted(expected.items()):
        path = chart / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: changed")
    return problems


def write(chart: Path, rendered: Mapping[str, str] | None = None) -> list[str]:
    """Write the generated files under `chart`, remove stale dashboards; the names changed."""
    expected = render_all() if rendered is None else rendered
    changed = []
    for name in drift(chart, expected):
        relative, _, state = name.rpartition(": ")
        path = chart / relative
        if state == "stale":
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[relative], encoding="utf-8")
        changed.append(relative)
    return changed
