"""herald_devstack.smoke.helm: rendered manifests to process specs, on planted manifests.

(The chart's own rendering is read in tests/contract/test_helm_chart.py, where Helm runs.)
"""

from __future__ import annotations

import base64

import pytest
from herald_devstack.smoke.helm import (
    empty_dir_paths,
    expand,
    process_specs,
    service_addresses,
)

MANIFESTS = """
apiVersion: v1
kind: Secret
metadata: {name: creds}
data:
  token: TOKEN_B64
stringData:
  url: postgresql://db/herald
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data:
  LEVEL: debug
  app.ini: "[app]\\n"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 45
      containers:
        - name: web
          command: [python, -m, web]
          args: [--port, "9000"]
          envFrom:
            - configMapRef: {name: conf}
              prefix: CONF_
          env:
            - {name: HOST, value: example.org}
            - {name: URL, value: "http://$(HOST):9000/$$(HOST)/$(NOPE)"}
            - name: TOKEN
              valueFrom: {secretKeyRef: {name: creds, key: token}}
            - name: MISSING
              valueFrom: {secretKeyRef: {name: other, key: x, optional: true}}
          ports: [{name: http, containerPort: 9000}]
          readinessProbe: {httpGet: {path: /ready, port: http}}
          livenessProbe: {httpGet: {path: /alive, port: 9000}}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            - {name: secret, mountPath: /etc/web/secret}
            - {name: conf, mountPath: /etc/web/app.ini, subPath: app.ini}
      volumes:
        - {name: tmp, emptyDir: {}}
        - name: secret
          secret:
            secretName: creds
            items: [{key: token, path: the-token}]
        - {name: conf, configMap: {name: conf}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: late
  annotations: {helm.sh/hook-weight: "5"}
spec:
  template:
    spec:
      containers: [{name: late, command: [late]}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: early
  annotations: {helm.sh/hook-weight: "-5"}
spec:
  template:
    spec:
      containers:
        - name: early
          command: [migrate]
          env: [{name: DB, valueFrom: {secretKeyRef: {name: creds, key: url}}}]
""".replace("TOKEN_B64", base64.b64encode(b"s3cret").decode())


def test_jobs_first_by_hook_weight_then_deployments() -> None:
    specs = process_specs(MANIFESTS)
    assert [(s.name, s.job) for s in specs] == [("early", True), ("late", True), ("web", False)]
    assert specs[0].env == {"DB": "postgresql://db/herald"}
    assert specs[0].port is None


def test_a_deployment_container_resolved() -> None:
    web = process_specs(MANIFESTS)[-1]
    assert web.argv == ("python", "-m", "web", "--port", "9000")
    assert web.env == {
        "CONF_LEVEL": "debug",
        "CONF_app.ini": "[app]\n",
        "HOST": "example.org",
        "URL": "http://example.org:9000/$(HOST)/$(NOPE)",
        "TOKEN": "s3cret",
    }
    assert web.files == {"/etc/web/secret/the-token": b"s3cret", "/etc/web/app.ini": b"[app]\n"}
    assert (web.port, web.ready_path, web.live_path, web.grace_s) == (
        9000,
        "/ready",
        "/alive",
        45.0,
    )


def test_an_unrendered_secret_is_refused_or_taken_from_existing() -> None:
    text = MANIFESTS.replace("name: creds, key: url", "name: kept, key: url")
    with pytest.raises(ValueError, match="kept"):
        process_specs(text)
    specs = process_specs(text, existing={"kept": {"url": b"postgresql://kept"}})
    assert specs[0].env == {"DB": "postgresql://kept"}


def test_a_container_without_command_is_refused() -> None:
    with pytest.raises(ValueError, match="no command"):
        process_specs(MANIFESTS.replace("command: [late]", "image: late"))


def test_expand_follows_kubernetes() -> None:
    assert expand("$(A)-$$(A)-$(B)", {"A": "1"}) == "1-$(A)-$(B)"


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web-svc}
spec:
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
    - {name: metrics, port: 9100, targetPort: 9100}
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: none}
  ports: [{port: 80, targetPort: 9000}]
"""


def test_service_addresses_name_the_deployment_behind_the_probed_port() -> None:
    labelled = MANIFESTS.replace(
        "metadata: {name: web}\nspec:\n  template:\n",
        "metadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n",
    )
    addresses = service_addresses(labelled + "---" + SERVICE, "ns")
    assert addresses == {
        "web-svc:80": "web",
        "web-svc.ns:80": "web",
        "web-svc.ns.svc:80": "web",
        "web-svc.ns.svc.cluster.local:80": "web",
    }


def test_empty_dir_paths_are_the_mounted_folders() -> None:
    assert empty_dir_paths(MANIFESTS) == {"/tmp"}
