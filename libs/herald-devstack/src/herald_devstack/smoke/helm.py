"""The processes a rendered Helm chart describes (`helm template` output), as `ProcessSpec`s.

The smoke run starts each rendered container as a local process: exactly its command and
arguments, its environment with the Secrets and ConfigMaps it references resolved, and the files
its Secret and ConfigMap volumes would mount. `process_specs` reads all of that from the
rendered manifests alone. Pure: text in, specs out.

    specs = process_specs(subprocess.run([helm, "template", ...]).stdout)

- argv: the container's `command` then `args` (the chart names both: an image entry point is not
  assumed);
- env: `envFrom` (`secretRef`, `configMapRef`, with their `prefix`) first, then `env` on top
  (`value` with Kubernetes' `$(NAME)` references to earlier variables, `valueFrom.secretKeyRef`
  and `configMapKeyRef`), as the kubelet builds it;
- files: every key of a Secret or ConfigMap volume the container mounts, at
  `<mountPath>/<path>` (the volume's `items`, or every key), or at `mountPath` for a `subPath`
  mount; emptyDir volumes are folders, not files, and are left to the runner;
- port, ready_path, live_path: the readiness and liveness probes' `httpGet` (a named port
  resolved through the container's ports); none for a Job;
- grace_s: the pod's `terminationGracePeriodSeconds` (Kubernetes' default 30 when unset);
- job: True for a Job (the chart's hooks: migrations, topics), which comes first, in the order
  of its `helm.sh/hook-weight`, before the Deployments in their rendered order.

A reference to a Secret or ConfigMap that is not rendered (an `existingSecret`) is taken from
`existing` when given, else refused with a `ValueError` naming it, unless it is `optional`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from herald_devstack.smoke.model import ProcessSpec

DEFAULT_GRACE_S = 30.0
WORKLOAD_KINDS = ("Job", "Deployment")
_REFERENCE = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")

Store = Mapping[str, Mapping[str, bytes]]
"""Objects of one kind (Secret, ConfigMap) by name: their keys and contents."""


@dataclass(frozen=True)
class _Objects:
    """The rendered Secrets and ConfigMaps, by name."""

    secrets: Store = field(default_factory=dict)
    config_maps: Store = field(default_factory=dict)

    def lookup(self, kind: str, name: str, *, optional: bool = False) -> Mapping[str, bytes]:
        found = (self.secrets if kind == "Secret" else self.config_maps).get(name)
        if found is None:
            if optional:
                return {}
            raise ValueError(f"{kind} {name!r} is referenced but not rendered nor given")
        return found


def _documents(rendered: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered) if isinstance(d, dict) and d.get("kind")]


def _secret_data(doc: Mapping[str, Any]) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (doc.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (doc.get("stringData") or {}).items()})
    return data


def _config_map_data(doc: Mapping[str, Any]) -> dict[str, bytes]:
    data = {k: str(v).encode() for k, v in (doc.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (doc.get("binaryData") or {}).items()})
    return data


def _objects(docs: list[dict[str, Any]], existing: Store) -> _Objects:
    secrets = {str(k): dict(v) for k, v in existing.items()}
    secrets.update({d["metadata"]["name"]: _secret_data(d) for d in docs if d["kind"] == "Secret"})
    config_maps = {
        d["metadata"]["name"]: _config_map_data(d) for d in docs if d["kind"] == "ConfigMap"
    }
    return _Objects(secrets, config_maps)


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(NAME)` expansion: a defined earlier variable's value; `$$` is `$`; an
    undefined reference is kept as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        return env.get(name, match.group(0))

    return _REFERENCE.sub(replace, value)


def _key_ref(objects: _Objects, kind: str, ref: Mapping[str, Any]) -> str | None:
    data = objects.lookup(kind, ref["name"], optional=bool(ref.get("optional")))
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise ValueError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
    return data[ref["key"]].decode()


def container_env(container: Mapping[str, Any], objects: _Objects) -> dict[str, str]:
    """The environment the kubelet would give `container`."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
            if key in source:
                ref = source[key]
                data = objects.lookup(kind, ref["name"], optional=bool(ref.get("optional")))
                env.update({f"{prefix}{k}": v.decode() for k, v in data.items()})
    for variable in container.get("env") or []:
        name = variable["name"]
        source = variable.get("valueFrom")
        if source is None:
            env[name] = expand(str(variable.get("value", "")), env)
            continue
        if "secretKeyRef" in source:
            value = _key_ref(objects, "Secret", source["secretKeyRef"])
        elif "configMapKeyRef" in source:
            value = _key_ref(objects, "ConfigMap", source["configMapKeyRef"])
        else:
            raise ValueError(f"variable {name}: only secretKeyRef and configMapKeyRef resolve")
        if value is not None:
            env[name] = value
    return env


def _volume_files(volume: Mapping[str, Any], objects: _Objects) -> dict[str, bytes] | None:
    """A Secret or ConfigMap volume's files by their path in the volume; None for others."""
    if "secret" in volume:
        kind, source, name = "Secret", volume["secret"], volume["secret"]["secretName"]
    elif "configMap" in volume:
        kind, source, name = "ConfigMap", volume["configMap"], volume["configMap"]["name"]
    else:
        return None
    data = objects.lookup(kind, name, optional=bool(source.get("optional")))
    items = source.get("items")
    if not items:
        return dict(data)
    files = {}
    for item in items:
        if item["key"] not in data:
            raise ValueError(f"{kind} {name!r} has no key {item['key']!r} (volume items)")
        files[item["path"]] = data[item["key"]]
    return files


