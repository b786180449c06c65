"""3. Version inertia: how long superseded versions keep their traffic."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context
from pipeline.lib.report.source import quarter_dates


def _moved(summary: dict) -> str:
    """How fast demand moved, as marts.half_life_summary states it for the quarter."""
    if summary["releases_with_half_life"] > 1:
        return (
            f"Demand moved to the successor with a half-life of {fmt.days(summary['mean_half_life_days'])} on average "
            f"(from {fmt.days(summary['min_half_life_days'], 0)} to {fmt.days(summary['max_half_life_days'], 0)})"
        )
    if summary["releases_with_half_life"] == 1:
        return f"Demand moved to the successor with a half-life of {fmt.days(summary['mean_half_life_days'], 0)}"
    return "The data supports no fitted half-life for any of them"


def inertia(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("inertia", "Version inertia")
    if not wh.has("marts.version_inertia"):
        return s.add(Missing(["marts.version_inertia"], "the decay curves of superseded variants"))
    lacking = ctx.missing("marts.successor_releases", "marts.half_life_summary")
    if lacking:
        return s.add(Missing(lacking, "the successor releases and their half-lives (built from marts.version_inertia)"))
    start, end = quarter_dates(ctx.period)
    earlier = _earlier_releases(wh, ctx.period, start, end)
    summary = wh.one("select * from marts.half_life_summary where period = $period", ctx.p)
    if summary is None:
        s.add(Paragraph(f"No successor variant was released in {ctx.period}, so there is no decay to measure."))
        return s.add(earlier) if earlier else s
    n, without = summary["successor_releases"], summary["releases_without_half_life"]
    s.add(
        Paragraph(
            (
                f"1 successor variant was released in {ctx.period}. "
                if n == 1
                else f"{fmt.count(n)} successor variants were released in {ctx.period}. "
            )
            + _moved(summary)
            + (
                f"; {fmt.count(without)} have too little data after the release for a fit."
                if summary["releases_with_half_life"] and without
                else "."
            )
        )
    )
    pairs = wh.rows(
        "select * from marts.successor_releases where period = $period order by release_date, old_model, new_model",
        ctx.p,
    )
    rows = [
        [
            r["family"],
            f"{r['old_model']} \u2192 {r['new_model']}",
            r["release_date"].isoformat(),
            fmt.pct(r["pre_release_old_share"]),
            (
                fmt.days(r["half_life_days"], 1)
                + (
                    f" [{fmt.num(r['half_life_ci_low'], 1)}, {fmt.num(r['half_life_ci_high'], 1)}]"
                    if r["half_life_ci_low"] is not None
                    else ""
                )
            )
            if r["half_life_days"] is not None
            else "no fit",
            fmt.pct(r["superseded_share_last_7_days"]),
        ]
        for r in pairs
    ]
    s.add(
        Table(
            "Successor releases and half-lives: the day a decay fitted to the old variant's daily share reaches half its pre-release "
            "mean, with its 95 % interval (marts.successor_releases, from marts.version_inertia; last column from "
            "marts.version_inertia_summary: the family's demand still on superseded variants in the last 7 days of the quarter).",
            [
                "Family",
                "Old \u2192 successor",
                "Released",
                "Old share before",
                "Half-life [95 % CI]",
                "Superseded share, last 7 days",
            ],
            rows,
            align="lwrrrr",
        )
    )
    curves = wh.frame(
        "select old_model, new_model, days_since_release, old_share, pre_release_old_share, half_life_days "
        "from marts.version_inertia where release_date >= $start and release_date < $end "
        "order by release_date, old_model, days_since_release",
        {"start": start, "end": end},
    )
    plot = curves.with_columns(
        pair=pl.concat_str(pl.col("old_model"), pl.lit(" \u2192 "), pl.col("new_model")),
        half_level=pl.col("pre_release_old_share") / 2,
        half_life_days=pl.col("half_life_days").round(0),  # marked on the day nearest the fitted half-life
    ).select("pair", "days_since_release", "old_share", "half_level", "half_life_days")
    s.add(
        Figure(
            "inertia",
            "Share of each pair's requests still going to the superseded variant, by day since the successor's release; "
            "the diamond marks the day nearest the fitted half-life, where the fitted decay reaches half the pre-release mean.",
            charts.inertia(plot),
        )
    )
    return s.add(earlier) if earlier else s


def _earlier_releases(wh, period: str, start, end) -> Paragraph | None:
    """Successors released before the quarter whose decay runs on into it: their last share in
    the quarter (they have no pre-release days in the data, hence no half-life)."""
    last = wh.frame(
        "select old_model, new_model, release_date, days_since_release, old_share from marts.version_inertia "
        "where release_date < $start and date >= $start and date < $end and old_share is not null "
        "qualify row_number() over (partition by old_model, new_model order by days_since_release desc) = 1 "
        "order by release_date, old_model",
        {"start": start, "end": end},
    )
    if last.height == 0:
        return None
    items = "; ".join(
        f"{named(r['old_model'])} \u2192 {named(r['new_model'])} (released {r['release_date'].isoformat()}): "
        f"{fmt.pct(r['old_share'])} on day {r['days_since_release']}"
        for r in last.iter_rows(named=True)
    )
    return Paragraph(
        lead="Released before the quarter.",
        text=f"These successors came out before {period} and the old variant still held a share of the pair's requests in it "
        f"(the last day in the quarter within the +60-day window): {items}. The data holds no days before their release, so they have no half-life.",
    )
