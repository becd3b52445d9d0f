"""Which ledger scenarios a run collects: every one in a full run, else only those marked with
the folder's short marker (the others deselected, not skipped). Shared by tests/chaos and
tests/cluster."""

from __future__ import annotations

from pathlib import Path

import pytest


def keep_short_only(
    config: pytest.Config, items: list[pytest.Item], folder: Path, marker: str
) -> None:
    """Deselect the items under `folder` that lack `marker`."""
    ours = [item for item in items if folder in Path(str(item.path)).parents]
    dropped = [item for item in ours if item.get_closest_marker(marker) is None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
