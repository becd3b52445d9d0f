"""A real Apache Kafka 4.x broker, single node, KRaft combined mode, from Maven Central jars.

The jars come from `deploy/local/kafka/pom.xml` (`mvn dependency:copy-dependencies`, once; they
land in `deploy/local/kafka/target/lib`). The node is formatted with `kafka.tools.StorageTool`
and run with `kafka.Kafka server.properties`, advertised on 127.0.0.1 only.

With `advertised_port`, the client listener binds `port` but tells clients to connect to
`advertised_port`: a Kafka client bootstraps from any address, then goes wherever the broker's
metadata says the broker is, so a proxy on another port is only in the way if the broker
advertises it. The proxy (a test's fault proxy) forwards `advertised_port` to `port`. The KRaft
controller listener is not advertised to clients and stays direct.

With `secure_port`, the node also listens there with SASL_SSL: the user `SCRAM_USER` logs in
with SCRAM-SHA-512 (the default), SCRAM-SHA-256 or PLAIN (the SCRAM credentials created with
`StorageTool format --add-scram`, which KRaft reads from the metadata log; PLAIN's in the
listener's JAAS line) over TLS with a certificate for 127.0.0.1 from a throwaway CA
(`herald_devstack.tls`, in `home/tls`). With `mtls_port`, it listens there with SSL and requires
a client certificate signed by that CA (mutual TLS, no SASL). `secure_settings()` and
`mtls_settings()` give the `KafkaSettings` of a client of each; the PLAINTEXT listener stays for
the broker's own use, readiness and the topic file.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from herald_core.settings import KafkaSettings

from herald_devstack.processes import ManagedProcess, port_open
from herald_devstack.tls import make_tls

PROJECT_ROOT = Path(__file__).resolve().parents[4]
POM_DIR = PROJECT_ROOT / "deploy" / "local" / "kafka"
JARS = POM_DIR / "target" / "lib"

SERVER_PROPERTIES = """\
# Written by herald-dev: a KRaft broker+controller for local runs and tests.
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={quorum_voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{advertised_port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dir}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.cleaner.backoff.ms=1000
"""


SECURE_PROPERTIES = """\
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=\\
  org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=\\
  org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=\\
  org.apache.kafka.common.security.plain.PlainLoginModule required user_{user}="{password}";
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location={keystore}
"""

MTLS_PROPERTIES = """\
listener.name.ssl.ssl.client.auth=required
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location={keystore}
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location={truststore}
"""

SCRAM_USER = "herald"
SCRAM_MECHANISM = "SCRAM-SHA-512"
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
"""What the SASL_SSL listener accepts, all for `SCRAM_USER` with the same password."""


def server_properties(
    *,
    port: int,
    controller_port: int,
    log_dir: Path,
    advertised_port: int | None = None,
    secure_port: int | None = None,
    mtls_port: int | None = None,
    keystore: Path | None = None,
    truststore: Path | None = None,
    scram_password: str = "",
    node_id: int = 1,
    quorum_voters: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The node's server.properties: clients' listener bound on `port` and advertised on
    `advertised_port` (default `port`), the controller's direct on `controller_port`; with
    `secure_port`, a SASL_SSL listener there (`SASL_MECHANISMS` for `SCRAM_USER`, whose PLAIN
    password is `scram_password`); with `mtls_port`, an SSL listener there requiring a client
    certificate signed by the CA in `truststore`. Both serve the PEM key and certificate of
    `keystore`.

    One node alone by default; a node of a cluster (`herald_devstack.cluster`) gives its
    `node_id`, the `quorum_voters` of every node and `overrides` of properties (replication
    factors, min ISR). Pure."""
    text = SERVER_PROPERTIES.format(
        port=port,
        advertised_port=port if advertised_port is None else advertised_port,
        controller_port=controller_port,
        log_dir=log_dir,
        node_id=node_id,
        quorum_voters=quorum_voters or f"{node_id}@127.0.0.1:{controller_port}",
    )
    text = with_overrides(text, overrides or {})
    extra = {
        name: listener_port
        for name, listener_port in (("SASL_SSL", secure_port), ("SSL", mtls_port))
        if listener_port is not None
    }
    if not extra:
        return text
    listeners = "".join(f",{name}://127.0.0.1:{p}" for name, p in extra.items())
    protocols = "".join(f",{name}:{name}" for name in extra)
    lines = []
    for line in text.splitlines():
        if line.startswith(("listeners=", "advertised.listeners=")):
            line += listeners
        elif line.startswith("listener.security.protocol.map="):
            line += protocols
        lines.append(line)
    text = "\n".join(lines) + "\n"
    if secure_port is not None:
        text += SECURE_PROPERTIES.format(
            keystore=keystore, user=SCRAM_USER, password=scram_password
        )
    if mtls_port is not None:
        text += MTLS_PROPERTIES.format(keystore=keystore, truststore=truststore)
    return text


def with_overrides(text: str, overrides: Mapping[str, str]) -> str:
    """`text` (a .properties file) with each key of `overrides` set to its value: in place
    where the key is, appended where it is not. Pure."""
    pending = dict(overrides)
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0]
        if not line.startswith("#") and key in pending:
            line = f"{key}={pending.pop(key)}"
        lines.append(line)
    lines += [f"{key}={value}" for key, value in pending.items()]
    return "\n".join(lines) + "\n"


