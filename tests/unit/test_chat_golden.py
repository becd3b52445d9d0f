"""Golden chat payloads: each (service, case) body is stored in
`tests/golden/chat/<service>/<case>.json` and compared exactly; docs/gallery.md is rebuilt from
those files and compared too.

To accept a change: `HERALD_UPDATE_GOLDEN=1 uv run pytest tests/unit/test_chat_golden.py`, or
`uv run python -m herald_sender.chat.gallery`; then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from herald_sender.chat import RENDERERS
from herald_sender.chat.gallery import (
    GALLERY,
    golden_path,
    read_golden,
    render_gallery,
    render_golden,
    stale,
    write_all,
)
from herald_sender.chat.samples import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("HERALD_UPDATE_GOLDEN") == "1"
EXPECTED = render_golden()


@pytest.fixture(scope="module", autouse=True)
def _update_when_asked():
    if UPDATE:
        write_all(ROOT)


@pytest.mark.parametrize(("channel", "case"), list(EXPECTED), ids=lambda v: str(v))
def test_payload_matches_its_golden_file(channel, case):
    path = golden_path(ROOT, channel, case)
    assert path.is_file(), f"missing {path}: run with HERALD_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == EXPECTED[(channel, case)], (
        f"{path} is stale: run with HERALD_UPDATE_GOLDEN=1 and review the diff"
    )


def test_there_is_one_golden_file_per_service_and_case_and_no_other():
    on_disk = {
        (p.parent.name, p.stem)
        for p in (ROOT / "tests/golden/chat").glob("*/*.json")
        if p.parent.name != "schemas"
    }
    assert on_disk == {(c.value, case) for c in RENDERERS for case in SAMPLES}


def test_the_gallery_is_built_from_the_golden_files():
    gallery = (ROOT / GALLERY).read_text(encoding="utf-8")
    assert gallery == render_gallery(read_golden(ROOT)), (
        "docs/gallery.md is stale: run `uv run python -m herald_sender.chat.gallery`"
    )
    assert stale(ROOT) == []


def test_the_gallery_shows_every_case_of_every_service():
    gallery = (ROOT / GALLERY).read_text(encoding="utf-8")
    for channel in RENDERERS:
        for case in SAMPLES:
            assert f"### {channel.value} / {case}" in gallery
    assert gallery.count("Preview:") == len(SAMPLES)  # the Slack previews


def test_a_stale_gallery_is_reported(tmp_path):
    write_all(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / GALLERY).write_text("old\n", encoding="utf-8")
    assert stale(tmp_path) == [str(tmp_path / GALLERY)]