def container_files(
    container: Mapping[str, Any], volumes: Mapping[str, Mapping[str, Any]], objects: _Objects
) -> dict[str, bytes]:
    """Every file `container`'s Secret and ConfigMap mounts put in its filesystem."""
    files: dict[str, bytes] = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise ValueError(f"volumeMount {mount['name']!r} names no volume of the pod")
        content = _volume_files(volume, objects)
        if content is None:
            continue
        root = mount["mountPath"].rstrip("/")
        sub_path = mount.get("subPath")
        if sub_path:
            if sub_path not in content:
                raise ValueError(f"volumeMount {mount['name']!r}: no {sub_path!r} in the volume")
            files[root] = content[sub_path]
        else:
            files.update({f"{root}/{path}": data for path, data in content.items()})
    return files


def _probe_port(container: Mapping[str, Any], probe: Mapping[str, Any]) -> int:
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    for declared in container.get("ports") or []:
        if declared.get("name") == port:
            return int(declared["containerPort"])
    if str(port).isdigit():
        return int(port)
    raise ValueError(f"probe port {port!r} is no port of container {container['name']!r}")


def _spec(
    doc: Mapping[str, Any], container: Mapping[str, Any], objects: _Objects, *, alone: bool
) -> ProcessSpec:
    pod = doc["spec"]["template"]["spec"]
    name = doc["metadata"]["name"] if alone else f"{doc['metadata']['name']}-{container['name']}"
    if not container.get("command"):
        raise ValueError(f"{name}: no command (the image's entry point is not assumed)")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    job = doc["kind"] == "Job"
    ready = container.get("readinessProbe") or {}
    live = container.get("livenessProbe") or {}
    grace = pod.get("terminationGracePeriodSeconds")
    return ProcessSpec(
        name=name,
        argv=tuple(str(a) for a in [*container["command"], *(container.get("args") or [])]),
        env=container_env(container, objects),
        files=container_files(container, volumes, objects),
        port=_probe_port(container, ready) if "httpGet" in ready and not job else None,
        ready_path=ready.get("httpGet", {}).get("path", "/readyz"),
        live_path=live.get("httpGet", {}).get("path", "/livez"),
        grace_s=float(DEFAULT_GRACE_S if grace is None else grace),
        job=job,
    )


def _hook_weight(doc: Mapping[str, Any]) -> int:
    annotations = doc["metadata"].get("annotations") or {}
    return int(annotations.get("helm.sh/hook-weight", 0))


def process_specs(rendered: str, *, existing: Store | None = None) -> list[ProcessSpec]:
    """The processes of `rendered` (`helm template`'s output): the Jobs by hook weight, then
    the Deployments, one spec per container (named after its workload when it is alone).

    `existing` holds Secrets the manifests reference but do not render (`existingSecret`), by
    name.

    Raises:
        ValueError: a reference that cannot be resolved, a container without a command.
    """
    docs = _documents(rendered)
    objects = _objects(docs, existing or {})
    jobs = sorted((d for d in docs if d["kind"] == "Job"), key=_hook_weight)
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    specs: list[ProcessSpec] = []
    for doc in [*jobs, *deployments]:
        pod = doc["spec"]["template"]["spec"]
        containers = [*(pod.get("initContainers") or []), *pod["containers"]]
        specs.extend(_spec(doc, c, objects, alone=len(containers) == 1) for c in containers)
    return specs


def _pod_labels(doc: Mapping[str, Any]) -> Mapping[str, str]:
    return (doc["spec"]["template"].get("metadata") or {}).get("labels") or {}


def _target_port(container: Mapping[str, Any], target: int | str) -> int | None:
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    declared = (p for p in container.get("ports") or [] if p.get("name") == target)
    return next((int(p["containerPort"]) for p in declared), None)


def service_addresses(rendered: str, namespace: str) -> dict[str, str]:
    """Every address a rendered Service gives a Deployment's HTTP port, to that Deployment's
    process name: `<service>:<port>`, `<service>.<namespace>:<port>`, `….svc:<port>` and
    `….svc.cluster.local:<port>`, as cluster DNS resolves them. Pure.

    A Service port counts when its `targetPort` is the port the container's readiness probe
    uses (the port the runner gives the process); a selector matching no single-container
    Deployment names nothing.
    """
    docs = _documents(rendered)
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    addresses: dict[str, str] = {}
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = (service.get("spec") or {}).get("selector") or {}
        for deployment in deployments:
            labels = _pod_labels(deployment)
            pod = deployment["spec"]["template"]["spec"]
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                continue
            if len(pod["containers"]) != 1:
                continue
            container = pod["containers"][0]
            ready = container.get("readinessProbe") or {}
            probed = _probe_port(container, ready) if "httpGet" in ready else None
            name = service["metadata"]["name"]
            for port in service["spec"].get("ports") or []:
                target = _target_port(container, port.get("targetPort", port["port"]))
                if probed is None or target != probed:
                    continue
                for host in (
                    name,
                    f"{name}.{namespace}",
                    f"{name}.{namespace}.svc",
                    f"{name}.{namespace}.svc.cluster.local",
                ):
                    addresses[f"{host}:{port['port']}"] = deployment["metadata"]["name"]
    return addresses


def empty_dir_paths(rendered: str) -> set[str]:
    """Where the workloads mount emptyDir volumes (`/tmp`, a data folder): each pod gets them
    empty and writable; here they are local folders (`LocalTarget.paths`). Pure."""
    paths: set[str] = set()
    for doc in _documents(rendered):
        if doc["kind"] not in WORKLOAD_KINDS:
            continue
        pod = doc["spec"]["template"]["spec"]
        empty = {v["name"] for v in pod.get("volumes") or [] if "emptyDir" in v}
        for container in [*(pod.get("initContainers") or []), *pod["containers"]]:
            paths.update(
                m["mountPath"].rstrip("/") or "/"
                for m in container.get("volumeMounts") or []
                if m["name"] in empty
            )
    return paths
