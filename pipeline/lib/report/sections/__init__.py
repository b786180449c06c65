"""The report's sections, in the order of the public study, each read from the marts.

Every builder takes the context (the read-only warehouse and the period) and returns a
Section of plain-text blocks; a mart the warehouse lacks becomes a visible Missing note,
never an invented number. Numbers in the text are formatted here (fmt) from query results.

One module per section (common: what they share).
"""

from __future__ import annotations

from pipeline.lib.report.sections.changes import changes
from pipeline.lib.report.sections.common import CI, Context
from pipeline.lib.report.sections.coverage import coverage, provenance
from pipeline.lib.report.sections.demand import demand
from pipeline.lib.report.sections.heterogeneity import heterogeneity
from pipeline.lib.report.sections.inertia import inertia
from pipeline.lib.report.sections.leaderboard import leaderboards
from pipeline.lib.report.sections.regimes import regimes
from pipeline.lib.report.sections.reliability import reliability
from pipeline.lib.report.sections.routing import routing
from pipeline.lib.report.sections.supply_use import supply_use
from pipeline.lib.report.sections.verification import verification

# A builder returns a section, or a list of them (a leaderboard page per headline model).
SECTIONS = (
    coverage,
    demand,
    inertia,
    supply_use,
    heterogeneity,
    reliability,
    verification,
    changes,
    regimes,
    routing,
    leaderboards,
)

__all__ = ["CI", "SECTIONS", "Context", "provenance"]
