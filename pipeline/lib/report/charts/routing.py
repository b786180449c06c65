"""The task regime and routing charts."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.lib.report.charts.base import (
    BIN_LABEL,
    PALETTE,
    SHARE_COLOURS,
    SHARE_LABELS,
    drawn,
    share_classes,
    titled,
)


def regimes(df: pl.DataFrame, columns: int = 3) -> alt.Chart:
    """df: application, input_bin, output_bin, share (of the application's requests), and
    optionally regime: the panel of an application is titled "<application> (<regime>)", the
    application labelled first so that a long one never hides its regime."""
    df = drawn(df)
    if "regime" in df.columns:
        df = df.with_columns(
            application=pl.when(pl.col("regime").is_null())
            .then(pl.col("application"))
            .otherwise(pl.concat_str(pl.col("application"), pl.lit(" ("), pl.col("regime"), pl.lit(")")))
        ).drop("regime")
    df = df.with_columns(share_class=share_classes(pl.col("share")))
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X(
                "input_bin:O",
                title="Input tokens",
                axis=alt.Axis(labelExpr=BIN_LABEL, labelAngle=0, labelFontSize=10, ticks=False),
            ),
            y=alt.Y(
                "output_bin:O",
                title="Output tokens",
                sort="descending",
                axis=alt.Axis(labelExpr=BIN_LABEL, labelFontSize=10, ticks=False),
            ),
            # Discrete classes with a symbol legend: they read better in print than a gradient, and
            # render the same in every SVG renderer (WeasyPrint draws Vega's gradient legends wrongly).
            color=alt.Color(
                "share_class:O",
                title="Share of requests",
                sort=list(SHARE_LABELS),
                scale=alt.Scale(domain=list(SHARE_LABELS), range=SHARE_COLOURS),
                legend=alt.Legend(orient="right", symbolType="square", symbolSize=120),
            ),
            facet=alt.Facet("application:N", title=None, columns=columns, header=alt.Header(labelFontSize=11)),
        )
        .properties(
            width=140,
            height=120,
            title=titled(
                "Input x output tokens per application", "log2 bins; the bin labelled n holds n to 2n - 1 tokens"
            ),
        )
    )


def routing_changes(df: pl.DataFrame, ci_label: str) -> alt.FacetChart:
    """df: model, order (display order), objective, policy, change_pct, ci_low, ci_high (ci may be null).
    One panel per objective; the layers carry no data of their own, so the facet splits them."""
    df = drawn(df)
    y = alt.Y("model:N", title=None, sort=alt.EncodingSortField("order", order="ascending"))
    zero = alt.Chart().mark_rule(color="#777").encode(x=alt.datum(0))
    bars = (
        alt.Chart()
        .mark_rule(strokeWidth=1.5)
        .encode(x="ci_low:Q", x2="ci_high:Q", y=y, yOffset="policy:N", color="policy:N")
    )
    points = (
        alt.Chart()
        .mark_point(filled=True, size=45)
        .encode(
            x=alt.X("change_pct:Q", title="Change vs the official provider (%)"),
            y=y,
            yOffset="policy:N",
            color=alt.Color("policy:N", title="Policy"),
        )
    )
    return (
        alt.layer(zero, bars, points, data=df)
        .properties(width=210, height=alt.Step(22))
        .facet(
            column=alt.Column("objective:N", title=None),
        )
        .resolve_scale(x="independent")
        .properties(title=titled("Routed vs official provider, per model", f"lines: {ci_label} interval"))
    )


def routing_policies(df: pl.DataFrame) -> alt.FacetChart:
    """df: model, policy (with the scenario when there are several), metric (panel label), value (change in %).
    One row per policy, one tick per model, a diamond at the median over models."""
    df = drawn(df)
    order = (
        df.filter(pl.col("metric") == df["metric"][0])
        .group_by("policy")
        .agg(pl.col("value").median())
        .sort("value", "policy")["policy"]  # ties (two policies with the same median) by name, the same in every run
        .to_list()
    )
    y = alt.Y("policy:N", title=None, sort=order)
    zero = alt.Chart().mark_rule(color="#777").encode(x=alt.datum(0))
    ticks = (
        alt.Chart()
        .mark_tick(thickness=1.5, size=12, opacity=0.45, color=PALETTE[0])
        .encode(x=alt.X("value:Q", title="Change vs the official provider (%)"), y=y)
    )
    median = (
        alt.Chart().mark_point(shape="diamond", filled=True, size=70, color=PALETTE[5]).encode(x="median(value):Q", y=y)
    )
    return (
        alt.layer(zero, ticks, median, data=df)
        .properties(width=200, height=alt.Step(20))
        .facet(
            column=alt.Column("metric:N", title=None, sort=["cost", "decode throughput"]),
        )
        .resolve_scale(x="independent")
        .properties(
            title=titled("Routing policies across models", "ticks: one model each; diamond: median over models")
        )
    )
