"""The repository stands alone: its README, docs and code never point outside it.

A reader of the repository can open nothing beside it (no design notes kept elsewhere, no
product documents, no issue tracker), so `README.md`, every file under `docs/`, and every file
under `services/`, `libs/` and `bench/` (without `.venv`, `__pycache__`, `node_modules` and
binary files) must not refer to them. `find_outside_references` flags, line by line:

- `../shared` and `shared/seeds`, `shared/DESIGN…`, `shared/STYLE…`, `shared/PITFALLS…`
  (the folder of notes beside the checkout);
- the note files by name: `DESIGN.md`, `STYLE.md`, `PITFALLS.md`;
- the product documents by file or number: `seeds/00…`, `seeds/README`, `seed 002`,
  `seed-002`, `seeds 001`, and "seed document(s)";
- our issue numbers: `issue 9`, `issues 6-9`, `issue #4` (also wrapped over two lines),
  `(#12)`, `PR 12`, `pull request #12`;
- relative paths that climb above the repository root from the file's own folder: every
  Markdown link target (`[x](../../outside.md)`) and every other token that starts with
  `../`, resolved against the folder of the file that contains it.

Not flagged, on purpose: section numbers (`§5.4`), RFC sections, HTTP statuses (`HTTP 404`),
colours (`#2EB67D`, `#000000`), upstream references written `owner/repo#123` (they are public),
URLs, absolute URL paths (`/v1/apps`), and relative paths that stay inside the repository
(`docs/architecture.md`, `../README.md` from `docs/`).

The checker is a pure function over (text, repository-relative path), so the second test can
feed it planted text; the first scans the tree (about 270 files, well under a second).
"""

from __future__ import annotations

import bisect
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("README.md", "docs", "services", "libs", "bench")
SKIPPED_DIRS = frozenset(
    {".venv", "__pycache__", "node_modules", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)

# (what it catches, lower-case strings one of which must occur first, pattern). The patterns run
# on the whole text, so a phrase wrapped over two lines is found too; the cheap substring test
# keeps most files from running the regular expressions at all.
PATTERNS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "notes beside the checkout",
        ("shared",),
        re.compile(r"\.\./shared\b|\bshared/(?:seeds|DESIGN|STYLE|PITFALLS)"),
    ),
    (
        "design note file",
        ("design.md", "style.md", "pitfalls.md"),
        re.compile(r"\b(?:DESIGN|STYLE|PITFALLS)\.md\b"),
    ),
    ("product document file", ("seeds/",), re.compile(r"\bseeds/(?:\d{3}|README)")),
    ("product document number", ("seed",), re.compile(r"\bseeds?[ -]\d{3}\b", re.IGNORECASE)),
    ("product documents", ("seed doc",), re.compile(r"\bseed documents?\b", re.IGNORECASE)),
    ("issue number", ("issue",), re.compile(r"\bissues?[ \t]*\n?[ \t#]*\d+\b", re.IGNORECASE)),
    ("issue number", ("#",), re.compile(r"\((?:see )?#\d+\)")),
    (
        "pull request number",
        ("pr", "pull request"),
        re.compile(r"\b(?:PRs?|pull requests?)[ \t]+#?\d+\b", re.IGNORECASE),
    ),
)
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")
CLIMBING = re.compile(r"(?<![\w./-])(?:\.\./)+[^\s)\]'\"`,;:>*]*")
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LINK_OUT = "link leaves the repository"
PATH_OUT = "path leaves the repository"


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.text!r}"


def _leaves_repository(target: str, path: PurePosixPath) -> bool:
    """Whether a relative `target`, written in the file at `path`, resolves above the root."""
    if not target or URL_SCHEME.match(target) or target.startswith(("#", "/", "~")):
        return False
    resolved = posixpath.normpath(posixpath.join(str(path.parent), target.split("#")[0]))
    return resolved == ".." or resolved.startswith("../")


def find_outside_references(text: str, path: PurePosixPath) -> list[Finding]:
    """Every reference in `text` (the file at repository-relative `path`) to what lies outside.

    Pure: no file is read; relative paths are resolved against `path`'s folder on paper.
    """
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return bisect.bisect_right(line_starts, offset)

    found: list[Finding] = []
    lowered = text.lower()
    for kind, triggers, pattern in PATTERNS:
        if not any(trigger in lowered for trigger in triggers):
            continue
        for match in pattern.finditer(text):
            found.append(Finding(str(path), line_of(match.start()), kind, match.group(0)))
    for match in MARKDOWN_LINK.finditer(text) if "](" in text else ():
        target = match.group(1)
        if _leaves_repository(target, path):
            found.append(Finding(str(path), line_of(match.start(1)), LINK_OUT, target))
    for match in CLIMBING.finditer(text) if "../" in text else ():
        token, line = match.group(0), line_of(match.start())
        already = any(f.line == line and token in f.text for f in found)
        if _leaves_repository(token, path) and not already:
            found.append(Finding(str(path), line, PATH_OUT, token))
    return sorted(found, key=lambda f: (f.line, f.kind))


