"""2. Demand concentration: shares, Gini and top-k of families, models and providers."""

from __future__ import annotations

import polars as pl

from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import CI, TOP_FAMILIES, Context, say_if_empty


def demand(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("demand", "Demand concentration")
    lacking = ctx.missing(
        "marts.family_demand", "marts.family_demand_tail", "marts.concentration", "marts.concentration_lorenz"
    )
    conc = None
    if wh.has("marts.concentration"):
        conc = wh.frame(f"select * {wh.from_quarter('marts.concentration')} order by level, measure", ctx.p)
        families = conc.filter((pl.col("level") == "family") & (pl.col("measure") == "requests"))
        if families.height:
            fam = families.row(0, named=True)
            s.add(
                Paragraph(
                    f"Across {fmt.count(fam['n'])} model families, the largest took {fmt.pct(fam['top1_share'])} of requests and the "
                    f"five largest {fmt.pct_ci(fam['top5_share'], fam['top5_ci_low'], fam['top5_ci_high'])}; the Gini coefficient is "
                    f"{fmt.num_ci(fam['gini'], fam['gini_ci_low'], fam['gini_ci_high'], 3)} and the HHI {fmt.num(fam['hhi'], 3)}. "
                    f"Intervals are {CI} bootstrap intervals over the {fmt.count(fam['n_days'])} days."
                )
            )
    if wh.has("marts.family_demand"):
        fd = wh.frame(
            f"select family, requests, tokens, request_share, token_share, rank "
            f"{wh.from_quarter('marts.family_demand')} order by rank, family",
            ctx.p,
        )
        if fd.height:
            top = fd.head(TOP_FAMILIES)
            rows = [
                [
                    str(r["rank"]),
                    r["family"],
                    fmt.count(r["requests"]),
                    fmt.pct(r["request_share"]),
                    fmt.tokens(r["tokens"]),
                    fmt.pct(r["token_share"]),
                ]
                for r in top.iter_rows(named=True)
            ]
            # the families past the top ones, summed in marts.family_demand_tail: the row at the next position
            rest = (
                wh.one(
                    f"select * {wh.from_quarter('marts.family_demand_tail')} and position = $position",
                    {**ctx.p, "position": TOP_FAMILIES + 1},
                )
                if "marts.family_demand_tail" not in lacking
                else None
            )
            if rest is not None:
                rows.append(
                    [
                        "",
                        f"{rest['families']} other families",
                        fmt.count(rest["requests"]),
                        fmt.pct(rest["request_share"]),
                        fmt.tokens(rest["tokens"]),
                        fmt.pct(rest["token_share"]),
                    ]
                )
            s.add(
                Table(
                    f"Demand by model family, {ctx.period} (weighted requests and input + output tokens; marts.family_demand).",
                    ["Rank", "Family", "Requests", "Share", "Tokens", "Share"],
                    rows,
                    align="rlrrrr",
                )
            )
            s.add(
                Figure(
                    "family_shares",
                    "Share of weighted requests by model family (top families).",
                    charts.family_shares(fd.head(15).select("family", "request_share", "rank")),
                )
            )
    if conc is not None:
        rows = [
            [
                r["level"],
                r["measure"],
                fmt.count(r["n"]),
                fmt.pct(r["top1_share"]),
                fmt.pct_ci(r["top5_share"], r["top5_ci_low"], r["top5_ci_high"]),
                fmt.num_ci(r["gini"], r["gini_ci_low"], r["gini_ci_high"], 3),
                fmt.num(r["hhi"], 3),
            ]
            for r in conc.iter_rows(named=True)
        ]
        if rows:
            s.add(
                Table(
                    f"Concentration by unit and measure, with {CI} bootstrap intervals over days (marts.concentration).",
                    ["Unit", "Measure", "Units", "Top-1 share", f"Top-5 share [{CI} CI]", f"Gini [{CI} CI]", "HHI"],
                    rows,
                    align="llrrrrr",
                )
            )
    if wh.has("marts.concentration_lorenz"):
        lz = wh.frame(
            f"select level, point, unit_share, demand_share "
            f"{wh.from_quarter('marts.concentration_lorenz')} and measure = 'requests' order by level, point",
            ctx.p,
        )
        if lz.height:
            s.add(
                Figure(
                    "lorenz",
                    "Lorenz curves of weighted requests across families, models and providers; the further below "
                    "the diagonal, the more concentrated demand is.",
                    charts.lorenz(lz, "requests"),
                )
            )
    if lacking:
        s.add(Missing(lacking, "part of the demand concentration analysis"))
    return say_if_empty(s, f"The demand marts hold no request of {ctx.period}.")
