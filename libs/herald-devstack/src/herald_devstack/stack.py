"""The whole local stack: Kafka, Postgres, the SMTP and webhook sinks, and every service.

State (data, logs, pid files, received mail and webhooks) lives under one directory,
`var/` of the checkout unless `HERALD_DEV_HOME` says otherwise. Ports are settings.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from herald_core.settings import KafkaSettings
from herald_core.topics import Channel
from herald_kafka.admin import wait_until_ready
from herald_kafka.topics import apply_file

from herald_devstack.cluster import make_cluster, wait_for_brokers
from herald_devstack.dev_settings import (
    DevSettings,
    KafkaSecurity,
    brokers_file,
    check_brokers_fit_storage,
    check_security_fits_storage,
    security_file,
    with_recorded_brokers,
    with_recorded_security,
)
from herald_devstack.instances import check_scale, instance_name, instance_port, split_instance
from herald_devstack.kafka import kafka_version
from herald_devstack.postgres import PostgresNode
from herald_devstack.processes import ManagedProcess, port_open
from herald_devstack.prometheus import PrometheusNode, Target
from herald_devstack.tools import ToolMissing

__all__ = [
    "CHAT_CHANNELS",
    "CHAT_SENDER",
    "SERVICE_NAMES",
    "Component",
    "DevSettings",
    "KafkaSecurity",
    "ServiceSpec",
    "Stack",
]

Progress = Callable[[str], None]

CHAT_CHANNELS = (
    Channel.SLACK,
    Channel.MATTERMOST,
    Channel.ROCKETCHAT,
    Channel.DISCORD,
    Channel.MSTEAMS,
    Channel.GOOGLECHAT,
    Channel.HIPCHAT,
    Channel.FLOWDOCK,
    Channel.GITTER,
)
"""The chat channels the local stack sends, all in one sender process (`CHAT_SENDER`). The
push channels (`apns`, `webpush`) have no sender yet, and the live stream is the API's: the
stack runs none of them."""

CHAT_SENDER = "sender-chat"
"""The one sender process of every chat channel (`--channel slack,mattermost,…`): each channel
keeps its own consumer groups, topics and `channel` metric label, on one health port. The
webhook and e-mail senders keep a process each: webhooks carry most deliveries and e-mail waits
on an SMTP relay, so each is scaled on its own and shares no event loop with the chat posts."""

SERVICE_NAMES = (
    "api",
    "ingest",
    "router",
    "derive",
    "alerter",
    "recorder",
    "sender-webhook",
    "sender-email",
    CHAT_SENDER,
)
"""Every service of the stack, in order: a service's place here fixes its instances' ports
(herald_devstack.instances)."""

CHAT_CHANNEL_NAMES = {
    name: channel
    for channel in CHAT_CHANNELS
    for name in (channel.value, f"sender-{channel.value}")
}
"""What a chat channel alone was called (`sender-slack`, `slack`): no process of the stack
has these names any more, and a command naming one is told to use `CHAT_SENDER`."""


LEGACY_CHAT_SENDERS = tuple(f"sender-{channel.value}" for channel in CHAT_CHANNELS)
"""The chat senders' processes when each chat channel had its own: `down` stops any left."""


def check_not_a_chat_channel(names: Collection[str]) -> None:
    """Refuse a chat channel named as if it were a service of its own (`sender-slack`), saying
    that `CHAT_SENDER` runs it with every other chat channel.

    Raises:
        ValueError: naming the channels and the process to use instead.
    """
    named = sorted({name for name in names if name in CHAT_CHANNEL_NAMES})
    if named:
        channels = ", ".join(channel.value for channel in CHAT_CHANNELS)
        raise ValueError(
            f"{', '.join(named)}: the local stack sends every chat channel ({channels}) from "
            f"one process, {CHAT_SENDER}: name {CHAT_SENDER} (scaling it scales them all)"
        )


FAUST_PREFIXES = ("HERALD_DERIVE_",)


def faust_data_dir(settings: DevSettings, name: str) -> Path:
    """Where faust instance `name` (`derive`, `derive-2`) keeps its data: one directory each,
    in the stack's home (faust creates the last level, not its parents)."""
    return settings.home / "faust" / name