def scanned_files(root: Path) -> list[Path]:
    """README.md and every text file under the scanned folders, skipping tool and cache folders."""
    files: list[Path] = []
    for name in SCANNED:
        top = root / name
        if top.is_file():
            files.append(top)
            continue
        for candidate in top.rglob("*"):
            relative = candidate.relative_to(root).parts
            if (
                candidate.is_file()
                and not SKIPPED_DIRS.intersection(relative)
                and not any(part.endswith(".egg-info") for part in relative)
            ):
                files.append(candidate)
    return sorted(files)


def test_readme_docs_and_code_point_nowhere_outside_the_repository():
    findings: list[Finding] = []
    for file in scanned_files(ROOT):
        data = file.read_bytes()
        if b"\0" in data:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        findings += find_outside_references(text, PurePosixPath(file.relative_to(ROOT).as_posix()))
    if findings:
        pytest.fail(
            f"{len(findings)} reference(s) to what lies outside the repository (write the fact "
            "in docs/architecture.md, docs/decisions.md or docs/contributing.md and point there):\n"
            + "\n".join(str(finding) for finding in findings),
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("path", "text", "kind"),
    [
        (
            "services/x/src/x/a.py",
            '"""Retry (see ../shared/DESIGN.md)."""',
            "notes beside the checkout",
        ),
        ("services/x/src/x/a.py", "# DESIGN.md §4", "design note file"),
        ("libs/x/a.py", "as STYLE.md §3 says", "design note file"),
        ("libs/x/a.py", "(PITFALLS.md)", "design note file"),
        ("docs/a.md", "the table in `shared/seeds/004_97329849.txt`", "notes beside the checkout"),
        ("docs/a.md", "listed in seeds/README.md", "product document file"),
        ("docs/a.md", "Scalingo's JSON (seed 002)", "product document number"),
        ("docs/a.md", "Seed 004's table", "product document number"),
        ("docs/a.md", "the five seed documents", "product documents"),
        ("README.md", "metric alerts (issue 12)", "issue number"),
        ("README.md", "Issues 6-9 landed", "issue number"),
        ("bench/a.py", "the first version of issue\n6 handled", "issue number"),
        ("bench/a.py", "fixed in (#41)", "issue number"),
        ("bench/a.py", "see PR #7", "pull request number"),
        ("docs/a.md", "[the notes](../../outside.md)", LINK_OUT),
        ("docs/a.md", "[x](../../../x)", LINK_OUT),
        ("services/api/src/herald_api/a.py", 'NOTES = "../../../../../x/notes"', PATH_OUT),
    ],
)
def test_the_checker_flags_planted_references(path, text, kind):
    findings = find_outside_references(text, PurePosixPath(path))
    assert kind in {finding.kind for finding in findings}, findings
    assert all(finding.path == path for finding in findings)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("docs/a.md", "See [docs/scalingo-compat.md](docs/scalingo-compat.md) §5.4 and §5.5."),
        ("docs/a.md", "`Retry-After` (RFC 9110 §10.2.3) on an HTTP 404 or a 503"),
        ("docs/a.md", "several instances loop in recovery (faust-streaming/faust#283)"),
        ("docs/a.md", "see docs/architecture.md, `docs/decisions.md` and [x](../README.md)"),
        ("docs/a.md", "[routing](routing.md#the-rules-in-order) and [up](../docs/faces.md)"),
        ("README.md", "[arch](docs/architecture.md) and https://developers.scalingo.com/apps"),
        ("services/x/src/x/a.py", '_ACCENT = {"ok": "#1a7f37", "black": "#000000", "n": "#222"}'),
        ("services/x/src/x/a.py", "a random seed 42 for the sampler; issued tokens; issue_jwt(p)"),
        ("services/x/src/x/a.py", 'GET /v1/apps/{app}/notifiers and "../static" from the package'),
    ],
)
def test_the_checker_leaves_clean_text_alone(path, text):
    assert find_outside_references(text, PurePosixPath(path)) == []


def test_a_finding_names_file_line_and_text():
    text = "first line\nsecond (issue 9) line\n"
    (finding,) = find_outside_references(text, PurePosixPath("docs/a.md"))
    assert str(finding) == "docs/a.md:2: issue number: 'issue 9'"
