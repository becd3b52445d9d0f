"""Who may post events to ingest: a producer token, a client certificate, or anyone when open.

A producer sends `Authorization: Bearer <token>`; the token is compared with every configured one
in constant time (`hmac.compare_digest`), so an answer's timing tells nothing of how close a guess
was. With `client_cafile` ingest serves HTTPS and asks each client for a certificate
(`server_ssl_context`): a request that came with one the CAs signed is a producer, token or not.
A refusal is a 401 problem with `WWW-Authenticate` (RFC 6750); /livez, /readyz and /metrics
stay open to probes and scrapers.
"""

from __future__ import annotations

import hmac
import ssl

from aiohttp import web
from herald_runtime.problems import problem

from herald_ingest.settings import IngestAuthSettings

REALM = "herald-ingest"


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for anything else. Pure."""
    scheme, _, credentials = (header or "").partition(" ")
    token = credentials.strip()
    return token if scheme.lower() == "bearer" and token else None


def token_matches(given: str, tokens: tuple[str, ...]) -> bool:
    """True when `given` is one of `tokens`; every token is compared, each in constant time."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found


def has_client_certificate(request: web.Request) -> bool:
    """True when the request came over TLS with a client certificate the client CAs signed
    (the handshake verified it: an unverified one never gets this far)."""
    transport = request.transport
    return transport is not None and bool(transport.get_extra_info("peercert"))


def refusal(request: web.Request, auth: IngestAuthSettings) -> web.Response | None:
    """The 401 a request gets, or None when it may post events."""
    if auth.open or (auth.mtls and has_client_certificate(request)):
        return None
    given = bearer_token(request.headers.get("Authorization"))
    if given is not None and token_matches(given, auth.token_values):
        return None
    if given is None:
        detail = "a producer token is required: Authorization: Bearer <token>"
        challenge = f'Bearer realm="{REALM}"'
    else:
        detail = "the producer token is not valid"
        challenge = f'Bearer realm="{REALM}", error="invalid_token"'
    response = problem(401, detail, kind="unauthorized")
    response.headers["WWW-Authenticate"] = challenge
    return response


def server_ssl_context(auth: IngestAuthSettings) -> ssl.SSLContext | None:
    """HTTPS with `tls_certfile`, asking clients for a certificate when `client_cafile` is set;
    None for plain HTTP.

    Clients may still come without a certificate (CERT_OPTIONAL): probes and token-holding
    producers do; only a certificate the CAs did not sign fails the handshake.

    Raises:
        OSError, ssl.SSLError: a file that cannot be read or is no PEM.
    """
    if auth.tls_certfile is None or auth.tls_keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(auth.tls_certfile, auth.tls_keyfile)
    if auth.client_cafile is not None:
        context.load_verify_locations(cafile=auth.client_cafile)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context
