"""7. Vendor verification: tool-call and schema correctness per provider against the official API."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context


def verification(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("verification", "Vendor verification")
    if not wh.has("marts.vendor_verification"):
        return s.add(Missing(["marts.vendor_verification"], "tool-calling conformance against the official API"))
    vv = wh.frame(f"select * {wh.from_quarter('marts.vendor_verification')}", ctx.p)
    tc = vv.filter((pl.col("suite") == "tool_calls") & ~pl.col("is_official") & pl.col("tool_call_f1").is_not_null())
    if tc.height == 0:
        return s.add(Paragraph(f"No provider answered the tool_calls suite alongside an official API in {ctx.period}."))
    if "verdict" not in tc.columns:  # a warehouse from before verdicts: every one undecided
        tc = tc.with_columns(
            verdict=pl.lit("undecided"),
            tool_call_f1_ci_low=pl.lit(None, pl.Float64),
            tool_call_f1_ci_high=pl.lit(None, pl.Float64),
        )
    verdicts = {v: tc.filter(pl.col("verdict") == v).height for v in ("fail", "pass", "undecided")}
    s.add(
        Paragraph(
            f"The same tool-calling cases go to every provider and to the model's official API. The bar is the lowest F1 the official "
            f"API reaches against its own reruns (the K2 Vendor Verifier's pass bar), and a verdict needs the 95 % interval of the "
            f"provider's F1 (resampling cases) to lie wholly on one side of it: of {fmt.count(tc.height)} third-party service objects, "
            f"{fmt.count(verdicts['fail'])} fail, {fmt.count(verdicts['pass'])} pass and {fmt.count(verdicts['undecided'])} are undecided "
            f"(the interval crosses the bar, or there is no official rerun to set one); the median F1 is {fmt.num(tc['tool_call_f1'].median(), 3)}."
        )
    )
    plot = tc.select("provider", "model", "tool_call_f1", "tool_call_f1_ci_low", "tool_call_f1_ci_high", "verdict")
    s.add(
        Figure(
            "tool_calls",
            "Tool-call trigger F1 of each service object against the official API on the same cases, with its 95 % interval.",
            charts.tool_call_f1(plot),
        )
    )
    per = (
        tc.group_by("provider")
        .agg(
            pl.len().alias("n"),
            pl.col("tool_call_f1").mean().alias("f1"),
            (pl.col("verdict") == "fail").sum().alias("fail"),
            (pl.col("verdict") == "undecided").sum().alias("undecided"),
            pl.col("schema_accuracy").mean().alias("acc"),
            pl.col("similarity_to_official").mean().alias("sim"),
        )
        .sort(["f1", "provider"], descending=[True, False])
    )
    rows = [
        [
            r["provider"],
            fmt.count(r["n"]),
            fmt.num(r["f1"], 3),
            fmt.count(r["fail"]),
            fmt.count(r["undecided"]),
            fmt.pct(r["acc"]),
            fmt.num(r["sim"], 3),
        ]
        for r in per.iter_rows(named=True)
    ]
    s.add(
        Table(
            "Tool-calling conformance per provider: mean over its models of trigger F1 vs the official API, models that fail the bar "
            "(interval below the official's rerun F1) and those undecided (interval across it), schema accuracy (tool calls whose "
            "arguments validate) and K2VV similarity (marts.vendor_verification).",
            ["Provider", "Models", "Mean F1", "Fail", "Undecided", "Schema accuracy", "Similarity"],
            rows,
        )
    )
    other = (
        vv.filter(
            (pl.col("suite") != "tool_calls") & ~pl.col("is_official") & pl.col("similarity_to_official").is_not_null()
        )
        .group_by("suite")
        .agg(
            pl.len().alias("n"),
            pl.col("similarity_to_official").mean().alias("sim"),
            pl.col("cases").sum().alias("cases"),
        )
        .sort("suite")
    )
    if other.height:
        s.add(
            Paragraph(
                "Other suites, mean K2VV similarity to the official answers: "
                + "; ".join(
                    f"{named(r['suite'])} {fmt.num(r['sim'], 3)} over {fmt.count(r['n'])} service objects ({fmt.count(r['cases'])} cases)"
                    for r in other.iter_rows(named=True)
                )
                + "."
            )
        )
    return s
