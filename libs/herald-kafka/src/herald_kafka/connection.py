"""How every Herald client connects to the broker: one set of options, one checked start.

`client_options(kafka)` turns `KafkaSettings` into the keyword arguments that every aiokafka
producer, consumer and admin client of Herald is built with (servers, client id, request
timeout, and the security protocol with its SASL credentials and TLS context). faust gets the
same through `herald_runtime.faust_service.faust_options`.

`start_client` starts a client and, when it fails, says why. aiokafka's `start()` does not hang
on a wrong password or an untrusted certificate: it tries each bootstrap server once and raises
`KafkaConnectionError("Unable to bootstrap from [...]")`, the cause only logged. A broker that
is still starting fails the same way, so `diagnose` connects once more, by itself, to name the
cause: a refused or unreachable server (retry: the broker may be starting), or a TLS or SASL
failure (fatal: retrying never helps). A start that takes longer than `START_TIMEOUT_S` (a
server that accepts and never answers) is cut off there.

    error                                   | diagnose says                       | fatal
    ----------------------------------------|-------------------------------------|------
    ssl.SSLCertVerificationError            | certificate not trusted: ssl_cafile | yes
    the broker's TLS alert on a certificate | client certificate refused (mTLS)   | yes
    other ssl.SSLError                      | TLS handshake failed                | yes
    SASL authentication failed (broker)     | wrong username, password, mechanism | yes
    OSError (refused, unreachable), timeout | cannot reach host:port              | no

A broker that requires a client certificate (mutual TLS) and refuses ours does so after the
client's side of a TLS 1.3 handshake is done: aiokafka sees only "connection closed". So when a
TLS connection closes like that, `diagnose` opens one more itself and reads the broker's answer
to an ApiVersions request, where the broker's TLS alert surfaces (`tls_alert`).
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context
from herald_core.settings import KafkaSettings

T = TypeVar("T")

START_TIMEOUT_S = 10.0
"""How long `start_client` lets a client's start take before it names the likely cause."""

PROBE_TIMEOUT_S = 5.0
"""How long `diagnose` waits for each bootstrap server."""


SASL_ERRORS = (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
"""What aiokafka raises when the broker refuses the SASL mechanism or the credentials."""


class KafkaConnectFailed(KafkaConnectionError):  # type: ignore[misc]  # aiokafka is untyped
    """A client could not connect; the message names the likely cause. `fatal` is true when
    retrying cannot help (a TLS or SASL failure), false when the broker may just be starting."""

    def __init__(self, message: str, *, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal


class Startable(Protocol):
    async def start(self) -> None: ...


@dataclass(frozen=True)
class Diagnosis:
    """Why a connection to one bootstrap server failed (`diagnose`)."""

    message: str
    fatal: bool


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context of `kafka` (None without TLS). Reads the CA, certificate and key files.

    Raises:
        OSError, ssl.SSLError: when a file cannot be read or holds no usable PEM.
    """
    if not kafka.uses_tls:
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=kafka.ssl_cafile, certfile=kafka.ssl_certfile, keyfile=kafka.ssl_keyfile
    )
    context.check_hostname = kafka.ssl_check_hostname
    return context


def security_options(kafka: KafkaSettings) -> dict[str, Any]:
    """The aiokafka security keyword arguments of `kafka` (protocol, SASL, TLS context)."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    if kafka.uses_sasl:
        assert kafka.sasl_password is not None  # KafkaSettings' validation guarantees it
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        options["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    if kafka.uses_tls:
        options["ssl_context"] = ssl_context(kafka)
    return options


def client_options(kafka: KafkaSettings, **overrides: Any) -> dict[str, Any]:
    """The keyword arguments of every aiokafka client Herald builds for `kafka`.

    Servers, client id, request timeout and the security options; `overrides` add or replace
    (a client's own options, such as `group_id`). Pure but for reading the TLS files.
    """
    return {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": kafka.client_id,
        "request_timeout_ms": kafka.request_timeout_ms,
        **security_options(kafka),
        **overrides,
    }


def bootstrap_hosts(bootstrap_servers: str) -> list[tuple[str, int]]:
    """`host:port` pairs of a comma-separated server list (port 9092 when none). Pure."""
    hosts = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        hosts.append((host.strip("[]"), int(port)) if host else (port, 9092))
    return hosts


def explain(error: BaseException, kafka: KafkaSettings, where: str) -> Diagnosis:
    """What a failed connection to `where` means for an operator. Pure."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return Diagnosis(
            f"TLS: the certificate of {where} is not trusted ({error.verify_message}); "
            "check ssl_cafile (and ssl_check_hostname against the name in the certificate)",
            fatal=True,
        )
    if isinstance(error, ssl.SSLError) and _is_certificate_alert(error):
        return Diagnosis(
            f"TLS: {where} refused the client certificate ({_reason(error)}); it requires one "
            "signed by a CA it trusts: check ssl_certfile and ssl_keyfile",
            fatal=True,
        )
    if isinstance(error, ssl.SSLError):
        return Diagnosis(
            f"TLS handshake with {where} failed ({getattr(error, 'reason', None) or error}); "
            f"is the listener {kafka.security_protocol}? check security_protocol and the "
            "certificate files",
            fatal=True,
        )
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SASL_ERRORS):
        return Diagnosis(
            f"SASL authentication as {kafka.sasl_username!r} ({kafka.sasl_mechanism}) at "
            f"{where} failed: check sasl_username, sasl_password and sasl_mechanism ({text})",
            fatal=True,
        )
    if isinstance(error, TimeoutError):
        return Diagnosis(
            f"{where} accepted the connection but did not answer: is it a Kafka listener "
            f"speaking {kafka.security_protocol}?",
            fatal=False,
        )
    return Diagnosis(f"cannot reach {where}: {text}", fatal=False)


def _reason(error: ssl.SSLError) -> str:
    return str(getattr(error, "reason", None) or error)


def _is_certificate_alert(error: ssl.SSLError) -> bool:
    """Whether `error` is the peer's TLS alert about our certificate (bad, unknown, missing,
    from an unknown CA), as opposed to our own failure to verify the peer's."""
    reason = _reason(error)
    return "ALERT" in reason and ("CERTIFICATE" in reason or "UNKNOWN_CA" in reason)


API_VERSIONS_REQUEST = struct.pack(">hhih", 18, 0, 1, 6) + b"herald"
"""An ApiVersions v0 request (api key 18, correlation id 1, client id "herald"), unframed."""


async def tls_alert(
    host: str, port: int, context: ssl.SSLContext, *, timeout_s: float = PROBE_TIMEOUT_S
) -> ssl.SSLError | None:
    """The TLS error a broker's listener answers a first request with, if any: where a broker
    that refuses our client certificate says so. None when it answers, or fails otherwise."""
    writer = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), timeout_s
        )
        writer.write(struct.pack(">i", len(API_VERSIONS_REQUEST)) + API_VERSIONS_REQUEST)
        await writer.drain()
        await asyncio.wait_for(reader.readexactly(4), timeout_s)
    except ssl.SSLError as exc:
        return exc
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    finally:
        if writer is not None:
            writer.close()
    return None


