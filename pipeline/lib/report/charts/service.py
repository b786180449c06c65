"""The service charts: providers per model on a scale, price anchoring, error rates, tool-call F1."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.lib.report.charts.base import PALETTE, WIDTH, drawn, log_axis, titled


def service_dots(df: pl.DataFrame, field: str, title: str, axis_title: str, log: bool, fmt: str) -> alt.Chart:
    """df: model, provider, <field>, role ('official' / 'other provider'), model_order."""
    df = drawn(df)
    if log:
        df = df.filter(pl.col(field).is_finite() & (pl.col(field) > 0))  # a log scale draws only positive numbers
        encoding = log_axis(df[field].min(), df[field].max(), fmt)
    else:
        encoding = {"scale": alt.Scale(zero=True), "axis": alt.Axis(format=fmt)}
    return (
        alt.Chart(df)
        .mark_point(size=70, filled=True, opacity=0.85)
        .encode(
            x=alt.X(f"{field}:Q", title=axis_title, **encoding),
            y=alt.Y("model:N", title=None, sort=alt.EncodingSortField("model_order", order="ascending")),
            color=alt.Color(
                "role:N",
                title="Provider",
                scale=alt.Scale(domain=["official API", "other provider"], range=[PALETTE[5], PALETTE[0]]),
            ),
            shape=alt.Shape(
                "role:N",
                title="Provider",
                scale=alt.Scale(domain=["official API", "other provider"], range=["diamond", "circle"]),
            ),
        )
        .properties(
            width=WIDTH - 200, height=alt.Step(20), title=titled(title, "one point per provider serving the model")
        )
    )


def anchoring(df: pl.DataFrame) -> alt.Chart:
    """df: model, price_cv, decode_cv."""
    df = drawn(df)
    top = max(df["price_cv"].max() or 0, df["decode_cv"].max() or 0, 0.1) * 1.05
    diagonal = (
        alt.Chart(pl.DataFrame({"x": [0.0, top], "y": [0.0, top]}))
        .mark_line(color="#999", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    points = (
        alt.Chart(df)
        .mark_circle(size=60, opacity=0.8, color=PALETTE[0])
        .encode(
            x=alt.X("price_cv:Q", title="Blended price, cv across providers", scale=alt.Scale(domain=[0, top])),
            y=alt.Y(
                "decode_cv:Q", title="Decode throughput p50, cv across providers", scale=alt.Scale(domain=[0, top])
            ),
        )
    )
    return (diagonal + points).properties(
        width=320,
        height=320,
        title=titled("Price anchoring, per model", "above the diagonal: throughput varies more than price"),
    )


def error_rates(df: pl.DataFrame) -> alt.Chart:
    """df: provider, error_class (label), rate, total (for sorting)."""
    df = drawn(df)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("rate:Q", title="Share of the provider's requests (%)", axis=alt.Axis(format=".1%"), stack="zero"),
            y=alt.Y("provider:N", title=None, sort=alt.EncodingSortField("total", order="descending")),
            color=alt.Color(
                "error_class:N",
                title="Error class",
                sort=["provider fault", "rate limit", "client error"],
                scale=alt.Scale(
                    domain=["provider fault", "rate limit", "client error"], range=[PALETTE[5], PALETTE[1], "#9a9a9a"]
                ),
            ),
            order=alt.Order("class_order:Q"),
        )
        .properties(width=WIDTH - 180, height=alt.Step(18), title=titled("Request errors by provider and class"))
    )


def tool_call_f1(df: pl.DataFrame) -> alt.Chart:
    """df: provider, model, tool_call_f1, tool_call_f1_ci_low, tool_call_f1_ci_high, verdict
    (pass / fail / undecided): one tick per model with its interval as a thin bar."""
    df = drawn(df)
    domain = ["pass", "fail", "undecided"]
    base = alt.Chart(df).encode(
        y=alt.Y("provider:N", title=None, sort=alt.EncodingSortField("tool_call_f1", op="median", order="descending")),
        color=alt.Color(
            "verdict:N",
            title="Interval vs the official's rerun F1",
            scale=alt.Scale(domain=domain, range=[PALETTE[2], PALETTE[5], "#9a9a9a"]),
        ),
    )
    interval = base.mark_rule(opacity=0.45).encode(x=alt.X("tool_call_f1_ci_low:Q"), x2="tool_call_f1_ci_high:Q")
    tick = base.mark_tick(thickness=2, size=14).encode(
        x=alt.X(
            "tool_call_f1:Q",
            title="Tool-call trigger F1 vs the official API (95 % interval)",
            scale=alt.Scale(domain=[0, 1]),
        )
    )
    return (interval + tick).properties(
        width=WIDTH - 200,
        height=alt.Step(18),
        title=titled("Tool-calling conformance", "one tick per model the provider serves, with its 95 % interval"),
    )
