"""marts.concentration_lorenz: the Lorenz curve of demand per period, level and measure, from
(0, 0) to (1, 1), smallest unit first, for charts."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.lib.concentration import lorenz
from pipeline.lib.demand import LEVELS, MEASURES, finite_or_null, significant
from pipeline.lib.marts.concentration import per_unit

SCHEMA = {
    "period": pl.String,
    "period_type": pl.String,
    "level": pl.String,
    "measure": pl.String,
    "point": pl.Int64,
    "unit": pl.String,
    "unit_share": pl.Float64,
    "demand_share": pl.Float64,
}


def concentration_lorenz(periods: pl.DataFrame) -> pl.DataFrame:
    """From core_demand__daily with its `period` and `period_type` (demand.with_periods)."""
    curves = []
    for (period, period_type), part in periods.group_by(["period", "period_type"], maintain_order=True):
        for level in LEVELS:
            for measure in MEASURES:
                units = per_unit(part, level, measure)
                names, totals = np.array(units[level].to_list()), units[measure].to_numpy()
                keep = totals > 0
                # poorest first; ties (to 12 significant digits: float sums differ in the last bits
                # between runs) by name, so the curve's labels never depend on summation order
                order = np.lexsort((names[keep], significant(totals[keep])))
                unit_share, demand_share = lorenz(totals[keep])
                curves.append(
                    pl.DataFrame(
                        {
                            "period": period,
                            "period_type": period_type,
                            "level": level,
                            "measure": measure,
                            "point": np.arange(unit_share.size),
                            "unit": [None, *names[keep][order].tolist()],
                            "unit_share": unit_share,
                            "demand_share": demand_share,
                        },
                        schema_overrides={"unit": pl.String},
                    )
                )
    return finite_or_null(pl.concat(curves, how="vertical_relaxed") if curves else pl.DataFrame(schema=SCHEMA))
