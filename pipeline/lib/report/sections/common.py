"""What every section shares: the context (the read-only warehouse and the period), the
interval level the marts publish, and the sizes of the tables."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.lib.concentration import concentration as _concentration
from pipeline.lib.report import fmt
from pipeline.lib.report.source import Warehouse

TOP_FAMILIES = 10


TOP_MODELS_TABLE = 10


TOP_MODELS_DOTS = 12


ROUTING_MODELS = 10


OVERALL_MODEL = {"all", "*", "(all)", "__all__", "total"}


# The level of every interval the marts publish (the pipeline's own default, not typed here).
CI = fmt.pct(inspect.signature(_concentration).parameters["level"].default, 0)


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

    def missing(self, *tables: str) -> list[str]:
        return [t for t in tables if not self.wh.has(t)]


PLURAL = {"family": "families", "model": "models", "provider": "providers"}


def _clip(text: str | None, n: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "\u2026"
