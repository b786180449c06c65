"""5. Provider heterogeneity: prices, latency and throughput across providers of a model."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import CI, TOP_MODELS_DOTS, Context, say_if_empty
from pipeline.lib.service import PRICE_TOLERANCE
from pipeline.lib.sql_marts import PRICE_IMPLAUSIBLE_FACTOR

ATTRIBUTES = {
    # attribute: (label, value formatter)
    "input_price": ("Input price (USD / Mtok)", fmt.usd),
    "output_price": ("Output price (USD / Mtok)", fmt.usd),
    "blended_price": ("Blended price (USD / Mtok)", fmt.usd),
    "ttft_p50_ms": ("TTFT p50 (ms)", fmt.ms),
    "decode_tps_p50": ("Decode throughput p50 (tok/s)", fmt.tps),
    "context_length": ("Context length (tokens)", fmt.tokens),
    "error_rate": ("Request error rate", lambda x: fmt.pct(x, 2)),
    "feature_support": ("Feature support (share of 4 flags)", fmt.pct),
}


def _implausible(ctx: Context) -> pl.DataFrame:
    """model, provider of the period's service objects whose price marts.provider_leaderboard
    flags as implausible (none when the warehouse lacks it)."""
    if not ctx.wh.has("marts.provider_leaderboard", "price_implausible"):
        return pl.DataFrame(schema={"model": pl.String, "provider": pl.String})
    return ctx.wh.frame(
        f"select model, provider {ctx.wh.from_quarter('marts.provider_leaderboard')} and price_implausible", ctx.p
    )


def heterogeneity(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("heterogeneity", "Provider heterogeneity")
    if wh.has("marts.service_objects"):
        dots = wh.frame(
            f"select *, model_rank as model_order {wh.from_quarter('marts.multi_provider_models')} and model_rank <= $top "
            "order by is_official nulls first, model, provider",  # official points drawn last, on top
            {**ctx.p, "top": TOP_MODELS_DOTS},
        ).with_columns(
            role=pl.when(pl.col("is_official")).then(pl.lit("official API")).otherwise(pl.lit("other provider")),
        )
        if dots.height:
            s.add(
                Paragraph(
                    f"{fmt.count(dots['models'][0])} models are sold by two or more providers in {ctx.period}. The same weights cost and perform "
                    f"differently from one provider to the next; the figures show the {min(dots['models'][0], TOP_MODELS_DOTS)} most requested of them."
                )
            )
            priced = dots.filter(pl.col("blended_usd_per_mtok").is_not_null() & (pl.col("blended_usd_per_mtok") > 0))
            # an implausible price (marts.provider_leaderboard) would stretch the log axis over decades: listed instead
            odd = _implausible(ctx)
            if odd.height:
                priced = priced.join(odd, on=["model", "provider"], how="anti")
                odd = odd.join(dots.select("model", "provider"), on=["model", "provider"], how="semi")
            if priced.height:
                s.add(
                    Figure(
                        "prices",
                        "Blended price per service object (USD per million tokens at the model's input:output token mix, "
                        "time-weighted over the quarter; log scale)."
                        + (
                            f" Not drawn, their price implausible (over {fmt.num(PRICE_IMPLAUSIBLE_FACTOR, 0)} times or under "
                            f"1/{fmt.num(PRICE_IMPLAUSIBLE_FACTOR, 0)} of the model's median price; marts.provider_leaderboard): "
                            + "; ".join(
                                f"{named(r['provider'])} for {named(r['model'])}"
                                for r in odd.sort("model", "provider").iter_rows(named=True)
                            )
                            + "."
                            if odd.height
                            else ""
                        ),
                        charts.service_dots(
                            priced,
                            "blended_usd_per_mtok",
                            "Blended price per provider",
                            "USD per million tokens (log scale)",
                            True,
                            "$.2f",
                        ),
                    )
                )
            timed = dots.filter(pl.col("decode_tps_p50").is_not_null())
            if timed.height:
                s.add(
                    Figure(
                        "decode",
                        "Median decode throughput per service object (tokens per second after the first token, "
                        "successful latency probes).",
                        charts.service_dots(
                            timed,
                            "decode_tps_p50",
                            "Decode throughput per provider",
                            "Decode throughput p50 (tokens/s)",
                            False,
                            ",.0f",
                        ),
                    )
                )
    else:
        s.add(Missing(["marts.service_objects"], "prices and performance per service object"))

    if wh.has("marts.provider_dispersion"):
        summary = {r["attribute"]: r for r in wh.rows(f"select * {wh.from_quarter('marts.dispersion_summary')}", ctx.p)}
        rows = [
            [
                label,
                fmt.count(r["models"]),
                fmt.num(r["cv_median"], 3),
                fmt.num(r["cv_mean"], 3),
                f"{r['widest_model']} ({fmt.num(r['widest_cv'], 3)})",
                fmt.pct(r["share_at_official_mean"]),
            ]
            for attribute, (label, _f) in ATTRIBUTES.items()
            if (r := summary.get(attribute)) is not None
        ]
        if rows:
            s.add(
                Table(
                    "Dispersion across providers of the same model: coefficient of variation (population sd / mean) over the models with two "
                    f"or more providers; for prices, the mean share of providers charging the official price (within {fmt.pct(PRICE_TOLERANCE)}; "
                    "marts.dispersion_summary).",
                    ["Attribute", "Models", "Median cv", "Mean cv", "Widest (cv)", "At official price"],
                    rows,
                    align="wrrrwr",
                )
            )
    else:
        s.add(Missing(["marts.provider_dispersion"], "the dispersion table"))

    if wh.has("marts.price_anchoring"):
        pa = wh.frame(f"select * {wh.from_quarter('marts.price_anchoring')} order by performance_attribute", ctx.p)
        if pa.height:
            rows = [
                [
                    ATTRIBUTES.get(r["performance_attribute"], (r["performance_attribute"],))[0],
                    fmt.count(r["n_models"]),
                    fmt.num(r["price_cv_mean"], 3),
                    fmt.num(r["performance_cv_mean"], 3),
                    fmt.num_ci(r["dispersion_ratio"], r["ratio_ci_low"], r["ratio_ci_high"]),
                    fmt.pct(r["share_at_official_price_mean"]),
                ]
                for r in pa.iter_rows(named=True)
            ]
            s.add(
                Table(
                    f"Price anchoring: mean cv of a performance attribute over mean cv of the blended price, across the same models, with a {CI} "
                    "interval resampling models; above 1, performance varies more than price (marts.price_anchoring).",
                    [
                        "Performance attribute",
                        "Models",
                        "Price cv",
                        "Performance cv",
                        f"Ratio [{CI} CI]",
                        "At official price",
                    ],
                    rows,
                    align="wrrrrr",
                )
            )
        if wh.has("marts.provider_dispersion"):
            cvs = wh.frame(
                f"select model, attribute, cv {wh.from_quarter('marts.provider_dispersion')} and cv is not null "
                "and attribute in ('blended_price', 'decode_tps_p50') order by model",
                ctx.p,
            )
            pairs = (
                cvs.filter(pl.col("attribute") == "blended_price")
                .select("model", pl.col("cv").alias("price_cv"))
                .join(
                    cvs.filter(pl.col("attribute") == "decode_tps_p50").select(
                        "model", pl.col("cv").alias("decode_cv")
                    ),
                    on="model",
                )
            )
            if pairs.height:
                s.add(
                    Figure(
                        "anchoring",
                        "Blended-price cv against decode-throughput cv, one point per model with two or more providers.",
                        charts.anchoring(pairs),
                    )
                )
    else:
        s.add(Missing(["marts.price_anchoring"], "the price-anchoring ratio"))

    if wh.has("marts.service_pareto"):
        par = wh.frame(
            f"select * {wh.from_quarter('marts.pareto_by_provider')} order by dominated desc, provider", ctx.p
        )
        if par.height:
            totals = par.row(0, named=True)
            dominated, placed = totals["period_dominated"], totals["period_placed"]
            often = par.filter(pl.col("dominated") > 0).head(3)
            s.add(
                Paragraph(
                    f"Pareto view: {fmt.count(dominated)} of {fmt.count(placed)} placed service objects are dominated, i.e. another provider of the "
                    f"same model is at least as cheap, as fast, as available and as accurate at tool calls, and strictly better on one"
                    + (
                        " (most often: "
                        + ", ".join(f"{named(r['provider'])} {r['dominated']}" for r in often.iter_rows(named=True))
                        + ")."
                        if often.height
                        else "."
                    )
                )
            )
    return say_if_empty(s, f"The service marts hold no service object of {ctx.period} to compare across providers.")
