"""11. Provider leaderboards: one page per headline model, every provider of it named, from
marts.provider_leaderboard (the report only formats its rows).

The headline models are the public study's headline cases the run replays again
(marts.run_parameters' `sensitivity_models`, qwen3-32b and deepseek-v3.2 by default) that have
providers in the period; a drop holding none of them gets its most requested models sold by two
or more providers instead (marts.multi_provider_models' model_rank), as many as the run names.
"""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import CI, LEADERBOARD_MODELS, Context
from pipeline.lib.sql_marts import PRICE_IMPLAUSIBLE_FACTOR

BOARD = "marts.provider_leaderboard"


def headline_models(ctx: Context) -> list[str]:
    """The models that get a leaderboard page, in order (see the module's docstring)."""
    wh = ctx.wh
    held = [r["model"] for r in wh.rows(f"select distinct model {wh.from_quarter(BOARD)} order by model", ctx.p)]
    named_in_run: list[str] = []
    if wh.has("marts.run_parameters", "name", "value"):
        row = wh.one("select value from marts.run_parameters where name = 'sensitivity_models'")
        if row and row["value"]:
            named_in_run = [m.strip() for m in row["value"].split(",") if m.strip()]
    chosen = [m for m in named_in_run if m in held]
    if chosen:
        return chosen
    if not wh.has("marts.multi_provider_models", "model_rank"):
        return []
    ranked = wh.rows(
        f"select distinct model, model_rank {wh.from_quarter('marts.multi_provider_models')} "
        "and model_rank <= $n order by model_rank",
        {**ctx.p, "n": len(named_in_run) or LEADERBOARD_MODELS},
    )
    return [r["model"] for r in ranked if r["model"] in held]


def leaderboards(ctx: Context) -> list[Section]:
    """A section per headline model; one section saying why when there is none."""
    wh = ctx.wh
    if not wh.has(BOARD):
        return [
            Section("leaderboard", "Provider leaderboards").add(Missing([BOARD], "the per-model provider leaderboards"))
        ]
    models = headline_models(ctx)
    if not models:
        return [
            Section("leaderboard", "Provider leaderboards").add(
                Paragraph(f"{BOARD} holds no headline model with providers in {ctx.period}.")
            )
        ]
    return [_board(ctx, model, i) for i, model in enumerate(models, start=1)]


def _ranks(r: dict) -> str:
    return " / ".join(
        fmt.DASH if r[c] is None else str(r[c]) for c in ("price_rank", "ttft_rank", "decode_rank", "reliability_rank")
    )


def _verdict(r: dict) -> str:
    if r["is_official"]:
        return "reference"
    if r["tool_call_verdict"] is None:
        return fmt.DASH
    return f"{r['tool_call_verdict']}, F1 {fmt.num_ci(r['tool_call_f1'], r['tool_call_f1_ci_low'], r['tool_call_f1_ci_high'], 2)}"


def _provider(r: dict) -> str:
    return named(r["provider"]) + (" (official)" if r["is_official"] else "")


