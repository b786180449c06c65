"""8. Task regimes: the token shapes of applications' requests."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context


def regimes(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("regimes", "Task regimes")
    if not wh.has("marts.task_regimes"):
        return s.add(Missing(["marts.task_regimes"], "token quantiles and regimes per application"))
    tr = wh.frame(f"select * {wh.from_quarter('marts.task_regimes')} order by requests desc, application", ctx.p)
    if tr.height == 0:
        return s.add(Paragraph(f"marts.task_regimes holds no application for {ctx.period}."))
    # a null count (a weight past the doubles) leaves every share unknown
    total = tr["requests"].sum() if tr["requests"].null_count() == 0 else None
    rows = [
        [
            named(r["application"]),
            fmt.count(r["requests"]),
            fmt.pct(r["requests"] / total) if total and r["requests"] is not None else fmt.DASH,
            f"{fmt.count(r['input_p50'])} / {fmt.count(r['input_p90'])}",
            f"{fmt.count(r['output_p50'])} / {fmt.count(r['output_p90'])}",
            fmt.pct(r["output_share"]),
            r["regime"],
        ]
        for r in tr.iter_rows(named=True)
    ]
    s.add(
        Table(
            "Token lengths per application (weighted quantiles) and the regime they fall in (marts.task_regimes).",
            ["Application", "Requests", "Share", "Input p50 / p90", "Output p50 / p90", "Output share", "Regime"],
            rows,
            align="lrrrrrl",
        )
    )
    if wh.has("marts.task_regimes_histogram"):
        h = wh.frame(
            f"select application, input_bin, output_bin, requests {wh.from_quarter('marts.task_regimes_histogram')}",
            ctx.p,
        )
        if h.height:
            # the chart titles each panel "<application> (<regime>)", labelling the application first
            h = h.with_columns(share=pl.col("requests") / pl.col("requests").sum().over("application")).join(
                tr.select("application", "regime"), on="application", how="left"
            )
            s.add(
                Figure(
                    "regimes",
                    "Joint distribution of input and output tokens per application (log2 bins: the bin labelled n holds "
                    "n to 2n - 1 tokens); shading is the share of the application's weighted requests.",
                    charts.regimes(h),
                )
            )
    else:
        s.add(Missing(["marts.task_regimes_histogram"], "the 2-D token density per application"))
    return s
