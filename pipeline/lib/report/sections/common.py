"""What every section shares: the context (the read-only warehouse and the period), the
interval level the marts publish, and the sizes of the tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.report import fmt
from pipeline.lib.report.model import Bullets, Figure, Paragraph, Section, Table
from pipeline.lib.report.source import Warehouse
from pipeline.lib.stats import INTERVAL_LEVEL

TOP_FAMILIES = 10


TOP_MODELS_TABLE = 10


TOP_MODELS_DOTS = 12


ROUTING_MODELS = 10


# Leaderboard pages when the run names no headline model the drop holds (the public study has two).
LEADERBOARD_MODELS = 2


# The level of every interval the marts publish (stated once, pipeline/lib/stats.py; published
# in marts.run_parameters), not typed here.
CI = fmt.pct(INTERVAL_LEVEL, 0)


@dataclass
class Context:
    wh: Warehouse
    period: str
    raw_dir: Path | None = None
    # results two sections share (the warehouse is read-only while the report is built)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def p(self) -> dict:
        return {"period": self.period}

    def period_row(self, table: str) -> dict:
        """The reported period's row of a one-row-per-period mart ({} when the warehouse lacks the
        mart or the row), read once however many sections quote it."""
        key = f"row:{table}"
        if key not in self.memo:
            found = self.wh.has(table) and self.wh.one(f"select * from {table} where period = $period", self.p)
            self.memo[key] = found or {}
        return self.memo[key]

    def missing(self, *tables: str) -> list[str]:
        return [t for t in tables if not self.wh.has(t)]


PLURAL = {"family": "families", "model": "models", "provider": "providers"}


def _clip(text: str | None, n: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def say_if_empty(s: Section, line: str) -> Section:
    """A section whose marts hold nothing for the period says so in one line, first (before any
    note of a mart the warehouse lacks), rather than showing a bare heading."""
    if not any(isinstance(b, (Paragraph, Table, Figure, Bullets)) for b in s.blocks):
        s.blocks.insert(0, Paragraph(line))
    return s
