"""Small chart thumbnails for asset metadata: a tiny Altair chart rendered to PNG by vl-convert
and embedded as a data: URI image in a Markdown metadata value, which the Dagster UI shows on
the asset's page (Overview and Events). Full-size charts belong in the report, not here:
metadata lives in the event log, so a thumbnail is kept to a few kilobytes (house style,
pitfall 10).

Each helper returns a one-entry mapping to splice into an asset's metadata (`**bars(...)`),
or an empty one: a chart that cannot be drawn is logged as a warning and never fails the asset.
Labels from the data are drawn through the report's `labels.label` (no control or bidi
characters, at most 60 characters, a hash where changed) and values that are not finite are
left out, so no value can abort vl-convert (a NUL) or stall it (a 3 MB label, an inf extent).
vl-convert starts its engine once per process (about 0.7 s); later charts take about 0.05 s."""

from __future__ import annotations

import base64

import dagster as dg
import polars as pl

KEY = "chart"
WIDTH, HEIGHT = 260, 120
# A base64 PNG larger than this is dropped rather than written into the event log.
MAX_BYTES = 48_000
CONFIG = {
    "font": "DejaVu Sans",
    "background": "white",
    "padding": 4,
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 9,
        "titleFontSize": 9,
        "titleFontWeight": "normal",
        "labelLimit": 110,
        "gridColor": "#eee",
    },
    "title": {"fontSize": 10, "fontWeight": "normal", "anchor": "start"},
    "mark": {"color": "#0072B2"},
}


def _latest(df: pl.DataFrame, period: str | None) -> pl.DataFrame:
    """The rows of the last period (periods sort as text: 2025Q3 < 2025Q4, 2025-10 < 2025-11)."""
    if period is None or df.is_empty():
        return df
    return df.filter(pl.col(period) == df[period].max())


def _markdown(chart, alt_text: str) -> dict[str, dg.MetadataValue]:
    import vl_convert as vlc

    from pipeline.lib.report.charts import safe_spec

    png = vlc.vegalite_to_png(safe_spec(chart.to_dict()), config=CONFIG, scale=1.25)
    data = base64.b64encode(png).decode("ascii")
    if len(data) > MAX_BYTES:
        raise ValueError(f"thumbnail is {len(data):,} bytes of base64, above {MAX_BYTES:,}")
    return {KEY: dg.MetadataValue.md(f"![{alt_text}](data:image/png;base64,{data})")}


def _thumbnail(df: pl.DataFrame, latest: str | None, title: str, pick, chart) -> dict[str, dg.MetadataValue]:
    """`chart(rows, title)` of the rows `pick` keeps from the last period (`latest`), titled
    with that period: {} when no row is left, and a logged warning, never an error, when
    drawing fails."""
    try:
        rows = pick(_latest(df, latest))
        if rows.is_empty():
            return {}
        full_title = f"{title}, {df[latest].max()}" if latest else title
        return _markdown(chart(rows, full_title), full_title)
    except Exception as exc:  # a missing chart is not worth a failed asset
        dg.get_dagster_logger().warning(f"no chart thumbnail for {title}: {type(exc).__name__}: {exc}")
        return {}


def bars(
    df: pl.DataFrame, label: str, value: str, title: str, *, latest: str | None = None, top: int = 8, fmt: str = ".0%"
) -> dict[str, dg.MetadataValue]:
    """Horizontal bars of `value` per `label`, largest first, at most `top` of them; with
    `latest`, only the rows of the last value of that period column."""

    def chart(rows: pl.DataFrame, full_title: str):
        import altair as alt

        return (
            alt.Chart(rows, title=full_title)
            .mark_bar()
            .encode(
                x=alt.X(f"{value}:Q", title=None, axis=alt.Axis(format=fmt, tickCount=4)),
                y=alt.Y(f"{label}:N", sort="-x", title=None),
            )
            .properties(width=WIDTH - 110, height=min(HEIGHT, 14 * rows.height))
        )

    def pick(d: pl.DataFrame) -> pl.DataFrame:
        from pipeline.lib.labels import label_columns

        rows = (
            d.select(label, value)
            .drop_nulls()
            .filter(pl.col(value).cast(pl.Float64).is_finite())
            .sort(value, descending=True)
            .head(top)
        )
        return label_columns(rows, label) if rows.schema[label] == pl.String else rows

    return _thumbnail(df, latest, title, pick, chart)


def histogram(
    df: pl.DataFrame, value: str, title: str, *, unit: str = "", latest: str | None = None, bins: int = 12
) -> dict[str, dg.MetadataValue]:
    """A histogram of `value` (rows are counted, not weighted); with `latest`, only the rows of
    the last value of that period column."""

    def chart(rows: pl.DataFrame, full_title: str):
        import altair as alt

        return (
            alt.Chart(rows, title=full_title)
            .mark_bar()
            .encode(
                x=alt.X(f"{value}:Q", bin=alt.Bin(maxbins=bins), title=unit or None),
                y=alt.Y("count():Q", title="rows", axis=alt.Axis(tickCount=3)),
            )
            .properties(width=WIDTH, height=HEIGHT - 40)
        )

    return _thumbnail(
        df,
        latest,
        title,
        lambda d: d.select(value).drop_nulls().filter(pl.col(value).cast(pl.Float64).is_finite()),
        chart,
    )


# ---------------------------------------------------------------------------- metadata from data

# A text metadata value longer than this is cut (the assets' own sentences stay far below).
META_TEXT_LIMIT = 2000


def name(value: object) -> str:
    """A string from the data (model, provider, application ...) for a metadata key or value:
    control and bidi characters out, at most 60 characters, a hash where changed
    (pipeline.lib.labels)."""
    from pipeline.lib.labels import text

    return text(value)


def number(x: object, spec: str = ".2f") -> str:
    """x formatted with `spec`, or "n/a" when it is missing or not finite (no "nan", no crash on None)."""
    import math

    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, spec)


def safe_metadata(metadata: dict) -> dict:
    """Metadata fit for the event log and the UI: keys and plain text values pass through the
    label rules (keys at 60 characters, text at META_TEXT_LIMIT), and a float that is not
    finite becomes null (GraphQL and JSON have no inf or nan). MetadataValue objects (the
    Markdown thumbnail, paths) are kept as they are."""
    import math

    from pipeline.lib.labels import label

    out = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            value = label(value, META_TEXT_LIMIT)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        key = key if key.startswith("dagster/") else label(key, 120)
        out[key] = value
    return out