def _board(ctx: Context, model: str, number: int) -> Section:
    wh = ctx.wh
    s = Section(f"leaderboard-{number}", f"Provider leaderboard: {named(model)}", page_break=True)
    df = wh.frame(
        f"select * {wh.from_quarter(BOARD)} and model = $model order by price_rank nulls last, provider",
        {**ctx.p, "model": model},
    )
    odd = df.filter(pl.col("price_implausible").fill_null(False))
    s.add(
        Paragraph(
            f"{fmt.count(df.height)} provider{'s' if df.height != 1 else ''} offered {named(model)} in {ctx.period} (listed, probed "
            "or used), all named here. Price: the blended list price, 0.75 x input + 0.25 x output per million tokens, "
            "time-weighted over the quarter (the blend routing orders providers by). Ranks are among these providers, 1 the best "
            "(cheapest; quickest first token; fastest decoding; most reliable: probe success, then request errors), ties sharing "
            f"the best rank (1, 1, 3). Intervals are {CI}: Wilson for the rates, the F1 interval for tool calls against the "
            "official API (the reference)."
            + (
                f" Implausible, more than {fmt.num(PRICE_IMPLAUSIBLE_FACTOR, 0)} times or less than 1/{fmt.num(PRICE_IMPLAUSIBLE_FACTOR, 0)} "
                "of the model's median price (a price table's unit or typo), so left out of the price rank and the chart's "
                "scale: "
                + "; ".join(
                    f"{named(r['provider'])} at {fmt.usd(r['blended_list_usd_per_mtok'])} against {fmt.usd(r['reference_usd_per_mtok'])}"
                    for r in odd.iter_rows(named=True)
                )
                + "."
                if odd.height
                else ""
            )
        )
    )
    rows = [
        [
            _provider(r),
            fmt.usd(r["blended_list_usd_per_mtok"]) + (" (implausible)" if r["price_implausible"] else ""),
            f"{fmt.count(r['ttft_p50_ms'])} / {fmt.count(r['ttft_p90_ms'])}"
            if r["ttft_p50_ms"] is not None
            else fmt.DASH,
            fmt.count(r["decode_tps_p50"]) if (r["decode_tps_p50"] or 0) >= 10 else fmt.num(r["decode_tps_p50"], 1),
            fmt.pct_ci(r["probe_success_rate"], r["probe_success_rate_ci_low"], r["probe_success_rate_ci_high"], 1),
            fmt.pct_ci(r["request_error_rate"], r["request_error_rate_ci_low"], r["request_error_rate_ci_high"], 2)
            + (" thin" if r["thin"] and r["request_error_rate"] is not None else ""),
            _verdict(r),
            fmt.tokens(r["context_length"]),
            r["quantization"] or fmt.DASH,
            _ranks(r),
        ]
        for r in df.iter_rows(named=True)
    ]
    s.add(
        Table(
            f"Providers of {named(model)}, {ctx.period}, cheapest first (marts.provider_leaderboard); thin: under 1,000 effective "
            "requests.",
            [
                "Provider",
                "Price (USD / Mtok)",
                "TTFT p50 / p90 (ms)",
                "Decode p50 (tok/s)",
                f"Probe success [{CI} CI]",
                f"Request errors [{CI} CI]",
                "Tool calls",
                "Context",
                "Quanti\u00adzation",
                "Ranks: price / TTFT / decode / reliability",
            ],
            rows,
            align="wrrrnnwrlr",
        )
    )
    plot = df.select(
        "provider",
        pl.col("blended_list_usd_per_mtok").alias("price"),
        "decode_tps_p50",
        role=pl.when(pl.col("is_official")).then(pl.lit("official API")).otherwise(pl.lit("other provider")),
        implausible=pl.col("price_implausible").fill_null(False),
        price_text=pl.col("blended_list_usd_per_mtok").map_elements(fmt.usd, return_dtype=pl.String),
    )
    unplaced = df.filter(pl.col("blended_list_usd_per_mtok").is_null() | pl.col("decode_tps_p50").is_null())
    not_drawn = (
        " Not drawn (no price or no successful probe): "
        + ", ".join(_provider(r) for r in unplaced.iter_rows(named=True))
        + "."
        if unplaced.height
        else ""
    )
    if unplaced.height == df.height:
        s.add(
            Paragraph(
                f"No provider of {named(model)} has both a price and a decode measurement in {ctx.period}: no chart."
                + not_drawn
            )
        )
        return s
    s.add(
        Figure(
            f"leaderboard_{number}",
            f"Price against decode speed, the providers of {named(model)} in {ctx.period}, each labelled; an implausible price "
            "sits at the right edge, labelled with its price, so that it does not stretch the axis." + not_drawn,
            charts.price_speed(plot, f"Price and decode speed: {named(model)}"),
        )
    )
    return s
