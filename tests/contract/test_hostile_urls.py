"""The SSRF policy against the hostile-URL list (`hostile_urls.txt`, its format in its header).

Every URL of a `refuse` section is refused by `check_url` with its defaults (no loopback), with
a reason; every URL of an `allow` section passes. The loopback opt-in of tests and local runs
relaxes loopback only: a hostile URL it lets through has a loopback host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

import pytest
from herald_core.errors import FailureReason, UnsafeUrl
from herald_core.urlpolicy import LOOPBACK_NAMES, LOOPBACK_SUFFIXES, check_url

URL_FILE = Path(__file__).with_name("hostile_urls.txt")
PLACEHOLDERS = {"<TAB>": "\t", "<LF>": "\n", "<CR>": "\r", "<NUL>": "\x00", "<SP>": " "}
SECTION = re.compile(r"^# (refuse|allow): (\S.*)$")
MIN_HOSTILE, MIN_PER_CATEGORY = 60, 3
REQUIRED_CATEGORIES = (
    "loopback",
    "numeric encodings",
    "IPv6 loopback",
    "IPv4-mapped",
    "private and special IPv4",
    "special IPv6",
    "parser confusion",
    "Unicode forms",
    "schemes",
)


@dataclass(frozen=True)
class Entry:
    verdict: str  # "refuse" or "allow"
    category: str
    url: str
    line: int


def load_entries(path: Path = URL_FILE) -> list[Entry]:
    """The file's URLs with their section; placeholders replaced."""
    entries: list[Entry] = []
    section: tuple[str, str] | None = None
    # split("\n"), not splitlines(): the Unicode section holds characters splitlines() breaks on.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip() or line.startswith("##"):
            continue
        header = SECTION.match(line)
        if header:
            section = (header[1], header[2])
            continue
        assert not line.startswith("#"), f"line {number}: a header is '# refuse|allow: name'"
        assert section is not None, f"line {number}: URL before the first section"
        assert line == line.strip(" \t"), f"line {number}: write edge spaces as <SP>"
        url = line
        for placeholder, char in PLACEHOLDERS.items():
            url = url.replace(placeholder, char)
        entries.append(Entry(section[0], section[1], url, number))
    return entries


ENTRIES = load_entries()
HOSTILE = [e for e in ENTRIES if e.verdict == "refuse"]
PUBLIC = [e for e in ENTRIES if e.verdict == "allow"]


def params(entries: list[Entry]) -> list[object]:
    return [pytest.param(e.url, id=f"L{e.line}-{ascii(e.url)[1:-1][:60]}") for e in entries]


def test_the_list_covers_every_category():
    assert len(HOSTILE) >= MIN_HOSTILE
    categories = {e.category for e in HOSTILE}
    for required in REQUIRED_CATEGORIES:
        assert any(c.startswith(required) for c in categories), required
    for category in categories:
        assert sum(e.category == category for e in HOSTILE) >= MIN_PER_CATEGORY, category
    assert len(PUBLIC) >= 10
    urls = [e.url for e in ENTRIES]
    assert len(urls) == len(set(urls)), "a URL is listed twice"


@pytest.mark.parametrize("url", params(HOSTILE))
def test_hostile_url_is_refused_with_a_reason(url):
    with pytest.raises(UnsafeUrl) as info:
        check_url(url)
    assert info.value.reason is FailureReason.UNSAFE_URL
    assert info.value.detail.strip()


@pytest.mark.parametrize("url", params(PUBLIC))
def test_public_url_is_allowed(url):
    assert check_url(url).url == url


@pytest.mark.parametrize("url", params(HOSTILE))
def test_loopback_opt_in_lets_through_loopback_hosts_only(url):
    try:
        checked = check_url(url, allow_loopback=True)
    except UnsafeUrl:
        return
    host = checked.host.rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(LOOPBACK_SUFFIXES):
        return
    address = ip_address(host)
    mapped = getattr(address, "ipv4_mapped", None)
    assert (mapped or address).is_loopback, f"{url!r} passes with allow_loopback"
