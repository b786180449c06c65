"""The report's charts: Altair specifications built from the frames the sections read, and
their rendering to SVG (inlined into the HTML) and PNG (files beside it) with vl-convert,
which bundles its own Vega engine, so nothing is fetched.

Units go into the axis titles. Text in the charts comes from data (provider and model
names); vl-convert writes it into the SVG as escaped XML text. Every string column a chart
receives is passed through `labels.label` first (control and bidi characters out, at most 60
characters, a hash where it was changed), and `render` checks every string of the spec's data
again, so no value can abort the renderer (a NUL) or stall it (a 3 MB label measured over and
over). The marts keep the values as they are."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl

from pipeline.lib.labels import label, label_columns

# The Vega-Lite version Altair writes; vl-convert bundles it.
VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
WIDTH = 540
# Colour-blind-safe categorical palette (Okabe & Ito).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# vl-convert measures text with the machine's fonts; DejaVu Sans is on every Debian image and
# is wide, so labels measured with it also fit in a browser falling back to a narrower font.
FONT = "DejaVu Sans"
THEME = {
    "font": FONT,
    "background": "white",
    "padding": 8,
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": "normal",
        "titleColor": "#222",
        "labelColor": "#333",
        "gridColor": "#e8e8e8",
        "domainColor": "#999",
        "tickColor": "#999",
        "labelLimit": 220,
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "titleFontWeight": "normal", "labelLimit": 220},
    "header": {"labelFontSize": 11, "titleFontSize": 11, "labelFontWeight": "bold"},
    "title": {
        "fontSize": 13,
        "fontWeight": "bold",
        "anchor": "start",
        "color": "#111",
        "subtitleFontSize": 11,
        "subtitleColor": "#555",
    },
    "range": {"category": PALETTE},
}


# The renderer's last line of defence: a string of the spec's data longer than this, or holding a
# control character, is labelled (the charts label theirs at 60 characters already).
SPEC_LIMIT = 200


def safe_spec(spec: dict) -> dict:
    """The spec with every string value in its inline data (top-level datasets and data.values)
    made safe to draw; numbers that are not finite become null (JSON has no inf or nan)."""
    import math

    def fix(v):
        if isinstance(v, str):
            return label(v, SPEC_LIMIT)
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    def rows(values):
        return [{k: fix(v) for k, v in r.items()} if isinstance(r, dict) else fix(r) for r in values]

    def walk(node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "datasets" and isinstance(v, dict):
                    out[k] = {name: rows(vals) if isinstance(vals, list) else vals for name, vals in v.items()}
                elif k == "values" and isinstance(v, list):
                    out[k] = rows(v)
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(x) for x in node]
        return node

    return walk(spec)


def drawn(df: pl.DataFrame) -> pl.DataFrame:
    """df with every string column labelled for drawing (see labels.label)."""
    return label_columns(df, *[c for c, t in df.schema.items() if t == pl.String])


def render(chart: alt.TopLevelMixin, png_path: Path | None = None, scale: float = 2.0) -> str:
    """SVG text of the chart; with png_path, also a PNG at `scale` (2: crisp in print)."""
    import vl_convert as vlc

    spec = safe_spec(chart.to_dict())
    svg = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION, config=THEME)
    if png_path is not None:
        png_path.parent.mkdir(parents=True, exist_ok=True)
        # vl-convert draws its PNGs from this same SVG (resvg): rasterising ours skips a second
        # Vega layout, a third of the report's chart time
        png_path.write_bytes(vlc.svg_to_png(svg, scale=scale))
    return svg


def _title(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text, subtitle=subtitle) if subtitle else alt.TitleParams(text)


# Axis label for the log2 token bins of marts.task_regimes_histogram: bin k holds [2^k, 2^(k+1)), -1 holds 0.
# Every fourth bin is labelled: 1, 16, 256, 4k, 64k.
BIN_LABEL = (
    "datum.value < 0 ? '0' : (datum.value % 4 != 0 ? '' : "
    "(pow(2, datum.value) >= 1024 ? format(pow(2, datum.value) / 1024, 'd') + 'k' : format(pow(2, datum.value), 'd')))"
)


# Classes of the heatmap: below 0.1 %, 0.1-0.3 %, ... at least 10 % of the application's requests.
SHARE_CLASSES = (0.001, 0.003, 0.01, 0.03, 0.1)
SHARE_LABELS = (
    f"below {100 * SHARE_CLASSES[0]:g} %",
    *(f"{100 * lo:g} to {100 * hi:g} %" for lo, hi in zip(SHARE_CLASSES, SHARE_CLASSES[1:], strict=False)),
    f"{100 * SHARE_CLASSES[-1]:g} % or more",
)
SHARE_COLOURS = ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]


def log_ticks(low: float, high: float, most: int = 12) -> list[float]:
    """1-2-5 ticks covering [low, high] for a log axis (Vega's own are crowded or sparse); over
    more than eight decades (1e-324 to 1e308 is a valid price range), at most `most` powers of
    ten from the lowest to the highest. Empty when the bounds are not positive finite numbers."""
    import math

    if not (low is not None and high is not None and 0 < low <= high and math.isfinite(high)):
        return []
    lo_exp, hi_exp = math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1
    if hi_exp - lo_exp > 10:
        first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
        exps = (
            sorted({first + round(i * (last - first) / (most - 1)) for i in range(most)}) if last > first else [first]
        )
        return [t for t in (10.0**e for e in exps) if t > 0 and math.isfinite(t)]
    ticks = []
    for exp in range(lo_exp, hi_exp):
        for m in (1, 2, 5):
            t = m * 10.0**exp
            if low / 1.5 <= t <= high * 1.5:
                ticks.append(round(t, 12) if exp > -12 else t)
    return ticks


def log_domain(low: float, high: float, ticks: list[float]) -> list[float] | None:
    """The ticks' span widened so that no point sits on the frame (within the finite doubles)."""
    import sys

    if not ticks:
        return None
    top = high * 1.25 if high < sys.float_info.max / 1.25 else sys.float_info.max
    bottom = low / 1.25 if low / 1.25 > 0 else low
    return [min(ticks[0], bottom), max(ticks[-1], top)]


def log_axis(low: float | None, high: float | None, fmt: str) -> dict:
    """scale= and axis= of a log axis over [low, high] with log_ticks; Vega's own ticks when
    there are none (no positive finite bounds)."""
    ticks = log_ticks(low, high)
    if not ticks:
        return {"scale": alt.Scale(type="log", nice=False), "axis": alt.Axis(format=fmt)}
    return {
        "scale": alt.Scale(type="log", domain=log_domain(low, high, ticks), nice=False),
        "axis": alt.Axis(format=fmt, values=ticks),
    }


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
        width=WIDTH - 120, height=300, title=_title("Lorenz curves of demand", "dashed: perfect equality")
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
        .properties(width=WIDTH - 140, height=alt.Step(16), title=_title("Request share by model family"))
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
        title=_title("Decay of the superseded variant", "diamonds: half-life; dashed: half the pre-release share"),
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
    return (points + labels).properties(width=WIDTH - 80, height=300, title=_title("Supply vs use, per model"))


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
            width=WIDTH - 200, height=alt.Step(20), title=_title(title, "one point per provider serving the model")
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
        title=_title("Price anchoring, per model", "above the diagonal: throughput varies more than price"),
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
        .properties(width=WIDTH - 180, height=alt.Step(18), title=_title("Request errors by provider and class"))
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
        title=_title("Tool-calling conformance", "one tick per model the provider serves, with its 95 % interval"),
    )


def share_classes(share: pl.Expr) -> pl.Expr:
    """Label of the SHARE_CLASSES class a share falls in."""
    expr = pl.when(share < SHARE_CLASSES[0]).then(pl.lit(SHARE_LABELS[0]))
    for bound, class_label in zip(SHARE_CLASSES[1:], SHARE_LABELS[1:-1], strict=True):
        expr = expr.when(share < bound).then(pl.lit(class_label))
    return expr.otherwise(pl.lit(SHARE_LABELS[-1]))


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
            title=_title(
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
        .properties(title=_title("Routed vs official provider, per model", f"lines: {ci_label} interval"))
    )


def routing_policies(df: pl.DataFrame) -> alt.FacetChart:
    """df: model, policy (with the scenario when there are several), metric (panel label), value (change in %).
    One row per policy, one tick per model, a diamond at the median over models."""
    df = drawn(df)
    order = (
        df.filter(pl.col("metric") == df["metric"][0])
        .group_by("policy")
        .agg(pl.col("value").median())
        .sort("value")["policy"]
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
            title=_title("Routing policies across models", "ticks: one model each; diamond: median over models")
        )
    )
