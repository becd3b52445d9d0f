"""KafkaSettings' security fields, their validation, and the client options built from them."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from herald_core.settings import KafkaSettings, tool_kafka_settings
from herald_devstack.tls import TlsFiles, make_tls
from herald_kafka.connection import (
    Diagnosis,
    KafkaConnectFailed,
    bootstrap_hosts,
    client_options,
    explain,
    faust_credentials,
    security_options,
    start_client,
)
from pydantic import ValidationError

SCRAM = {
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_username": "herald",
    "sasl_password": "s3cret-pw",
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


def test_the_default_is_plaintext_and_needs_nothing() -> None:
    kafka = KafkaSettings()
    assert kafka.security_protocol == "PLAINTEXT"
    assert security_options(kafka) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"security_protocol": "SASL_SSL"}, "SASL_SSL needs sasl_mechanism"),
        ({"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN"}, "needs sasl_username"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_username": "u",
            },
            "needs sasl_password",
        ),
        ({"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"}, "ssl_cafile"),
        ({"sasl_username": "u"}, "uses no SASL"),
        ({"ssl_cafile": "/etc/hostname"}, "uses no TLS"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
        ({"security_protocol": "TLS"}, "security_protocol"),
    ],
)
def test_what_a_secured_connection_misses_is_named(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        KafkaSettings(**fields)


def test_mtls_needs_the_certificate_and_its_key(tls: TlsFiles) -> None:
    with pytest.raises(ValidationError, match="both ssl_certfile and ssl_keyfile"):
        KafkaSettings(security_protocol="SSL", ssl_certfile=tls.client_cert)


def test_a_settings_error_never_prints_the_password() -> None:
    with pytest.raises(ValidationError) as caught:
        KafkaSettings(security_protocol="SASL_SSL", sasl_password="s3cret-pw")
    assert "s3cret-pw" not in str(caught.value)
    assert "s3cret-pw" not in repr(KafkaSettings(security_protocol="SASL_SSL", **SCRAM))


def test_the_password_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-a-mount\n")
    kafka = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password_file=secret,
    )
    assert kafka.sasl_password is not None
    assert kafka.sasl_password.get_secret_value() == "from-a-mount"
    assert KafkaSettings(**kafka.model_dump()) == kafka  # a dump carries both, and they agree


def test_a_password_file_and_another_password_conflict(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("one")
    with pytest.raises(ValidationError, match="not both"):
        KafkaSettings(sasl_password="two", sasl_password_file=secret)
    with pytest.raises(ValidationError, match="cannot be read"):
        KafkaSettings(sasl_password_file=tmp_path / "missing")


def test_the_tools_read_the_security_settings_from_herald_kafka_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "password"
    secret.write_text("tool-pw")
    for name, value in {
        "SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "SASL_MECHANISM": "SCRAM-SHA-256",
        "SASL_USERNAME": "ops",
        "SASL_PASSWORD_FILE": str(secret),
        "BOOTSTRAP_SERVERS": "ignored:1",
    }.items():
        monkeypatch.setenv(f"HERALD_KAFKA_{name}", value)
    kafka = tool_kafka_settings("broker:9093", "herald-ops")
    assert type(kafka) is KafkaSettings
    assert (kafka.bootstrap_servers, kafka.client_id) == ("broker:9093", "herald-ops")
    assert security_options(kafka)["sasl_plain_password"] == "tool-pw"
    assert security_options(kafka)["sasl_mechanism"] == "SCRAM-SHA-256"


def test_client_options_carry_servers_timeouts_and_overrides() -> None:
    kafka = KafkaSettings(bootstrap_servers="a:1,b:2", client_id="c", request_timeout_ms=5_000)
    assert client_options(kafka, group_id="g", client_id="other") == {
        "bootstrap_servers": "a:1,b:2",
        "client_id": "other",
        "request_timeout_ms": 5_000,
        "security_protocol": "PLAINTEXT",
        "group_id": "g",
    }


def test_sasl_plaintext_has_credentials_and_no_tls() -> None:
    options = security_options(KafkaSettings(security_protocol="SASL_PLAINTEXT", **SCRAM))
    assert options == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "herald",
        "sasl_plain_password": "s3cret-pw",
    }


@pytest.mark.parametrize("check_hostname", [True, False])
def test_sasl_ssl_verifies_the_broker_against_the_ca(tls: TlsFiles, check_hostname: bool) -> None:
    kafka = KafkaSettings(
        security_protocol="SASL_SSL",
        ssl_cafile=tls.ca,
        ssl_check_hostname=check_hostname,
        **SCRAM,
    )
    context = security_options(kafka)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is check_hostname
    assert len(context.get_ca_certs()) == 1


def test_mtls_loads_the_client_certificate(tls: TlsFiles) -> None:
    kafka = KafkaSettings(
        security_protocol="SSL",
        ssl_cafile=tls.ca,
        ssl_certfile=tls.client_cert,
        ssl_keyfile=tls.client_key,
    )
    assert isinstance(security_options(kafka)["ssl_context"], ssl.SSLContext)
    with pytest.raises(ssl.SSLError):  # a certificate with the wrong key
        security_options(kafka.model_copy(update={"ssl_keyfile": tls.broker.parent / "ca.pem"}))


def _alert(reason: str) -> ssl.SSLError:
    """The error Python raises when the peer's TLS alert arrives: `reason` names the alert."""
    error = ssl.SSLError(1, f"[SSL: {reason}] alert")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    "fields",
    [
        {"security_protocol": "PLAINTEXT"},
        {"security_protocol": "SSL"},
        {"security_protocol": "SASL_PLAINTEXT", **SCRAM},
        {"security_protocol": "SASL_SSL", **SCRAM},
    ],
)
def test_faust_gets_what_aiokafka_gets(tls: TlsFiles, fields: dict[str, Any]) -> None:
    if "SSL" in fields["security_protocol"]:
        fields = {**fields, "ssl_cafile": tls.ca}
    kafka = KafkaSettings(**fields)
    credentials = faust_credentials(kafka, sasl=faust.SASLCredentials, tls=faust.SSLCredentials)
    theirs = {k: v for k, v in credentials_to_aiokafka_auth(credentials).items() if v is not None}
    ours = security_options(kafka)
    assert theirs.keys() == ours.keys()
    assert {k: v for k, v in theirs.items() if k != "ssl_context"} == {
        k: v for k, v in ours.items() if k != "ssl_context"
    }


