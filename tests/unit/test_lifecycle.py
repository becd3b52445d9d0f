"""A service whose start fails half-way closes what it had opened (`undone_on_failure`)."""

from __future__ import annotations

from typing import Any

import pytest
from herald_runtime.lifecycle import undone_on_failure


class Recorder:
    def __init__(self) -> None:
        self.exits: list[tuple[Any, ...]] = []

    async def __aexit__(self, *exc: Any) -> None:
        self.exits.append(exc)


async def test_a_failed_block_exits_the_service_with_its_error_and_reraises() -> None:
    service = Recorder()
    with pytest.raises(LookupError, match="no topic"):
        async with undone_on_failure(service):
            raise LookupError("no topic")
    assert len(service.exits) == 1
    kind, error, _ = service.exits[0]
    assert kind is LookupError
    assert str(error) == "no topic"


async def test_a_block_that_succeeds_leaves_the_service_running() -> None:
    service = Recorder()
    async with undone_on_failure(service):
        pass
    assert service.exits == []
