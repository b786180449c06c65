"""What every chart shares: the theme (one palette, one font, one width), rendering to SVG and
PNG with Vega-Lite, log axes, share classes and the safety of the specs (strings from data)."""

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


def titled(text: str, subtitle: str | None = None) -> alt.TitleParams:
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


def share_classes(share: pl.Expr) -> pl.Expr:
    """Label of the SHARE_CLASSES class a share falls in."""
    expr = pl.when(share < SHARE_CLASSES[0]).then(pl.lit(SHARE_LABELS[0]))
    for bound, class_label in zip(SHARE_CLASSES[1:], SHARE_LABELS[1:-1], strict=True):
        expr = expr.when(share < bound).then(pl.lit(class_label))
    return expr.otherwise(pl.lit(SHARE_LABELS[-1]))
