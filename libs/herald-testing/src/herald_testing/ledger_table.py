"""The ledger's table: one `Row` per scenario, and the text the test run prints. Pure."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

PASS, FAIL = "pass", "FAIL"


@dataclass(frozen=True)
class Row:
    """One scenario's line of the table."""

    scenario: str
    events: int
    expected: int
    delivered: int
    dead_lettered: int
    duplicates: int
    lost: int
    phantom: int
    retried: int = 0
    max_lag: int | None = None
    recovery_s: float | None = None
    verdict: str = PASS
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.verdict == PASS


COLUMNS = (
    "scenario",
    "events",
    "expected",
    "delivered",
    "dead-lettered",
    "duplicates",
    "lost",
    "phantom",
    "503 retried",
    "max lag",
    "recovery s",
    "verdict",
)


def row_cells(row: Row) -> list[str]:
    """A row as the table's text cells. Pure."""
    return [
        row.scenario,
        str(row.events),
        str(row.expected),
        str(row.delivered),
        str(row.dead_lettered),
        str(row.duplicates),
        str(row.lost),
        str(row.phantom),
        str(row.retried),
        "-" if row.max_lag is None else str(row.max_lag),
        "-" if row.recovery_s is None else f"{row.recovery_s:.1f}",
        row.verdict,
    ]


def render_table(rows: Sequence[Row], *, title: str = "Delivery ledger") -> str:
    """The rows as a text table (rich, no colour), then each failed row's problems. Pure."""
    table = Table(title=title, title_justify="left")
    for index, name in enumerate(COLUMNS):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row_cells(row))
    out = io.StringIO()
    Console(file=out, width=160, color_system=None, force_terminal=False).print(table)
    for row in rows:
        for problem in row.problems:
            out.write(f"{row.scenario}: {problem}\n")
    return out.getvalue()
