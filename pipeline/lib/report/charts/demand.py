"""The demand charts: Lorenz curves, family shares, version inertia, supply vs use."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.lib.report.charts.base import PALETTE, WIDTH, drawn, log_axis, titled


def lorenz(df: pl.DataFrame, measure_label: str) -> alt.Chart:
    """df: level, unit_share, demand_share (cumulative, 0..1), one curve per level."""
    df = drawn(df)
    diagonal = (
        alt.Chart(pl.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(color="#999", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    curves = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X(
                "unit_share:Q",
                title="Cumulative share of units, smallest first (%)",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y(
                "demand_share:Q",
                title=f"Cumulative share of {measure_label} (%)",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("level:N", title="Unit", sort=["family", "model", "provider"]),
            order="unit_share:Q",
        )
    )
    return (diagonal + curves).properties(
        width=WIDTH - 120, height=300, title=titled("Lorenz curves of demand", "dashed: perfect equality")
    )


def family_shares(df: pl.DataFrame) -> alt.Chart:
    """df: family, request_share, rank."""
    df = drawn(df)
    return (
        alt.Chart(df)
        .mark_bar(color=PALETTE[0])
        .encode(
            x=alt.X("request_share:Q", title="Share of requests (%)", axis=alt.Axis(format=".0%")),
            y=alt.Y("family:N", title="Model family", sort=alt.EncodingSortField("rank", order="ascending")),
        )
        .properties(width=WIDTH - 140, height=alt.Step(16), title=titled("Request share by model family"))
    )


def inertia(df: pl.DataFrame) -> alt.Chart:
    """df: pair, days_since_release, old_share, half_level (half the pre-release share),
    half_life_days (null when never reached)."""
    df = drawn(df)
    base = alt.Chart(df)
    x = alt.X("days_since_release:Q", title="Days since the successor's release")
    lines = base.mark_line().encode(
        x=x,
        y=alt.Y(
            "old_share:Q",
            title="Old variant's share of the pair's requests (%)",
            axis=alt.Axis(format=".0%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        color=alt.Color("pair:N", title="Old \u2192 successor"),
    )
    half = base.mark_rule(strokeDash=[3, 3], opacity=0.6).encode(y="mean(half_level):Q", color=alt.Color("pair:N"))
    release = alt.Chart(pl.DataFrame({"d": [0]})).mark_rule(color="#777").encode(x="d:Q")
    marks = (
        base.transform_filter("datum.days_since_release == datum.half_life_days")
        .mark_point(size=70, filled=True, shape="diamond")
        .encode(
            x=x,
            y="old_share:Q",
            color=alt.Color("pair:N"),
        )
    )
    return (release + lines + half + marks).properties(
        width=WIDTH - 160,
        height=280,
        title=titled("Decay of the superseded variant", "diamonds: half-life; dashed: half the pre-release share"),
    )


def supply_use(df: pl.DataFrame, label_top: int = 5) -> alt.Chart:
    """df: model, listing_breadth, demand_share (> 0), rank_demand."""
    df = drawn(df)
    df = df.filter(
        pl.col("demand_share").is_finite() & (pl.col("demand_share") > 0)
    )  # a log scale draws only positive numbers
    base = alt.Chart(df)
    low, high = df["demand_share"].min(), df["demand_share"].max()
    points = base.mark_circle(size=60, opacity=0.8, color=PALETTE[0]).encode(
        x=alt.X(
            "listing_breadth:Q",
            title="Listing breadth (providers listing the model, daily mean)",
            axis=alt.Axis(tickMinStep=1),
        ),
        y=alt.Y("demand_share:Q", title="Share of requests (%, log scale)", **log_axis(low, high, ".1%")),
    )
    labels = (
        base.transform_filter(f"datum.rank_demand <= {int(label_top)}")
        .mark_text(align="left", dx=6, fontSize=10, color="#333")
        .encode(
            x="listing_breadth:Q",
            y="demand_share:Q",
            text="model:N",
        )
    )
    return (points + labels).properties(width=WIDTH - 80, height=300, title=titled("Supply vs use, per model"))