@pytest.mark.parametrize(
    ("servers", "hosts"),
    [
        ("127.0.0.1:19092", [("127.0.0.1", 19092)]),
        ("a:1, b:2", [("a", 1), ("b", 2)]),
        ("[::1]:9093", [("::1", 9093)]),
    ],
)
def test_bootstrap_hosts(servers: str, hosts: list[tuple[str, int]]) -> None:
    assert bootstrap_hosts(servers) == hosts


def _untrusted() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "unable to get local issuer certificate"
    return error


@pytest.mark.parametrize(
    ("error", "fatal", "says"),
    [
        (
            _untrusted(),
            True,
            "not trusted (unable to get local issuer certificate); check ssl_cafile",
        ),
        (ssl.SSLError(1, "wrong version number"), True, "TLS handshake"),
        (_alert("SSLV3_ALERT_BAD_CERTIFICATE"), True, "refused the client certificate"),
        (_alert("TLSV1_ALERT_UNKNOWN_CA"), True, "check ssl_certfile and ssl_keyfile"),
        (_alert("TLSV13_ALERT_CERTIFICATE_REQUIRED"), True, "refused the client certificate"),
        (SaslAuthenticationFailed("bad"), True, "SASL authentication as 'herald'"),
        (ConnectionRefusedError(111, "refused"), False, "cannot reach b:1"),
        (TimeoutError(), False, "did not answer"),
    ],
)
def test_a_failed_connection_is_explained(error: Exception, fatal: bool, says: str) -> None:
    kafka = KafkaSettings(security_protocol="SASL_PLAINTEXT", **SCRAM)
    diagnosis = explain(error, kafka, "b:1")
    assert diagnosis.fatal is fatal
    assert says in diagnosis.message
    assert "s3cret-pw" not in diagnosis.message


class _FailingClient:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    async def start(self) -> None:
        if self.error is None:
            await asyncio.sleep(60)
        raise self.error


@pytest.mark.parametrize(
    ("error", "probe", "fatal"),
    [
        (KafkaConnectionError("Unable to bootstrap"), _untrusted(), True),
        (KafkaConnectionError("Unable to bootstrap"), ConnectionRefusedError(111, "x"), False),
        (None, TimeoutError(), False),
    ],
)
async def test_a_start_that_fails_says_why(
    error: BaseException | None,
    probe: BaseException,
    fatal: bool,
) -> None:
    async def probed(kafka: KafkaSettings) -> Diagnosis:
        """What `diagnose` makes of a connection that fails with `probe`."""
        return explain(probe, kafka, "127.0.0.1:19092")

    with pytest.raises(KafkaConnectFailed) as caught:
        await start_client(_FailingClient(error), KafkaSettings(), timeout_s=0.05, diagnosis=probed)
    assert caught.value.fatal is fatal
    assert "Kafka at 127.0.0.1:19092 (PLAINTEXT)" in str(caught.value)
    assert isinstance(caught.value, KafkaConnectionError)
