"""No fault: every delivery arrives once, signed, in order, with its history row."""

from __future__ import annotations

import pytest

from chaos.harness import Chaos

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


async def test_steady_state(chaos: Chaos) -> None:
    trial = await chaos.trial("steady state")
    try:
        row = await trial.run(ordered=True)
        assert row.passed, row.problems
        assert row.duplicates == 0
        await trial.a_new_notifier_receives()
    finally:
        trial.close()
