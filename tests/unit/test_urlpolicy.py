"""The SSRF policy: check_url, check_address, redact_url (herald_core.urlpolicy)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from herald_core.errors import FailureReason, UnsafeUrl
from herald_core.urlpolicy import MAX_URL_LENGTH, SafeUrl, check_address, check_url, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://example.com/hook",
            SafeUrl("https://example.com/hook", "https", "example.com", 443, "/hook"),
        ),
        (
            "http://93.184.216.34:8080/x",
            SafeUrl("http://93.184.216.34:8080/x", "http", "93.184.216.34", 8080, "/x"),
        ),
        (
            "https://[2606:4700::1]/a?b=c",
            SafeUrl("https://[2606:4700::1]/a?b=c", "https", "2606:4700::1", 443, "/a?b=c"),
        ),
        (
            "HTTPS://Hooks.Slack.COM",
            SafeUrl("HTTPS://Hooks.Slack.COM", "https", "hooks.slack.com", 443, "/"),
        ),
        (
            "https://hooks.example.com:8443/p#frag",
            SafeUrl(
                "https://hooks.example.com:8443/p#frag", "https", "hooks.example.com", 8443, "/p"
            ),
        ),
    ],
)
def test_check_url_accepts(url, expected):
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:93.184.216.34]/",
        "http://cafe.be/",  # hex letters and dots only, but a name: last label is not numeric
        "https://a_b.example.com/",
        "https://bücher.example/x",
        "https://example.com./",
        "http://1.2.3.4.example.com/",
    ],
)
def test_check_url_accepts_unusual_but_public(url):
    check_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/f", "scheme 'ftp' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://example.com", "scheme 'gopher' is not allowed"),
        ("//example.com/x", "scheme '(none)' is not allowed"),
        ("example.com/x", "scheme '(none)' is not allowed"),
        ("http://user:pw@example.com/", "credentials"),
        ("http://user@example.com/", "credentials"),
        ("http://", "no host"),
        ("http:///path", "no host"),
        ("http://127.0.0.1/", "127.0.0.1 is loopback"),
        ("http://127.8.9.10:9000/", "127.8.9.10 is loopback"),
        ("http://[::1]/", "::1 is loopback"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 is loopback"),
        ("http://[::ffff:10.0.0.1]/", "10.0.0.1 is private"),
        ("http://10.0.0.1/", "is private"),
        ("http://172.16.5.4/", "is private"),
        ("http://172.31.255.255/", "is private"),
        ("http://192.168.1.1/", "is private"),
        ("http://169.254.169.254/latest/meta-data/", "is link-local"),
        ("http://100.64.0.1/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "0.0.0.0/8"),
        ("http://224.0.0.1/", "is multicast"),
        ("http://240.0.0.1/", "240.0.0.1 is"),
        ("http://255.255.255.255/", "255.255.255.255 is"),
        ("http://198.18.0.1/", "benchmarking"),
        ("http://168.63.129.16/", "Azure platform endpoint"),
        ("http://[::ffff:168.63.129.16]/", "Azure platform endpoint"),
        ("http://[fe80::1]/", "is link-local"),
        ("http://[fc00::1]/", "is private"),
        ("http://[fd12:3456::1]/", "is private"),
        ("http://[ff02::1]/", "is multicast"),
        ("http://[::]/", "IPv4-compatible"),
        ("http://[64:ff9b::7f00:1]/", "NAT64"),
        ("http://[64:ff9b:1::a00:1]/", "NAT64"),
        ("http://[2002:7f00:1::]/", "6to4"),
        ("http://[2001::1]/", "Teredo"),
        ("http://[3fff::1]/", "documentation 3fff::/20"),
        ("http://[3fff:fff:ffff::1]/", "documentation 3fff::/20"),
        ("http://[::7f00:1]/", "IPv4-compatible"),
        ("http://[fec0::1]/", "site-local"),
        ("http://[fe80::1%25eth0]/", "zone identifiers"),
        ("http://[v1.example]/", "not a valid IPv6 address"),
        ("http://0177.0.0.1/", "not a canonical dotted-quad"),
        ("http://127.1/", "not a canonical dotted-quad"),
        ("http://2130706433/", "not a canonical dotted-quad"),
        ("http://0x7f000001/", "not a canonical dotted-quad"),
        ("http://0X7F.0.0.1/", "not a canonical dotted-quad"),
        ("http://017700000001/", "not a canonical dotted-quad"),
        ("http://93.184.216.034/", "not a canonical dotted-quad"),  # even when public
        ("http://example.0x1/", "not a canonical dotted-quad"),
        ("http://localhost/", "is the local host"),
        ("http://LOCALHOST:8080/", "is the local host"),
        ("http://localhost./", "is the local host"),
        ("http://foo.localhost/", "is the local host"),
        ("http://ip6-localhost/", "is the local host"),
        ("http://printer.local/", "internal name"),
        ("http://metadata.google.internal/", "internal name"),
        ("http://svc.ns.svc.cluster.local/", "internal name"),
        ("http://kafka:9092/", "not a fully qualified"),
        ("http://example.com:0/", "port"),
        ("http://example.com:65536/", "port"),
        ("http://example.com:http/", "port"),
        ("http://exa%6dple.com/", "not a valid host name"),
        ("http://exa mple.com/", "whitespace"),
        (" http://example.com/", "whitespace"),
        ("http://example.com/\n", "whitespace"),
        ("http://example.com/a\tb", "whitespace"),
        ("http://example.com/\x00", "control"),
        ("http://example.com/\u2028", "whitespace"),
        ("http://example.com\\@127.0.0.1/", "backslash"),
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "127.0.0.1 is loopback"),  # full-width
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "longer than"),
    ],
)
def test_check_url_refuses(url, reason):
    with pytest.raises(UnsafeUrl) as info:
        check_url(url)
    assert reason in info.value.detail
    assert info.value.reason is FailureReason.UNSAFE_URL


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://127.9.9.9/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:8080/",
        "http://localhost./",
        "http://api.localhost/",
    ],
)
def test_check_url_allow_loopback_accepts_loopback(url):
    check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/", "is private"),
        ("http://192.168.0.10/", "is private"),
        ("http://169.254.169.254/", "is link-local"),
        ("http://0.0.0.0/", "0.0.0.0/8"),
        ("http://[fe80::1]/", "is link-local"),
        ("http://[64:ff9b::7f00:1]/", "NAT64"),
        ("http://127.1/", "not a canonical"),
        ("http://0x7f000001/", "not a canonical"),
        ("http://printer.local/", "internal name"),
        ("http://kafka/", "not a fully qualified"),
        ("ftp://127.0.0.1/", "scheme"),
    ],
)
def test_check_url_allow_loopback_refuses_everything_else(url, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    "ip",
    [
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700::1",
        "2a00:1450:4007:80e::200e",
        "::ffff:93.184.216.34",
        IPv4Address("8.8.8.8"),
        IPv6Address("2001:4860:4860::8888"),
    ],
)
def test_check_address_accepts_global(ip):
    check_address(ip)


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("::ffff:192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "0.0.0.0/8"),
        ("::", "IPv4-compatible"),
        ("224.0.0.251", "multicast"),
        ("ff02::fb", "multicast"),
        ("192.0.2.1", "private"),  # TEST-NET-1
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("168.63.129.16", "Azure platform endpoint"),
        ("64:ff9b::a00:1", "NAT64"),
        ("64:ff9b:1::1", "NAT64"),
        ("2002:c000:0204::1", "6to4"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
        ("192.88.99.1", "6to4 relay"),
        ("100::1", "discard-only"),
        ("not-an-ip", "not a valid IP address"),
        (IPv4Address("172.16.0.1"), "private"),
        (IPv6Address("fc00::1"), "private"),
    ],
)
def test_check_address_refuses(ip, reason):
    with pytest.raises(UnsafeUrl, match=reason):
        check_address(ip)


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"])
def test_check_address_allow_loopback_accepts_loopback(ip):
    check_address(ip, allow_loopback=True)


@pytest.mark.parametrize(
    "ip", ["10.0.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::", "fc00::1", "100.64.0.1"]
)
def test_check_address_allow_loopback_still_refuses_private(ip):
    with pytest.raises(UnsafeUrl):
        check_address(ip, allow_loopback=True)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/…"),
        ("https://example.com/hook?token=SECRET", "https://example.com/…"),
        ("https://example.com?token=SECRET", "https://example.com/…"),
        ("https://example.com/#SECRET", "https://example.com/…"),
        ("https://user:SECRET@example.com", "https://example.com/…"),
        ("https://user:SECRET@example.com:8443/x", "https://example.com:8443/…"),
        ("https://example.com", "https://example.com"),
        ("https://example.com/", "https://example.com"),
        ("HTTP://Example.COM:80/SECRET", "http://example.com:80/…"),
        ("http://[2606:4700::1]:8080/SECRET", "http://[2606:4700::1]:8080/…"),
        ("http://example.com:99999/SECRET", "http://example.com/…"),
        ("example.com/SECRET", "<redacted url>"),
        ("http://[broken/SECRET", "<redacted url>"),
        ("", "<redacted url>"),
        ("\x00\x01SECRET", "<redacted url>"),
    ],
)
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted
    assert "SECRET" not in redact_url(url)


def test_refusal_detail_never_contains_the_path_or_query():
    for url in (
        "http://10.0.0.1/SECRET?k=SECRET",
        "http://user:SECRET@example.com/",
        "ftp://example.com/SECRET",
        "http://example.com:99999/SECRET",
        "http://127.1/SECRET",
        "http://localhost/SECRET",
        "http://example.com/SECRET\n",
    ):
        with pytest.raises(UnsafeUrl) as info:
            check_url(url)
        assert "SECRET" not in str(info.value), url


def test_urlpolicy_imports_no_io_library():
    import herald_core.urlpolicy as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for name in ("aiohttp", "socket", "asyncio", "requests", "httpx"):
        assert f"import {name}" not in source
