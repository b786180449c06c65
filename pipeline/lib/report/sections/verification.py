"""7. Vendor verification: tool-call and schema correctness per provider against the official API."""

from __future__ import annotations

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context


def verification(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("verification", "Vendor verification")
    if not wh.has("marts.vendor_verification"):
        return s.add(Missing(["marts.vendor_verification"], "tool-calling conformance against the official API"))
    lacking = ctx.missing("marts.tool_call_verdicts", "marts.provider_tool_calls", "marts.suite_similarity")
    if lacking:
        return s.add(Missing(lacking, "the vendor verification summaries (built from marts.vendor_verification)"))
    summary = wh.one(f"select * {wh.from_quarter('marts.tool_call_verdicts')}", ctx.p)
    if summary is None:
        return s.add(Paragraph(f"No provider answered the tool_calls suite alongside an official API in {ctx.period}."))
    s.add(
        Paragraph(
            f"The same tool-calling cases go to every provider and to the model's official API. The bar is the lowest F1 the official "
            f"API reaches against its own reruns (the K2 Vendor Verifier's pass bar), and a verdict needs the 95 % interval of the "
            f"provider's F1 (resampling cases) to lie wholly on one side of it: of {fmt.count(summary['service_objects'])} third-party "
            f"service objects, {fmt.count(summary['fail'])} fail, {fmt.count(summary['pass'])} pass and "
            f"{fmt.count(summary['undecided'])} are undecided (the interval crosses the bar, or there is no official rerun to set one); "
            f"the median F1 is {fmt.num(summary['median_tool_call_f1'], 3)}."
        )
    )
    plot = wh.frame(
        "select provider, model, tool_call_f1, tool_call_f1_ci_low, tool_call_f1_ci_high, verdict "
        f"{wh.from_quarter('marts.vendor_verification')} "
        "and suite = 'tool_calls' and not is_official and tool_call_f1 is not null",
        ctx.p,
    )
    s.add(
        Figure(
            "tool_calls",
            "Tool-call trigger F1 of each service object against the official API on the same cases, with its 95 % interval.",
            charts.tool_call_f1(plot),
        )
    )
    per = wh.rows(
        f"select * {wh.from_quarter('marts.provider_tool_calls')} order by mean_tool_call_f1 desc, provider", ctx.p
    )
    rows = [
        [
            r["provider"],
            fmt.count(r["service_objects"]),
            fmt.num(r["mean_tool_call_f1"], 3),
            fmt.count(r["fail"]),
            fmt.count(r["undecided"]),
            fmt.pct(r["mean_schema_accuracy"]),
            fmt.num(r["mean_similarity"], 3),
        ]
        for r in per
    ]
    s.add(
        Table(
            "Tool-calling conformance per provider: mean over its models of trigger F1 vs the official API, models that fail the bar "
            "(interval below the official's rerun F1) and those undecided (interval across it), schema accuracy (tool calls whose "
            "arguments validate) and K2VV similarity (marts.provider_tool_calls, from marts.vendor_verification).",
            ["Provider", "Models", "Mean F1", "Fail", "Undecided", "Schema accuracy", "Similarity"],
            rows,
        )
    )
    other = wh.rows(f"select * {wh.from_quarter('marts.suite_similarity')} order by suite", ctx.p)
    if other:
        s.add(
            Paragraph(
                "Other suites, mean K2VV similarity to the official answers: "
                + "; ".join(
                    f"{named(r['suite'])} {fmt.num(r['mean_similarity'], 3)} over {fmt.count(r['service_objects'])} "
                    f"service objects ({fmt.count(r['cases'])} cases)"
                    for r in other
                )
                + "."
            )
        )
    return s
