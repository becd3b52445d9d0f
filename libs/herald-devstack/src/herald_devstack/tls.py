"""Throwaway TLS material for a local broker: a CA and a certificate it signs for 127.0.0.1.

For the secured local broker (`KafkaNode(secured=True)`) and the tests of a secured connection.
The keys are unencrypted and live in the node's home: never for anything but a local run.

    ca.pem          the CA certificate: what a client trusts (`ssl_cafile`)
    broker.pem      the broker's PKCS#8 key and certificate, as Kafka's PEM keystore reads them
    client.pem      a client certificate and client.key, for mTLS trials
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    """Where `make_tls` wrote the CA and the certificates."""

    ca: Path
    broker: Path
    client_cert: Path
    client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    usage: x509.ObjectIdentifier | None,
    now: dt.datetime,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
    )
    if usage is None:  # the CA
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls(directory: Path, *, ca_name: str = "Herald local CA") -> TlsFiles:
    """Write a new CA, a broker certificate for 127.0.0.1 and localhost, and a client
    certificate into `directory` (created); returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue(ca_name, ca_key, None, usage=None, now=now)
    issuer = (ca.subject, ca_key)
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _issue("127.0.0.1", broker_key, issuer, usage=ExtendedKeyUsageOID.SERVER_AUTH, now=now)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue(
        "herald-client", client_key, issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH, now=now
    )
    files = TlsFiles(
        ca=directory / "ca.pem",
        broker=directory / "broker.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )
    files.ca.write_bytes(_pem_cert(ca))
    files.broker.write_bytes(_pem_key(broker_key) + _pem_cert(broker) + _pem_cert(ca))
    files.client_cert.write_bytes(_pem_cert(client))
    files.client_key.write_bytes(_pem_key(client_key))
    for path in (files.broker, files.client_key):
        path.chmod(0o600)
    return files