@dataclass(frozen=True)
class Component:
    name: str
    address: str
    running: bool
    detail: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """A Herald service process: its module, arguments, env prefix and health port.

    `name` is the process's: the service's own for instance 1, `<service>-<k>` for instance k
    (`instance_of`). Every instance of a service has the same settings but its health port and
    faust data directory, so they share the service's consumer groups.
    """

    name: str
    argv: tuple[str, ...]
    env_prefix: str
    port: int
    instance: int = 1

    @property
    def service(self) -> str:
        """The service this process is an instance of (`router` for `router-2`)."""
        return self.name if self.instance == 1 else self.name.removesuffix(f"-{self.instance}")

    def instance_of(self, instance: int, port: int) -> ServiceSpec:
        """Instance `instance` of this service (1-based), listening on `port`."""
        return replace(
            self, name=instance_name(self.service, instance), port=port, instance=instance
        )

    def env(self, settings: DevSettings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process's environment on top of ours: where everything listens, then `extra`."""
        p = self.env_prefix
        env = {
            f"{p}KAFKA__BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
            f"{p}HTTP__HOST": "127.0.0.1",
            f"{p}HTTP__PORT": str(self.port),
            f"{p}LOG__JSON": "false",
        }
        if p in ("HERALD_SENDER_", "HERALD_API_"):
            # local runs only: the webhook sink is on loopback
            env[f"{p}ALLOW_LOOPBACK_TARGETS"] = "true"
        if p in ("HERALD_API_", "HERALD_RECORDER_"):
            env[f"{p}DATABASE_URL"] = (
                f"postgresql://herald@127.0.0.1:{settings.postgres_port}/herald"
            )
        if p == "HERALD_SENDER_":
            env[f"{p}SMTP__PORT"] = str(settings.smtp_port)  # the local SMTP sink
            env[f"{p}SMTP__UNSUBSCRIBE_BASE_URL"] = f"http://127.0.0.1:{settings.api_port}"
        if p == "HERALD_INGEST_":
            env[f"{p}AUTH__TOKENS"] = json.dumps([settings.ingest_token])
        if p == "HERALD_API_":
            env[f"{p}ADMIN_TOKEN"] = settings.api_admin_token
            env[f"{p}PUBLIC_URL"] = f"http://127.0.0.1:{self.port}"
        if p in FAUST_PREFIXES:
            # one faust data directory per instance, in the stack's home
            env[f"{p}DATA_DIR"] = str(faust_data_dir(settings, self.name))
        env.update(extra or {})
        return env


class Stack:
    """Starts, checks and stops the local stack.

    `services` names the service processes to run (every one by default: `api`, `ingest`,
    `router`, `derive`, `alerter`, `recorder`, `sender-webhook`, `sender-email`, and
    `sender-chat` for every chat channel); `service_env` adds settings to a service's
    environment by name (a test scales its delays down this way), every instance of it alike.
    `scale` says how many instances a service runs (on top of `settings.scale`; one when
    unnamed; `scale_to` changes it while the stack runs). Unknown names, a chat channel named
    as a service (`sender-slack`: `sender-chat` sends it) and counts outside
    1..`settings.max_instances` are refused.
    """

    def __init__(
        self,
        settings: DevSettings | None = None,
        *,
        services: Collection[str] | None = None,
        service_env: Mapping[str, Mapping[str, str]] | None = None,
        scale: Mapping[str, int] | None = None,
    ) -> None:
        self.settings = with_recorded_brokers(with_recorded_security(settings or DevSettings()))
        s = self.settings
        self.cluster = make_cluster(
            s.home,
            brokers=s.brokers,
            kafka_port=s.kafka_port,
            controller_port=s.kafka_controller_port,
            step=s.kafka_node_port_step,
            advertised_port=s.kafka_advertised_port,
            secure_port=s.kafka_secure_port if s.kafka_security is KafkaSecurity.SASL_SSL else None,
        )
        self.kafka = self.cluster.nodes[0]
        """The first (alone: the only) Kafka node; `cluster` has them all."""
        self.postgres = PostgresNode(s.home, port=s.postgres_port)
        self.smtp = ManagedProcess("smtp-sink", s.home)
        self.webhook_sink = ManagedProcess("webhook-sink", s.home)
        self.prometheus = PrometheusNode(
            s.home, port=s.prometheus_port, interval_s=s.prometheus_scrape_interval_s
        )
        self.services = [
            ServiceSpec("api", ("-m", "herald_api"), "HERALD_API_", s.api_port),
            ServiceSpec("ingest", ("-m", "herald_ingest"), "HERALD_INGEST_", s.ingest_port),
            ServiceSpec("router", ("-m", "herald_router"), "HERALD_ROUTER_", s.router_port),
            ServiceSpec("derive", ("-m", "herald_derive"), "HERALD_DERIVE_", s.derive_port),
            ServiceSpec("alerter", ("-m", "herald_alerter"), "HERALD_ALERTER_", s.alerter_port),
            ServiceSpec("recorder", ("-m", "herald_recorder"), "HERALD_RECORDER_", s.recorder_port),
            ServiceSpec(
                "sender-webhook",
                ("-m", "herald_sender", "--channel", "webhook"),
                "HERALD_SENDER_",
                s.sender_webhook_port,
            ),
            ServiceSpec(
                "sender-email",
                ("-m", "herald_sender", "--channel", "email"),
                "HERALD_SENDER_",
                s.sender_email_port,
            ),
            ServiceSpec(
                CHAT_SENDER,
                ("-m", "herald_sender", "--channel", ",".join(c.value for c in CHAT_CHANNELS)),
                "HERALD_SENDER_",
                s.sender_chat_port,
            ),
        ]
        known = {spec.name for spec in self.services}
        check_not_a_chat_channel({*(services or ()), *(service_env or {}), *(scale or {})})
        check_not_a_chat_channel(s.scale)
        unknown = sorted({*(services or ()), *(service_env or {})} - known)
        if unknown:
            raise ValueError(f"unknown services {unknown}; the stack has {sorted(known)}")
        if services is not None:
            self.services = [spec for spec in self.services if spec.name in services]
        self.service_env = {name: dict(env) for name, env in (service_env or {}).items()}
        self.scale = check_scale(
            {**s.scale, **(scale or {})}, [spec.name for spec in self.services], s.max_instances
        )
        self._processes: dict[str, ManagedProcess] = {}

    @property
    def mail_dir(self) -> Path:
        return self.settings.home / "mail"

    @property
    def webhook_dir(self) -> Path:
        return self.settings.home / "webhooks"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ingest_port}"

    @property
    def ingest_headers(self) -> dict[str, str]:
        """What a producer sends ingest to be let in: the stack's producer token."""
        return {"Authorization": f"Bearer {self.settings.ingest_token}"}

    @property
    def webhook_sink_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.webhook_sink_port}"

    def kafka_settings(self, client_id: str = "herald") -> KafkaSettings:
        """The settings of a client of the broker as the stack's services reach it: the
        SASL_SSL listener with `kafka_security="sasl_ssl"`, else the plaintext one."""
        if self.settings.kafka_security is KafkaSecurity.SASL_SSL:
            return self.kafka.secure_settings(client_id)
        return self.cluster.client_settings(client_id)

    @property
    def topic_profile(self) -> str:
        """The profile of deploy/topics.yaml the stack applies: `prod` (replication factor 3,
        min ISR 2) on three brokers or more, `dev` (one replica) otherwise."""
        return "prod" if self.settings.brokers >= 3 else "dev"

    def kafka_env(self, prefix: str) -> dict[str, str]:
        """A service's `<prefix>KAFKA__…` variables: the bootstrap and, with sasl_ssl, the
        SASL and TLS fields (the password from a file in the stack's home)."""
        kafka = self.kafka_settings()
        p = f"{prefix}KAFKA__"
        env = {f"{p}BOOTSTRAP_SERVERS": kafka.bootstrap_servers}
        if kafka.security_protocol != "PLAINTEXT":
            env |= {
                f"{p}SECURITY_PROTOCOL": kafka.security_protocol,
                f"{p}SASL_MECHANISM": str(kafka.sasl_mechanism),
                f"{p}SASL_USERNAME": str(kafka.sasl_username),
                f"{p}SASL_PASSWORD_FILE": str(self.kafka.scram_password_file),
                f"{p}SSL_CAFILE": str(kafka.ssl_cafile),
            }
        return env

    def process(self, name: str) -> ManagedProcess:
        """The process of service `name`: the same object every time, so that the child this
        stack started is reaped by whoever stops or kills it."""
        if name not in self._processes:
            self._processes[name] = ManagedProcess(name, self.settings.home)
        return self._processes[name]

    # --- start -------------------------------------------------------------------------------
    def up(self, progress: Progress, *, services: bool = True, topics: bool = True) -> None:
        """Start whatever is not running yet; each step reports as it finishes. Without
        `topics`, deploy/topics.yaml is not applied (a description's own topic job does it)."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        check_security_fits_storage(self.settings, self.kafka)
        check_brokers_fit_storage(self.settings)
        security_file(self.settings.home).write_text(self.settings.kafka_security + "\n")
        brokers_file(self.settings.home).write_text(f"{self.settings.brokers}\n")
        started = time.monotonic()
        self.cluster.start()
        kafka = self.kafka_settings()
        ready_s = asyncio.run(wait_until_ready(kafka, timeout_s=120))
        if self.cluster.brokers > 1:
            ready_s += asyncio.run(wait_for_brokers(kafka, self.cluster.brokers, timeout_s=120))
        nodes = "" if self.cluster.brokers == 1 else f"{self.cluster.brokers} brokers, "
        progress(
            f"kafka {kafka_version()} ready on {kafka.bootstrap_servers} "
            f"({nodes}{kafka.security_protocol}; {time.monotonic() - started:.1f}s; answered "
            f"after {ready_s:.1f}s of polling)"
        )
        if topics:
            plan = asyncio.run(apply_file(kafka, profile=self.topic_profile))
            progress(
                f"topics ({self.topic_profile} profile): {len(plan.created)} created, "
                f"{len(plan.reconfigured)} reconfigured, {len(plan.unchanged)} unchanged"
            )
            for warning in plan.warnings:
                progress(f"topics: {warning}")
        progress(f"postgres ready on {self.postgres.url} ({self.postgres.start():.1f}s)")
        self._start_sink(
            self.smtp, "herald_devstack.smtp_sink", self.settings.smtp_port, self.mail_dir
        )
        progress(f"smtp sink on 127.0.0.1:{self.settings.smtp_port} → {self.mail_dir}")
        self._start_sink(
            self.webhook_sink,
            "herald_devstack.http_sink",
            self.settings.webhook_sink_port,
            self.webhook_dir,
        )
        progress(f"webhook sink on {self.webhook_sink_url}/ → {self.webhook_dir}")
        if services:
            # All start at once (each takes a few seconds to join its consumer groups), then
            # each is awaited in order.
            pending = [
                (instance, self._start_service(instance))
                for spec in self.services
                for instance in self.instances(spec.name)
            ]
            for spec, process in pending:
                self._wait_ready(spec, process)
                progress(f"{spec.name} ready on http://127.0.0.1:{spec.port}{_serves(spec)}")
            self._start_prometheus(progress)
            progress(f"api admin token (local runs only): {self.settings.api_admin_token}")
            progress(f"ingest producer token (local runs only): {self.settings.ingest_token}")

    def scrape_targets(self) -> list[Target]:
        """Every service instance at the stack's current scale, as Prometheus scrapes them."""
        return [
            Target(spec.name, instance.name, instance.port)
            for spec in self.services
            for instance in self.instances(spec.name)
        ]

    def _start_prometheus(self, progress: Progress) -> None:
        """Start Prometheus scraping every instance (or reload it when it runs), unless the
        settings turn it off; a server `make install` has not built is skipped with a notice."""
        if not self.settings.prometheus:
            return
        targets = self.scrape_targets()
        self.prometheus.write_config(targets)
        if self.prometheus.process.pid() is not None:
            self.prometheus.reload()
            return
        try:
            self.prometheus.start()
        except ToolMissing as missing:
            progress(f"prometheus skipped: {missing}")
            return
        _wait(self.prometheus.ready, 60, "prometheus /-/ready", self.prometheus.process)
        progress(
            f"prometheus on {self.prometheus.url} scraping {len(targets)} instances every "
            f"{self.settings.prometheus_scrape_interval_s:g}s, rules from deploy/prometheus/rules"
        )

    def _start_sink(self, process: ManagedProcess, module: str, port: int, directory: Path) -> None:
        process.start([sys.executable, "-m", module, "--port", str(port), "--dir", str(directory)])
        _wait(lambda: port_open(port), 20, f"{process.name} on port {port}", process)

    def _start_service(
        self, spec: ServiceSpec, env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        process = self.process(spec.name)
        if spec.env_prefix in FAUST_PREFIXES:
            faust_data_dir(self.settings, spec.name).parent.mkdir(parents=True, exist_ok=True)
        extra = {
            **self.kafka_env(spec.env_prefix),
            **self.service_env.get(spec.service, {}),
            **(env or {}),
        }
        process.start([sys.executable, *spec.argv], env=spec.env(self.settings, extra))
        return process

    def start_service(
        self, name: str, *, env: Mapping[str, str] | None = None, timeout_s: float = 90.0
    ) -> ManagedProcess:
        """Start one service of the stack, or one instance of it (`router-2`), if it is not
        running, and wait until it is ready.

        `env` is added to the service's environment for this start only (on top of the
        stack's `service_env`).

        Raises:
            KeyError: when the stack has no such service.
            RuntimeError: when it exits or is not ready within `timeout_s` (its log's tail says
                why).
        """
        process = self.launch_service(name, env=env)
        self.wait_service_ready(name, timeout_s=timeout_s)
        return process

    def launch_service(self, name: str, *, env: Mapping[str, str] | None = None) -> ManagedProcess:
        """Start one service (if it is not running) without waiting for it to be ready.

        Raises:
            KeyError: when the stack has no such service.
        """
        return self._start_service(self.spec(name), env)

    def wait_service_ready(self, name: str, *, timeout_s: float = 90.0) -> None:
        """Wait until service `name` answers 200 on `/readyz`.

        Raises:
            KeyError: when the stack has no such service.
            RuntimeError: when it exits or is not ready within `timeout_s`.
        """
        spec = self.spec(name)
        self._wait_ready(spec, self.process(name), timeout_s)

    def spec(self, name: str) -> ServiceSpec:
        """The process called `name`: a service (its first instance) or another instance of
        one (`router-2`, up to `max_instances`). Raises KeyError when the stack has none."""
        service, instance = split_instance(name, [spec.name for spec in self.services])
        if instance > self.settings.max_instances:
            raise KeyError(name)
        base = next(spec for spec in self.services if spec.name == service)
        return base.instance_of(instance, self.instance_port(service, instance))

    def instance_port(self, service: str, instance: int) -> int:
        """Where instance `instance` of `service` answers its health checks (the service's
        own port for the first; herald_devstack.instances for the scheme)."""
        s = self.settings
        first = next(spec.port for spec in self.services if spec.name == service)
        return instance_port(
            base=s.instance_ports_base,
            service_index=SERVICE_NAMES.index(service),
            instance=instance,
            max_instances=s.max_instances,
            first_port=first,
        )

    def instances(self, service: str) -> list[ServiceSpec]:
        """The instances `service` runs at its current scale, first to last.

        Raises:
            KeyError: when the stack has no such service.
        """
        if service not in {spec.name for spec in self.services}:
            raise KeyError(service)
        count = self.scale.get(service, 1)
        return [self.spec(instance_name(service, k)) for k in range(1, count + 1)]

    def running_instances(self, service: str) -> list[str]:
        """The names of `service`'s instances whose process runs, whatever the scale says
        (another `herald-dev` command may have scaled it)."""
        names = [instance_name(service, k) for k in range(1, self.settings.max_instances + 1)]
        return [name for name in names if self.process(name).pid() is not None]

    def scale_to(
        self, service: str, count: int, *, progress: Progress | None = None, timeout_s: float = 90
    ) -> None:
        """Run `count` instances of `service`: start the missing ones among 1..`count` and
        wait until each is ready, then stop (SIGTERM: they drain and commit) the running ones
        above `count`, highest first. The new instances join the service's consumer groups,
        which rebalance.

        Raises:
            ValueError: when the stack has no such service or `count` is out of range.
            RuntimeError: when an instance exits or is not ready within `timeout_s`.
        """
        names = [spec.name for spec in self.services]
        check_not_a_chat_channel([service])
        check_scale({service: count}, names, self.settings.max_instances)
        wanted = [self.spec(instance_name(service, k)) for k in range(1, count + 1)]
        started = [(spec, self._start_service(spec)) for spec in wanted]
        for spec, process in started:
            self._wait_ready(spec, process, timeout_s)
        self.scale[service] = count
        for k in range(self.settings.max_instances, count, -1):
            name = instance_name(service, k)
            if self.process(name).stop() and progress:  # stop() also reaps one that died
                progress(f"stopped {name}")
        if self.prometheus.process.pid() is not None:
            self.prometheus.write_config(self.scrape_targets())
            self.prometheus.reload()
        if progress:
            progress(f"{service}: {count} instance{'s' if count > 1 else ''} ready")

    def _wait_ready(
        self, spec: ServiceSpec, process: ManagedProcess, timeout_s: float = 90.0
    ) -> None:
        _wait(
            lambda: _http_ok(f"http://127.0.0.1:{spec.port}/readyz"),
            timeout_s,
            f"{spec.name} /readyz",
            process,
        )

    # --- stop / inspect ------------------------------------------------------------------------
    def down(self, progress: Progress) -> None:
        """Stop services first (they drain and commit), then the sinks and infrastructure."""
        for spec in reversed(self.services):
            # every possible instance, running or not: stop() also reaps a child of ours that
            # someone else stopped
            for k in range(self.settings.max_instances, 0, -1):
                name = instance_name(spec.name, k)
                if self.process(name).stop():
                    progress(f"stopped {name}")
        for name in LEGACY_CHAT_SENDERS:
            # a stack started before the chat channels shared one process
            if self.process(name).stop():
                progress(f"stopped {name}")
        for process in (self.prometheus.process, self.webhook_sink, self.smtp):
            if process.stop():
                progress(f"stopped {process.name}")
        if self.postgres.stop():
            progress("stopped postgres")
        for name in self.cluster.stop():
            progress(f"stopped {name}")

    def reset(self, progress: Progress) -> None:
        """Stop everything and delete all local state."""
        import shutil

        self.down(progress)
        shutil.rmtree(self.settings.home, ignore_errors=True)
        progress(f"removed {self.settings.home}")

    def status(self) -> list[Component]:
        s = self.settings
        kafka = [
            Component(
                "kafka",
                self.kafka_settings().bootstrap_servers,
                port_open(s.kafka_port),
                f"{kafka_version()} {s.kafka_security}",
            )
        ]
        if self.cluster.brokers > 1:
            kafka = [
                Component(
                    node.name,
                    node.bootstrap_servers,
                    port_open(node.port),
                    f"{kafka_version()} node {node.node_id} of {self.cluster.brokers}, "
                    f"controller :{node.controller_port}",
                )
                for node in self.cluster.nodes
            ]
        parts = [
            *kafka,
            Component("postgres", self.postgres.url, port_open(s.postgres_port)),
            Component(
                "smtp-sink", f"127.0.0.1:{s.smtp_port}", port_open(s.smtp_port), str(self.mail_dir)
            ),
            Component(
                "webhook-sink",
                self.webhook_sink_url,
                port_open(s.webhook_sink_port),
                str(self.webhook_dir),
            ),
        ]
        if self.settings.prometheus:
            up, total = self.prometheus.targets_up()
            parts.append(
                Component(
                    "prometheus",
                    self.prometheus.url,
                    self.prometheus.process.pid() is not None,
                    f"{up}/{total} targets up" if total else "",
                )
            )
        for service in self.services:
            running = self.running_instances(service.name)
            listed = [spec.name for spec in self.instances(service.name)]
            for name in sorted({*listed, *running}, key=lambda n: self.spec(n).instance):
                spec = self.spec(name)
                url = f"http://127.0.0.1:{spec.port}"
                ready = _http_ok(url + "/readyz")
                alive = name in running
                state = "ready" if ready else ("starting" if alive else "")
                parts.append(Component(spec.name, url, alive, state + _serves(spec)))
        return parts


def _serves(spec: ServiceSpec) -> str:
    """What a progress or status line adds about a process sending several channels."""
    if spec.service != CHAT_SENDER:
        return ""
    return f" ({len(CHAT_CHANNELS)} chat channels: {', '.join(c.value for c in CHAT_CHANNELS)})"


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
            return bool(response.status == 200)
    except OSError:
        return False


def _wait(probe: Callable[[], bool], timeout_s: float, what: str, process: ManagedProcess) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if process.pid() is None:
            raise RuntimeError(
                f"{what}: the process exited.\n--- {process.log_file} ---\n{process.tail(30)}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{what} not ready after {timeout_s}s.\n"
                f"--- {process.log_file} ---\n{process.tail(30)}"
            )
        time.sleep(0.1)
