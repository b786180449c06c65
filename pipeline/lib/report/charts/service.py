"""The service charts: providers per model on a scale, price anchoring, error rates, tool-call F1."""

from __future__ import annotations

import altair as alt
import polars as pl

from pipeline.lib.report.charts.base import PALETTE, WIDTH, drawn, log_axis, titled

# The price axis of price_speed ends this far past the highest plausible price: room for its label.
PRICE_HEADROOM = 1.15


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


def price_speed(df: pl.DataFrame, title: str) -> alt.LayerChart:
    """One model's providers: blended list price against decode p50, each point labelled with
    its provider. df: provider, price, decode_tps_p50, role ('official API' / 'other provider'),
    implausible (bool), price_text. The price axis runs from 0 (a free provider sits on it) to a
    little past the highest plausible price: an implausible price never sets the scale, it is drawn
    at the right edge with its price in its label (a price 1/100 of the others' is near 0 already),
    so the other providers keep the axis."""
    df = drawn(df).filter(pl.col("price").is_finite() & pl.col("decode_tps_p50").is_finite())
    plausible = df.filter(~pl.col("implausible"))
    # every price implausible (two providers judging each other): their own scale
    top = (plausible if plausible.height else df)["price"].max()
    edge = PRICE_HEADROOM * top if top and top > 0 else 1.0
    off = pl.col("price") > edge
    df = df.with_columns(
        x=pl.when(off).then(pl.lit(edge)).otherwise(pl.col("price")),
        text=pl.col("provider")
        + pl.when(pl.col("role") == "official API").then(pl.lit(" (official)")).otherwise(pl.lit(""))
        + pl.when(off).then(pl.lit(" (") + pl.col("price_text") + pl.lit(", off scale)")).otherwise(pl.lit("")),
    )
    roles = ["official API", "other provider"]
    base = alt.Chart(df).encode(
        x=alt.X(
            "x:Q",
            title="Blended list price, USD per million tokens (0.75 input + 0.25 output)",
            scale=alt.Scale(domain=[0, edge], nice=False),
            axis=alt.Axis(format="$.2f"),
        ),
        y=alt.Y("decode_tps_p50:Q", title="Decode throughput p50 (tokens/s)", scale=alt.Scale(zero=True)),
    )
    points = base.mark_point(size=90, filled=True, opacity=0.9).encode(
        color=alt.Color("role:N", title="Provider", scale=alt.Scale(domain=roles, range=[PALETTE[5], PALETTE[0]])),
        shape=alt.Shape("role:N", title="Provider", scale=alt.Scale(domain=roles, range=["diamond", "circle"])),
    )
    labels = base.mark_text(align="left", baseline="middle", dx=8, fontSize=10, color="#333").encode(text="text:N")
    return (points + labels).properties(
        width=WIDTH - 170,
        height=300,
        title=titled(title, "one point per provider; the official API is the diamond"),
    )