async def diagnose(kafka: KafkaSettings, *, timeout_s: float = PROBE_TIMEOUT_S) -> Diagnosis:
    """Connect to each bootstrap server once, with `kafka`'s security, and say what failed.

    A fatal cause (TLS, SASL) wins over a server that is merely unreachable. Never raises.
    """
    try:
        options = security_options(kafka)
    except (OSError, ssl.SSLError) as exc:
        return Diagnosis(f"cannot load the TLS files: {exc}", fatal=True)
    found: list[Diagnosis] = []
    for host, port in bootstrap_hosts(kafka.bootstrap_servers):
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host,
                    port,
                    client_id=kafka.client_id,
                    request_timeout_ms=int(timeout_s * 1000),
                    **options,
                ),
                timeout_s,
            )
        except (OSError, KafkaError, TimeoutError) as exc:
            context = options.get("ssl_context")
            if isinstance(exc, KafkaConnectionError) and context is not None:
                exc = await tls_alert(host, port, context, timeout_s=timeout_s) or exc
            found.append(explain(exc, kafka, f"{host}:{port}"))
            continue
        conn.close()
        return Diagnosis(f"{host}:{port} accepts the connection and the credentials", False)
    fatal = [d for d in found if d.fatal]
    return (fatal or found or [Diagnosis("no bootstrap server given", True)])[0]


Diagnose = Callable[[KafkaSettings], Awaitable[Diagnosis]]


async def start_client(
    client: Startable,
    kafka: KafkaSettings,
    *,
    timeout_s: float = START_TIMEOUT_S,
    diagnosis: Diagnose = diagnose,
) -> None:
    """Start an aiokafka client within `timeout_s`, or raise naming the likely cause, which
    `diagnosis` finds (`diagnose`: one more connection to each bootstrap server).

    The caller still owns the client: it stops or closes it as before, started or not.

    Raises:
        KafkaConnectFailed: the start failed or took too long; its message says why (from
            `diagnose`) and `fatal` whether trying again can help.
    """
    try:
        await asyncio.wait_for(client.start(), timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        cause = await diagnosis(kafka)
        late = f"no start within {timeout_s:g} s; " if isinstance(exc, TimeoutError) else ""
        raise KafkaConnectFailed(
            f"Kafka at {kafka.bootstrap_servers} ({kafka.security_protocol}): {late}"
            f"{cause.message} (the start raised {type(exc).__name__}: {exc})",
            fatal=cause.fatal,
        ) from exc


def faust_credentials(
    kafka: KafkaSettings, *, sasl: Callable[..., T], tls: Callable[..., T]
) -> T | None:
    """faust's `broker_credentials` for `kafka`: the same protocol, SASL and TLS context.

    `sasl` and `tls` are `faust.SASLCredentials` and `faust.SSLCredentials` (herald-kafka does
    not depend on faust). faust hands them to aiokafka as `security_options` would: SASL with a
    TLS context is SASL_SSL, without one SASL_PLAINTEXT. None for PLAINTEXT.
    """
    context = ssl_context(kafka)
    if kafka.uses_sasl:
        assert kafka.sasl_password is not None  # KafkaSettings' validation guarantees it
        return sasl(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=kafka.sasl_mechanism,
        )
    if context is not None:
        return tls(context)
    return None
