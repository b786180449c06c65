"""4. Supply vs use: the providers listing a model against the requests it gets."""

from __future__ import annotations

import polars as pl

from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import CI, TOP_MODELS_TABLE, Context


def supply_use(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("supply_use", "Supply vs use")
    if not wh.has("marts.supply_use"):
        return s.add(Missing(["marts.supply_use"], "listing breadth against adoption"))
    su = wh.frame(f"select * {wh.from_quarter('marts.supply_use')} order by demand_share desc, model", ctx.p)
    if su.height == 0:
        return s.add(Paragraph(f"marts.supply_use holds no model for {ctx.period}."))
    if wh.has("marts.supply_use_summary"):
        sm = wh.one(f"select * {wh.from_quarter('marts.supply_use_summary')}", ctx.p)
        if sm:
            s.add(
                Paragraph(
                    f"Across {fmt.count(sm['n_models'])} models, the rank correlation between how many providers list a model and its share "
                    f"of requests is Spearman's rho = {fmt.num_ci(sm['spearman_rho'], sm['rho_ci_low'], sm['rho_ci_high'])} "
                    f"({CI} interval resampling models). Wide supply goes with use, but loosely: listing is not adoption."
                )
            )
    else:
        s.add(Missing(["marts.supply_use_summary"], "the breadth-vs-demand correlation"))
    plot = (
        su.filter(pl.col("demand_share") > 0)
        .with_row_index("rank_demand", offset=1)
        .select("model", "listing_breadth", "demand_share", "rank_demand")
    )
    unused = su.height - plot.height
    if plot.height:
        s.add(
            Figure(
                "supply_use",
                "Listing breadth against share of requests, one point per model (log scale; the largest models labelled)"
                + (f"; {unused} listed models without requests are not drawn." if unused else "."),
                charts.supply_use(plot),
            )
        )
    rows = [
        [
            r["model"],
            r["family"],
            fmt.num(r["listing_breadth"], 1),
            fmt.pct(r["demand_share"]),
            fmt.count(r["providers_used"]),
            fmt.pct(r["provider_top1_share"]),
        ]
        for r in su.head(TOP_MODELS_TABLE).iter_rows(named=True)
    ]
    s.add(
        Table(
            f"The {min(TOP_MODELS_TABLE, su.height)} most requested models: listing breadth (providers listing the model, daily mean) "
            "and how the traffic spreads over providers (marts.supply_use).",
            ["Model", "Family", "Breadth", "Request share", "Providers used", "Largest provider's share"],
            rows,
            align="llrrrr",
        )
    )
    return s
