"""The SSRF policy for outgoing requests (docs/decisions.md). Pure: no I/O, no sockets, no aiohttp.

Two checks, both needed:

- `check_url` runs on the URL before every request. It refuses bad schemes, credentials,
  blocked host names and IP literals, including the legacy numeric IPv4 spellings
  (`127.1`, `0177.0.0.1`, `2130706433`, `0x7f000001`) that `getaddrinfo` would accept.
- `check_address` runs on every address a host name resolves to (the HTTP client's resolver
  calls it), because a public-looking name may resolve to a private address.

`redact_url` makes a URL safe to put in logs and error details: webhook URLs carry their secret
in the path or query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import SplitResult, urlsplit

from herald_core.errors import UnsafeUrl

MAX_URL_LENGTH = 2048
"""Longer URLs are refused; no real webhook needs more (browsers cap around 2k as well)."""

ALLOWED_SCHEMES = frozenset({"http", "https"})

DEFAULT_PORTS = {"http": 80, "https": 443}

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
"""Names of the local host, accepted only with `allow_loopback`."""

LOOPBACK_SUFFIXES = (".localhost",)
"""RFC 6761: every `*.localhost` name is the local host."""

INTERNAL_SUFFIXES = (".local", ".localdomain", ".internal", ".home.arpa", ".lan")
"""Names for private networks (mDNS, cloud metadata such as `metadata.google.internal`,
Kubernetes `*.cluster.local`). Always refused."""

# Ranges that `ipaddress` calls global (or that embed another address) but that must never be
# reached: each can route to an internal or loopback address through a translator or relay.
_BLOCKED_NETWORKS: tuple[tuple[IPv4Network | IPv6Network, str], ...] = (
    (IPv4Network("0.0.0.0/8"), "'this network' 0.0.0.0/8"),
    (IPv4Network("100.64.0.0/10"), "carrier-grade NAT 100.64.0.0/10"),
    (IPv4Network("192.0.0.0/24"), "IETF protocol assignments 192.0.0.0/24"),
    (IPv4Network("192.88.99.0/24"), "6to4 relay anycast 192.88.99.0/24"),
    (IPv4Network("198.18.0.0/15"), "benchmarking 198.18.0.0/15"),
    # Azure's platform endpoint (WireServer): public-looking, answers only inside Azure, and
    # hands out VM configuration, like 169.254.169.254 does.
    (IPv4Network("168.63.129.16/32"), "the Azure platform endpoint 168.63.129.16"),
    (IPv6Network("::/96"), "IPv4-compatible IPv6 ::/96"),
    (IPv6Network("64:ff9b::/96"), "NAT64 64:ff9b::/96"),
    (IPv6Network("64:ff9b:1::/48"), "local-use NAT64 64:ff9b:1::/48"),
    (IPv6Network("100::/64"), "discard-only 100::/64"),
    (IPv6Network("2001::/32"), "Teredo 2001::/32"),
    (IPv6Network("2001:db8::/32"), "documentation 2001:db8::/32"),
    (IPv6Network("2002::/16"), "6to4 2002::/16"),
    (IPv6Network("3fff::/20"), "documentation 3fff::/20"),  # RFC 9637; Python 3.11 says global
    (IPv6Network("fec0::/10"), "site-local fec0::/10"),
)

# Everything at or below space, DEL, and the backslash (which browsers read as "/", so a
# parser differential could move the host).
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_HOSTNAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")


@dataclass(frozen=True, slots=True)
class SafeUrl:
    """A URL that passed `check_url`. `host` is lower-case ASCII, without IPv6 brackets."""

    url: str
    scheme: str
    host: str
    port: int
    path_and_query: str


def check_url(url: str, *, allow_loopback: bool = False) -> SafeUrl:
    """Check a URL against the SSRF policy. Pure.

    Host names are checked by name only here; their resolved addresses must still go through
    `check_address`.

    Raises:
        UnsafeUrl: with the reason; the detail never contains the path or query.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"URL longer than {MAX_URL_LENGTH} characters")
    if _FORBIDDEN_CHARS.search(url) or any(ch.isspace() for ch in url):
        raise UnsafeUrl("URL contains whitespace, control characters or a backslash")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeUrl(f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if "@" in parts.netloc:
        raise UnsafeUrl("credentials (userinfo) in the URL are not allowed")
    host = _check_host(parts, allow_loopback=allow_loopback)
    port = _port(parts, scheme)
    path_and_query = parts.path or "/"
    if parts.query:
        path_and_query += "?" + parts.query
    return SafeUrl(url=url, scheme=scheme, host=host, port=port, path_and_query=path_and_query)


def check_address(ip: str | IPv4Address | IPv6Address, *, allow_loopback: bool = False) -> None:
    """Refuse an address that is not publicly routable. Pure.

    IPv4-mapped IPv6 addresses are judged by their IPv4 address. With `allow_loopback`,
    127.0.0.0/8 and ::1 are accepted, and nothing else that is not global.

    Raises:
        UnsafeUrl: naming the address and the class that refused it.
    """
    addr = ip if isinstance(ip, IPv4Address | IPv6Address) else _parse_address(ip)
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        if allow_loopback:
            return
        raise UnsafeUrl(f"address {addr} is loopback")
    for network, name in _BLOCKED_NETWORKS:
        if addr.version == network.version and addr in network:
            raise UnsafeUrl(f"address {addr} is in {name}")
    for refused, name in (
        (addr.is_unspecified, "unspecified"),
        (addr.is_multicast, "multicast"),
        (addr.is_link_local, "link-local"),
        (addr.is_private, "private"),
        (addr.is_reserved, "reserved"),
    ):
        if refused:
            raise UnsafeUrl(f"address {addr} is {name}")
    if not addr.is_global:
        raise UnsafeUrl(f"address {addr} is not globally routable")


def redact_url(url: str) -> str:
    """Keep scheme, host and port; replace everything else with "…". Pure; never raises."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) or not host:
            return "<redacted url>"
        if not host.isprintable() or _FORBIDDEN_CHARS.search(host) or "/" in host:
            host = "<redacted host>"
        elif ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        netloc = host if port is None else f"{host}:{port}"
        hidden = parts.netloc.rpartition("@")[0] or parts.path.strip("/") or parts.query
        return f"{scheme}://{netloc}/…" if hidden or parts.fragment else f"{scheme}://{netloc}"
    except Exception:  # a redactor that raises would hide the error it was asked to describe
        return "<redacted url>"


def _check_host(parts: SplitResult, *, allow_loopback: bool) -> str:
    raw = parts.hostname
    if not raw:
        raise UnsafeUrl("URL has no host")
    if "[" in parts.netloc:  # a bracketed literal is IPv6 and nothing else
        if "%" in raw:
            raise UnsafeUrl("IPv6 zone identifiers are not allowed")
        try:
            addr = IPv6Address(raw)
        except ValueError:
            raise UnsafeUrl("host in brackets is not a valid IPv6 address") from None
        check_address(addr, allow_loopback=allow_loopback)
        return raw
    host = _to_ascii(raw)
    name = host[:-1] if host.endswith(".") else host
    if _NUMERIC_LABEL.match(name.rpartition(".")[2]):
        # Ends in a number: an IPv4 literal to getaddrinfo and to browsers (WHATWG URL).
        _check_ipv4_literal(name, allow_loopback=allow_loopback)
        return name
    if not _HOSTNAME.match(name):
        raise UnsafeUrl(f"host {name!r} is not a valid host name")
    _check_name(name, allow_loopback=allow_loopback)
    return host


def _to_ascii(host: str) -> str:
    # IDNA maps look-alikes (e.g. full-width digits) to ASCII; check what will be resolved.
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsafeUrl("host is not a valid internationalised domain name") from None


def _check_ipv4_literal(name: str, *, allow_loopback: bool) -> None:
    try:
        addr = IPv4Address(name)
    except ValueError:
        # 127.1, 0177.0.0.1, 2130706433, 0x7f000001: inet_aton reads them all, so their
        # address is anyone's guess between parsers. Only the dotted quad is accepted.
        raise UnsafeUrl(f"host {name!r} is not a canonical dotted-quad IPv4 address") from None
    check_address(addr, allow_loopback=allow_loopback)


def _check_name(name: str, *, allow_loopback: bool) -> None:
    if name in LOOPBACK_NAMES or name.endswith(LOOPBACK_SUFFIXES):
        if allow_loopback:
            return
        raise UnsafeUrl(f"host {name!r} is the local host")
    if name.endswith(INTERNAL_SUFFIXES):
        raise UnsafeUrl(f"host {name!r} is an internal name")
    if "." not in name:
        # Single labels are completed by the resolver's search domains (cluster services).
        raise UnsafeUrl(f"host {name!r} is not a fully qualified domain name")


def _parse_address(text: str) -> IPv4Address | IPv6Address:
    try:
        return ip_address(text)
    except ValueError:
        raise UnsafeUrl(f"{text!r} is not a valid IP address") from None


def _port(parts: SplitResult, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl("port is not a number in 1-65535") from None
    if port is None:
        return DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise UnsafeUrl("port is not a number in 1-65535")
    return port
