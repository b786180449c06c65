"""The changelog charts: a timeline of the quarter's changes per model, and the daily series of
the service objects that changed most, with their change points marked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import altair as alt
import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report.charts.base import PALETTE, WIDTH, drawn, titled

# What changed, in the order of the legend; each group keeps its colour in every report.
GROUPS = ("latency and throughput", "availability and errors", "tool calls", "price", "endpoint")
GROUP_COLOURS = [PALETTE[0], PALETTE[5], PALETTE[2], PALETTE[1], PALETTE[3]]
HOW = ("change point of a daily series", "exact: listed price or endpoint")

# The change points of a series panel, and the endpoint changes of the same object (dashed).
RULE_COLOUR = PALETTE[5]
ENDPOINT_COLOUR = "#555"
HEIGHT = 110  # of a series panel


def _domain(start: dt.date, end: dt.date) -> list[alt.DateTime]:
    """The period as a UTC time domain: the days are UTC days, and Vega would otherwise shift
    them by the renderer's time zone."""
    return [alt.DateTime(year=d.year, month=d.month, date=d.day, utc=True) for d in (start, end)]


def _x(field: str, start: dt.date, end: dt.date, title: str | None = None) -> alt.X:
    return alt.X(
        f"{field}:T",
        title=title,
        scale=alt.Scale(type="utc", domain=_domain(start, end)),
        axis=alt.Axis(format="%-d %b", labelAngle=0, tickCount=6),
    )


def change_timeline(df: pl.DataFrame, start: dt.date, end: dt.date) -> alt.FacetChart:
    """df: day ('YYYY-MM-DD', a UTC day), provider, model, what (readable metric), group (one
    of GROUPS), how (one of HOW), change (formatted). One row of panels per model, one line per
    provider serving it that changed, one mark per change: providers written beside the marks
    overlapped as soon as two changed in the same week."""
    df = drawn(df)
    return (
        alt.Chart(df)
        .mark_point(filled=True, size=70, opacity=0.85)
        .encode(
            x=_x("day", start, end),
            y=alt.Y("provider:N", title=None, sort="ascending"),
            # legends below: beside the panels they would take the width the quarter's days need
            color=alt.Color(
                "group:N",
                title="What changed",
                scale=alt.Scale(domain=list(GROUPS), range=GROUP_COLOURS),
                legend=alt.Legend(orient="bottom", direction="horizontal", columns=2),
            ),
            shape=alt.Shape(
                "how:N",
                title="Found",
                scale=alt.Scale(domain=list(HOW), range=["circle", "diamond"]),
                legend=alt.Legend(orient="bottom", direction="horizontal", columns=1),
            ),
            tooltip=[
                alt.Tooltip("day:N", title="Day"),
                alt.Tooltip("provider:N", title="Provider"),
                alt.Tooltip("what:N", title="What"),
                alt.Tooltip("change:N", title="Change"),
            ],
        )
        .properties(width=WIDTH - 240, height=alt.Step(16))
        .facet(
            row=alt.Row(
                "model:N",
                title=None,
                sort="ascending",
                header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="left", labelLimit=200),
            ),
            spacing=4,
        )
        .resolve_scale(y="independent")
        .properties(title=titled("What changed, per model", "one line per provider, one mark per change"))
    )


@dataclass
class Panel:
    """One service object's series: its title (provider, model), the metric read, the axis
    title with the unit and its d3 format; frames with ISO days: series (date, value),
    levels (start, end, value: the medians before and after each change), rules (day, kind:
    'change point' or 'endpoint', what, label: a few words written beside the rule)."""

    provider: str
    model: str
    metric: str
    unit: str
    format: str
    series: pl.DataFrame
    levels: pl.DataFrame
    rules: pl.DataFrame


def _panel(p: Panel, start: dt.date, end: dt.date, width: int) -> alt.LayerChart:
    x = _x("date", start, end)
    y = alt.Y("value:Q", title=p.unit, scale=alt.Scale(zero=False), axis=alt.Axis(format=p.format, tickCount=4))
    layers = [
        alt.Chart(drawn(p.series))
        .mark_line(color=PALETTE[0], strokeWidth=1.2, point=alt.OverlayMarkDef(size=6, color=PALETTE[0]))
        .encode(x=x, y=y)
    ]
    if p.levels.height:
        layers.append(
            alt.Chart(p.levels)
            .mark_rule(color="#111", strokeWidth=2.5, opacity=0.7, clip=True)
            .encode(x=_x("start", start, end), x2="end:T", y="value:Q")
        )
    # change points labelled at the top of the panel, endpoint changes at the bottom: two close
    # rules of different kinds then keep their labels apart
    for kind, colour, dash, y_px, baseline in (
        ("change point", RULE_COLOUR, [], 2, "top"),
        ("endpoint", ENDPOINT_COLOUR, [4, 3], HEIGHT - 2, "bottom"),
    ):
        rules = drawn(p.rules.filter(pl.col("kind") == kind))
        if rules.height:
            rule_x = _x("day", start, end)
            layers.append(
                alt.Chart(rules)
                .mark_rule(color=colour, strokeWidth=1.5, strokeDash=dash)
                .encode(x=rule_x, tooltip=[alt.Tooltip("what:N", title="Change")])
            )
            layers.append(
                alt.Chart(rules)
                .mark_text(align="left", baseline=baseline, dx=3, fontSize=9, color=colour)
                .encode(x=rule_x, y=alt.value(y_px), text="label:N")
            )
    # titles are strings from the data too: labelled like every drawn value
    return alt.layer(*layers).properties(
        width=width, height=HEIGHT, title=titled(f"{named(p.provider)} \u00b7 {named(p.model)}", p.metric)
    )


def change_series(panels: list[Panel], start: dt.date, end: dt.date, columns: int = 2) -> alt.ConcatChart:
    """Small multiples, one service object each, every panel on its own scale (their units differ)."""
    width = (WIDTH - 40 * columns) // columns
    return alt.concat(*(_panel(p, start, end, width) for p in panels), columns=columns).properties(
        title=titled(
            "Daily series of the largest changes",
            "solid rule: change point; dashed: endpoint change; black: median level before and after",
        )
    )
