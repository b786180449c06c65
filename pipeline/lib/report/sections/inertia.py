"""3. Version inertia: how long superseded versions keep their traffic."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context
from pipeline.lib.report.source import quarter_dates


def inertia(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("inertia", "Version inertia")
    if not wh.has("marts.version_inertia"):
        return s.add(Missing(["marts.version_inertia"], "the decay curves of superseded variants"))
    start, end = quarter_dates(ctx.period)
    curves = wh.frame(
        "select family, old_model, new_model, release_date, days_since_release, old_share, pre_release_old_share, half_life_days, "
        + (
            "half_life_ci_low, half_life_ci_high "
            if wh.has("marts.version_inertia", "half_life_ci_low", "half_life_ci_high")
            else "null::double as half_life_ci_low, null::double as half_life_ci_high "
        )
        + "from marts.version_inertia where release_date >= $start and release_date < $end order by release_date, old_model, days_since_release",
        {"start": start, "end": end},
    )
    earlier = _earlier_releases(wh, ctx.period, start, end)
    if curves.height == 0:
        s.add(Paragraph(f"No successor variant was released in {ctx.period}, so there is no decay to measure."))
        return s.add(earlier) if earlier else s
    pairs = curves.group_by("family", "old_model", "new_model", "release_date", maintain_order=True).agg(
        pl.col("pre_release_old_share").first(),
        pl.col("half_life_days").first(),
        pl.col("half_life_ci_low").first(),
        pl.col("half_life_ci_high").first(),
    )
    summary = {}
    if wh.has("marts.version_inertia_summary"):
        summary = {
            r["family"]: r for r in wh.rows("select * from marts.version_inertia_summary where period = $period", ctx.p)
        }
    with_hl = pairs.filter(pl.col("half_life_days").is_not_null())
    if with_hl.height > 1:
        moved = (
            f"Demand moved to the successor with a half-life of {fmt.days(with_hl['half_life_days'].mean())} on average "
            f"(from {fmt.days(with_hl['half_life_days'].min(), 0)} to {fmt.days(with_hl['half_life_days'].max(), 0)})"
        )
    elif with_hl.height == 1:
        moved = f"Demand moved to the successor with a half-life of {fmt.days(with_hl['half_life_days'][0], 0)}"
    else:
        moved = "The data supports no fitted half-life for any of them"
    s.add(
        Paragraph(
            (
                f"1 successor variant was released in {ctx.period}. "
                if pairs.height == 1
                else f"{fmt.count(pairs.height)} successor variants were released in {ctx.period}. "
            )
            + moved
            + (
                f"; {fmt.count(pairs.height - with_hl.height)} have too little data after the release for a fit."
                if with_hl.height and with_hl.height < pairs.height
                else "."
            )
        )
    )
    rows = []
    for r in pairs.iter_rows(named=True):
        fam = summary.get(r["family"])
        rows.append(
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
                fmt.pct(fam["superseded_share_last_7_days"]) if fam else fmt.DASH,
            ]
        )
    s.add(
        Table(
            "Successor releases and half-lives: the day a decay fitted to the old variant's daily share reaches half its pre-release "
            "mean, with its 95 % interval (marts.version_inertia; last column from marts.version_inertia_summary: the family's "
            "demand still on superseded variants in the last 7 days of the quarter).",
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
