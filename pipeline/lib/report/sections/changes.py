"""8. What changed this quarter: the dated changes of service objects (marts.service_changes) and
the daily series the detected ones were found in (marts.service_metric_daily)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.lib.changepoints import ALPHA, MIN_DAYS, MIN_EVIDENCE_DAYS
from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.charts.changes import HOW, Panel
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.change_rows import (
    DETECTED,
    ENDPOINT,
    before_after,
    change,
    effects,
    evidence,
    metric,
    short_change,
)
from pipeline.lib.report.sections.common import CI, Context
from pipeline.lib.report.source import quarter_dates

TABLE_ROWS = 15
ENDPOINT_ROWS = 5  # of TABLE_ROWS kept for endpoint changes when there are more changes than rows
PANELS = 6
NAMED_OFFICIAL = 5  # official APIs named in the text; more are counted (marts.service_change_summary)

# Every query reads the period's rows only: changed_at in [$start, $end). The report's connection
# is a plain read-only one, without the pipeline's quarter_label macro.
IN_PERIOD = "from marts.service_changes where changed_at >= $start and changed_at < $end"


def _many(k: int, word: str) -> str:
    return f"{fmt.count(k)} {word}" + ("" if k == 1 else "s")


def _summary(ctx: Context, n: dict, official: list[dict]) -> str:
    text = (
        f"{ctx.period} saw {_many(n['changes'], 'dated change')} of service objects: "
        f"{fmt.count(n['detected_changes'])} found as change points in the noisy daily series, "
        f"{_many(n['price_changes'], 'exact change')} of a listed price and {fmt.count(n['endpoint_changes'])} of an "
        "endpoint (quantization, context length, output cap, features). "
    )
    if official:
        more = n["official_service_objects"] - len(official)
        names = ", ".join(f"{named(r['provider'])} for {named(r['model'])}" for r in official)
        verb = "is" if n["official_changes"] == 1 else "are"
        text += (
            f"{fmt.count(n['official_changes'])} of them {verb} at a model's official API: {names}"
            + (f" and {_many(more, 'other')}" if more > 0 else "")
            + ". "
        )
    else:
        text += "None is at a model's official API. "
    if n["listing_events"]:
        text += (
            f"Listings, delistings and relistings ({fmt.count(n['listing_events'])}) are counted apart: the timeline "
            "and the table leave them out. "
        )
    return text + (
        f"Each daily series (marts.service_metric_daily) is cut into levels of at least {MIN_DAYS} days by PELT with "
        f"an L1 cost, and a change point is published when it has at least {MIN_EVIDENCE_DAYS} days on each side, the "
        f"Mann-Whitney test of the days before against the days after gives p < {ALPHA:g} and the change reaches "
        f"the metric's minimum effect ({effects()}); see "
        "docs/change-detection.md."
    )


def changes(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("changes", "What changed this quarter")
    if not wh.has("marts.service_changes"):
        return s.add(Missing(["marts.service_changes"], "the changelog of service objects (prices, endpoints, levels)"))
    lacking = ctx.missing("marts.service_change_summary")
    if lacking:
        return s.add(Missing(lacking, "the summary of the changelog (built from marts.service_changes)"))
    n = wh.one(f"select * {wh.from_quarter('marts.service_change_summary')}", ctx.p)
    if not n or not n["changes"]:
        aside = f" ({_many(n['listing_events'], 'listing event')} aside)" if n and n["listing_events"] else ""
        return s.add(Paragraph(f"No price, endpoint or level of a service object changed in {ctx.period}{aside}."))
    start, end = quarter_dates(ctx.period)
    q = {"start": start, "end": end}
    official = wh.rows(
        f"select distinct provider, model {IN_PERIOD} and official and metric <> 'listing' order by provider, model "
        f"limit {NAMED_OFFICIAL}",
        q,
    )
    s.add(Paragraph(_summary(ctx, n, official)))
    s.add(_timeline(ctx, q))
    s.add(_table(ctx, q, n))
    if n["detected_changes"]:
        s.add(_series(ctx, q))
    return s


def _timeline(ctx: Context, q: dict) -> Figure:
    rows = ctx.wh.rows(
        f"select strftime(changed_at, '%Y-%m-%d') as day, provider, model, metric, detector, change_pct, before_value, "
        f"after_value {IN_PERIOD} "
        "and metric <> 'listing' order by changed_at, provider, model, metric",
        q,
    )
    df = pl.DataFrame(
        [
            {
                "day": r["day"],
                "provider": r["provider"],
                "model": r["model"],
                "what": metric(r["metric"], r["detector"]).name,
                "group": metric(r["metric"], r["detector"]).group,
                "how": HOW[0] if r["detector"] == DETECTED else HOW[1],
                "change": short_change(r, 1),
            }
            for r in rows
        ],
        schema=dict.fromkeys(("day", "provider", "model", "what", "group", "how", "change"), pl.String),
    )
    return Figure(
        "changes_timeline",
        f"Every change of {ctx.period} but listings, by model and day, coloured by what changed; circles are change "
        "points of a daily series, diamonds exact changes of a listed price or endpoint (marts.service_changes).",
        charts.change_timeline(df, q["start"], q["end"]),
    )


def _table(ctx: Context, q: dict, n: dict) -> Table:
    # The largest detected and price changes, then endpoint changes (a quantization switch first:
    # it can change the answers, the others change limits); endpoint changes keep ENDPOINT_ROWS
    # rows however many price changes there are, or they would never reach the table.
    order = "order by {}, changed_at, provider, model, metric limit {}"
    sized = ctx.wh.rows(
        f"select * {IN_PERIOD} and detector <> '{ENDPOINT}' and metric <> 'listing' "
        + order.format("abs(change_pct) desc nulls last", TABLE_ROWS),
        q,
    )
    states = ctx.wh.rows(
        f"select * {IN_PERIOD} and detector = '{ENDPOINT}' and metric <> 'listing' "
        + order.format("metric <> 'quantization'", TABLE_ROWS),
        q,
    )
    keep = min(len(states), max(ENDPOINT_ROWS, TABLE_ROWS - len(sized)))
    shown = sized[: TABLE_ROWS - keep] + states[:keep]
    rows = [
        [
            f"{r['changed_at']:%Y-%m-%d}",
            r["provider"],
            r["model"],
            metric(r["metric"], r["detector"]).name,
            before_after(r),
            change(r),
            fmt.p_value(r["p_value"]),
            evidence(r),
            "yes" if r["official"] else "no",
        ]
        for r in shown
    ]
    note = None
    if n["changes"] > len(rows):
        note = (
            f"{fmt.count(len(rows))} of {fmt.count(n['changes'])} changes shown: the "
            f"{fmt.count(len(shown) - keep)} largest of {fmt.count(n['changes'] - n['endpoint_changes'])} detected "
            f"and price changes, {fmt.count(keep)} of {fmt.count(n['endpoint_changes'])} endpoint changes; every "
            "change is in marts.service_changes."
        )
    return Table(
        f"The largest changes of {ctx.period}: detected and price changes by the size of the relative change, then "
        "endpoint changes. Before and after are the medians of the days on either side of a change point, or the "
        f"listed values; the change's {CI} interval resamples those days; evidence is the days and samples before / "
        "after (marts.service_changes).",
        [
            "Day",
            "Provider",
            "Model",
            "What changed",
            "Before \u2192 after",
            f"Change [{CI} CI]",
            "p",
            "Evidence",
            "Official API",
        ],
        rows,
        align="llwwwrrwl",  # the long texts wrap: nine columns must fit the printed page
        note=note,
    )


def _series(ctx: Context, q: dict) -> Figure | Missing:
    wh = ctx.wh
    if not wh.has("marts.service_metric_daily"):
        return Missing(["marts.service_metric_daily"], "the daily series behind the detected changes")
    # one panel per service object, the metric of its largest detected change
    chosen = wh.rows(
        "select provider, model, metric from (select *, row_number() over (partition by provider, model "
        "order by abs(change_pct) desc nulls last, changed_at, metric) as k "
        f"{IN_PERIOD} and detector = '{DETECTED}') where k = 1 "
        f"order by abs(change_pct) desc nulls last, changed_at, provider, model limit {PANELS}",
        q,
    )
    panels = [_panel(ctx, q, c) for c in chosen]
    return Figure(
        "changes_series",
        f"The daily series of the {'service object' if len(panels) == 1 else f'{len(panels)} service objects'} with "
        f"the largest detected changes of {ctx.period}, in the metric that changed: solid rules mark its change "
        "points, black segments the median levels before and after, dashed rules the object's endpoint changes, "
        "listings included (marts.service_metric_daily, marts.service_changes).",
        charts.change_series(panels, q["start"], q["end"]),
    )


def _panel(ctx: Context, q: dict, c: dict) -> Panel:
    p = {**q, **c}
    series = ctx.wh.frame(
        "select strftime(date, '%Y-%m-%d') as date, value from marts.service_metric_daily where provider = $provider "
        "and model = $model and metric = $metric and date >= $start and date < $end order by date",
        p,
    )
    marks = ctx.wh.rows(
        f"select * {IN_PERIOD} and provider = $provider and model = $model "
        f"and ((detector = '{DETECTED}' and metric = $metric) or detector = '{ENDPOINT}') order by changed_at, metric",
        p,
    )
    levels, rules = [], []
    for r in marks:
        at = r["changed_at"].date()
        rules.append(
            {
                "day": f"{at:%Y-%m-%d}",
                "kind": "change point" if r["detector"] == DETECTED else "endpoint",
                "what": f"{metric(r['metric'], r['detector']).name}: {before_after(r)}",
                "label": short_change(r)
                if r["detector"] == DETECTED
                else named(r["after_text"] or metric(r["metric"], r["detector"]).name),
            }
        )
        if r["detector"] == DETECTED:
            # the medians the change compares, over the days behind them (days_before, days_after)
            for a, b, v in (
                (at - dt.timedelta(days=r["days_before"] or 0), at, r["before_value"]),
                (at, at + dt.timedelta(days=r["days_after"] or 0), r["after_value"]),
            ):
                levels.append({"start": f"{a:%Y-%m-%d}", "end": f"{b:%Y-%m-%d}", "value": v})
    m = metric(c["metric"], DETECTED)
    return Panel(
        provider=c["provider"],
        model=c["model"],
        metric=m.name,
        unit=m.axis or m.name,
        format=m.axis_format or ",.2f",
        series=series,
        levels=pl.DataFrame(levels, schema={"start": pl.String, "end": pl.String, "value": pl.Float64}),
        rules=pl.DataFrame(rules, schema=dict.fromkeys(("day", "kind", "what", "label"), pl.String)),
    )