class KafkaSetupError(RuntimeError):
    """The broker could not be installed, formatted or started; the message says why."""


def ensure_jars() -> Path:
    """Download the broker jars with Maven unless they are there. Returns the jar directory."""
    if JARS.is_dir() and any(JARS.glob("kafka_2.13-*.jar")):
        return JARS
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise KafkaSetupError(
            "Java 17+ and Maven are needed to fetch and run Kafka "
            "(apt-get install openjdk-17-jre-headless maven)"
        )
    result = subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={JARS}",
        ],
        cwd=POM_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise KafkaSetupError(
            f"mvn could not fetch the Kafka jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return JARS


def kafka_version() -> str:
    """The broker version of the fetched jars, e.g. `4.1.1`."""
    jar = next(JARS.glob("kafka_2.13-*.jar"), None)
    return jar.stem.removeprefix("kafka_2.13-") if jar else "unknown"


@dataclass
class KafkaNode:
    """One broker+controller whose state lives under `state_dir/<name>` (`kafka` alone)."""

    state_dir: Path
    port: int = 19092
    controller_port: int = 19093
    heap: str = "1g"
    advertised_port: int | None = None
    """Where clients are sent (a proxy forwarding to `port`); None: `port` itself."""
    secure_port: int | None = None
    """A SASL_SSL listener (SCRAM-SHA-512, TLS) beside the PLAINTEXT one; None: none."""
    mtls_port: int | None = None
    """An SSL listener requiring a client certificate from the node's CA; None: none."""
    name: str = "kafka"
    """Its directory under `state_dir`, its pid and log files' name."""
    node_id: int = 1
    quorum_voters: str | None = None
    """`controller.quorum.voters` of a cluster's node; None: this node alone."""
    cluster_id: str | None = None
    """The id its storage is formatted with (one for every node of a cluster); None: a new one."""
    overrides: Mapping[str, str] = field(default_factory=dict)
    """server.properties set on top of the single node's (a cluster's replication factors)."""
    process: ManagedProcess = field(init=False)

    def __post_init__(self) -> None:
        self.process = ManagedProcess(self.name, self.state_dir)

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def client_port(self) -> int:
        """The port clients connect to: the advertised one."""
        return self.port if self.advertised_port is None else self.advertised_port

    @property
    def bootstrap_servers(self) -> str:
        """What every client is given: the advertised address (through the proxy, if any)."""
        return f"127.0.0.1:{self.client_port}"

    def client_settings(self, client_id: str = "herald") -> KafkaSettings:
        """`KafkaSettings` that reach this node."""
        return KafkaSettings(bootstrap_servers=self.bootstrap_servers, client_id=client_id)

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    @property
    def scram_password_file(self) -> Path:
        """The file holding the SCRAM user's password: made at the first format, in `tls_dir`."""
        path = self.tls_dir / "scram-password"
        if not path.exists():
            self.tls_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(18))
            path.chmod(0o600)
        return path

    @property
    def scram_password(self) -> str:
        """The SCRAM user's password (see `scram_password_file`)."""
        return self.scram_password_file.read_text()

    def secure_settings(self, client_id: str = "herald", **fields: Any) -> KafkaSettings:
        """`KafkaSettings` of a client of the SASL_SSL listener (`fields` override).

        Raises:
            KafkaSetupError: when the node has no `secure_port`.
        """
        if self.secure_port is None:
            raise KafkaSetupError("this node has no SASL_SSL listener (secure_port)")
        return KafkaSettings(
            **{
                "bootstrap_servers": f"127.0.0.1:{self.secure_port}",
                "client_id": client_id,
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": SCRAM_MECHANISM,
                "sasl_username": SCRAM_USER,
                "sasl_password": self.scram_password,
                "ssl_cafile": self.tls_dir / "ca.pem",
                **fields,
            }
        )

    def mtls_settings(self, client_id: str = "herald", **fields: Any) -> KafkaSettings:
        """`KafkaSettings` of a client of the mutual-TLS listener, with the client certificate
        of the node's CA (`fields` override).

        Raises:
            KafkaSetupError: when the node has no `mtls_port`.
        """
        if self.mtls_port is None:
            raise KafkaSetupError("this node has no mutual-TLS listener (mtls_port)")
        return KafkaSettings(
            **{
                "bootstrap_servers": f"127.0.0.1:{self.mtls_port}",
                "client_id": client_id,
                "security_protocol": "SSL",
                "ssl_cafile": self.tls_dir / "ca.pem",
                "ssl_certfile": self.tls_dir / "client.pem",
                "ssl_keyfile": self.tls_dir / "client.key",
                **fields,
            }
        )

    @property
    def secured(self) -> bool:
        """Whether the node has a TLS listener (and so needs its CA and certificates)."""
        return self.secure_port is not None or self.mtls_port is not None

    def _java(self, *args: str, heap: str = "256m") -> list[str]:
        return ["java", f"-Xmx{heap}", "-cp", f"{ensure_jars()}/*", *args]

    def prepare(self) -> None:
        """Write server.properties and format the storage once (a cluster id per state dir)."""
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "server.properties"
        config.write_text(
            server_properties(
                port=self.port,
                controller_port=self.controller_port,
                log_dir=self.home / "data",
                advertised_port=self.advertised_port,
                secure_port=self.secure_port,
                mtls_port=self.mtls_port,
                keystore=self.tls_dir / "broker.pem",
                truststore=self.tls_dir / "ca.pem",
                scram_password=self.scram_password if self.secure_port is not None else "",
                node_id=self.node_id,
                quorum_voters=self.quorum_voters,
                overrides=self.overrides,
            )
        )
        if self.secured and not (self.tls_dir / "broker.pem").exists():
            make_tls(self.tls_dir)
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = (
            self.cluster_id
            or (
                subprocess.run(
                    self._java("kafka.tools.StorageTool", "random-uuid"),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
        )
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
                *self._scram_users(),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise KafkaSetupError(f"StorageTool format failed:\n{result.stdout}{result.stderr}")

    def _scram_users(self) -> list[str]:
        """StorageTool's arguments creating the SASL_SSL listener's SCRAM credentials (one per
        SCRAM mechanism, same user and password); none without that listener."""
        if self.secure_port is None:
            return []
        arguments = []
        for mechanism in SASL_MECHANISMS:
            if mechanism.startswith("SCRAM-"):
                user = f"{mechanism}=[name={SCRAM_USER},password={self.scram_password}]"
                arguments += ["--add-scram", user]
        return arguments

    def start(self) -> float:
        """Start the broker (if not running); returns when the process is spawned.

        Raises:
            KafkaSetupError: when it would advertise a port nothing listens on. Checked now
                rather than left to the readiness timeout: every client would bootstrap, then
                lose its way.
        """
        advertised = self.advertised_port
        if advertised not in (None, self.port) and not port_open(self.client_port):
            raise KafkaSetupError(
                f"the broker would advertise 127.0.0.1:{advertised}, where nothing listens: "
                f"start the proxy that forwards it to port {self.port} first"
            )
        self.prepare()
        started = time.monotonic()
        self.process.start(
            self._java(
                f"-Xms{self.heap}",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "kafka.Kafka",
                str(self.home / "server.properties"),
                heap=self.heap,
            )
        )
        return started

    def stop(self) -> bool:
        return self.process.stop(timeout_s=30)

    def reset(self) -> None:
        """Stop and delete all data (topics, offsets, cluster id)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
