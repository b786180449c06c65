"""9. Task regimes: the token shapes of applications' requests."""

from __future__ import annotations

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context


def regimes(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("regimes", "Task regimes")
    if not wh.has("marts.task_regimes"):
        return s.add(Missing(["marts.task_regimes"], "token quantiles and regimes per application"))
    if not wh.has("marts.application_regimes"):
        return s.add(Missing(["marts.application_regimes"], "the applications' shares and regimes"))
    tr = wh.rows(f"select * {wh.from_quarter('marts.application_regimes')} order by requests desc, application", ctx.p)
    if not tr:
        return s.add(Paragraph(f"marts.task_regimes holds no application for {ctx.period}."))
    rows = [
        [
            named(r["application"]),
            fmt.count(r["requests"]),
            fmt.pct(r["request_share"]),
            f"{fmt.count(r['input_p50'])} / {fmt.count(r['input_p90'])}",
            f"{fmt.count(r['output_p50'])} / {fmt.count(r['output_p90'])}",
            fmt.pct(r["output_share"]),
            r["regime"],
        ]
        for r in tr
    ]
    s.add(
        Table(
            "Token lengths per application (weighted quantiles) and the regime they fall in (marts.application_regimes, "
            "from marts.task_regimes).",
            ["Application", "Requests", "Share", "Input p50 / p90", "Output p50 / p90", "Output share", "Regime"],
            rows,
            align="lrrrrrl",
        )
    )
    if not wh.has("marts.task_regimes_histogram"):
        return s.add(Missing(["marts.task_regimes_histogram"], "the 2-D token density per application"))
    if not wh.has("marts.application_token_density"):
        return s.add(Missing(["marts.application_token_density"], "the 2-D token density per application"))
    h = wh.frame(
        "select application, input_bin, output_bin, requests, share, regime "
        f"{wh.from_quarter('marts.application_token_density')} order by application, input_bin, output_bin",
        ctx.p,
    )
    if h.height:
        s.add(
            Figure(
                "regimes",
                "Joint distribution of input and output tokens per application (log2 bins: the bin labelled n holds "
                "n to 2n - 1 tokens); shading is the share of the application's weighted requests.",
                charts.regimes(h),
            )
        )
    return s
