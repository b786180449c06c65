"""Headline figures: one number per finding, read from marts.key_figures (where each is
computed, sql/marts/key_figures.sql) for the reported quarter and, when the warehouse holds
it, for the quarter before, with the change between them in the unit the figure is read in
(percentage points for shares, days for half-lives ...). Nothing here computes a figure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.lib.labels import label
from pipeline.lib.report import fmt
from pipeline.lib.report.model import Headline
from pipeline.lib.report.source import Warehouse


@dataclass
class Figure:
    value: float | None
    text: str
    interval: str | None = None
    detail: str | None = None


Row = dict
Rows = dict[str, Row]


@dataclass
class Spec:
    label: str
    section: str
    change: str  # a fmt.change kind
    figure: str  # marts.key_figures.figure
    show: Callable[[Row, Rows], Figure]


def _models(r: Row) -> str:
    return f"{fmt.count(r['n'])} models"


def _of(r: Row, rows: Rows) -> Figure:
    return Figure(r["value"], f"{fmt.count(r['value'])} of {fmt.count(r['n'])}")


def _tool_calls(r: Row, rows: Rows) -> Figure:
    undecided = rows.get("tool_call_undecided")
    more = f" ({fmt.count(undecided['value'])} undecided)" if undecided else ""
    return Figure(r["value"], f"{fmt.count(r['value'])} of {fmt.count(r['n'])}{more}")


def _routing(r: Row, rows: Rows) -> Figure:
    return Figure(
        r["value"],
        fmt.pct_value(r["value"]),
        fmt.bracket(r["ci_low"], r["ci_high"], 1),
        detail=f"{r['detail']} policy, all {fmt.count(r['n'])} models together",
    )


SPECS = (
    Spec(
        "Requests in the quarter (weighted)",
        "coverage",
        "rel",
        "requests_total",
        lambda r, _: Figure(r["value"], fmt.count(r["value"])),
    ),
    Spec(
        "Largest family's share of requests",
        "demand",
        "pp",
        "top1_family_share",
        lambda r, _: Figure(r["value"], fmt.pct(r["value"]), detail=label(r["detail"]) if r["detail"] else None),
    ),
    Spec(
        "Top-5 families' share of requests",
        "demand",
        "pp",
        "top5_family_share",
        lambda r, _: Figure(r["value"], fmt.pct(r["value"]), fmt.bracket(r["ci_low"], r["ci_high"], 1, 100)),
    ),
    Spec(
        "Gini coefficient across families",
        "demand",
        "abs3",
        "gini_family",
        lambda r, _: Figure(r["value"], fmt.num(r["value"], 3), fmt.bracket(r["ci_low"], r["ci_high"], 3)),
    ),
    Spec(
        "Mean half-life of superseded variants",
        "inertia",
        "days",
        "mean_half_life_days",
        lambda r, _: Figure(r["value"], fmt.days(r["value"]), detail=f"{fmt.count(r['n'])} successor releases"),
    ),
    Spec(
        "Listing breadth vs demand (Spearman's rho)",
        "supply_use",
        "abs2",
        "breadth_rho",
        lambda r, _: Figure(r["value"], fmt.num(r["value"]), fmt.bracket(r["ci_low"], r["ci_high"]), detail=_models(r)),
    ),
    Spec(
        "Median blended-price cv across providers",
        "heterogeneity",
        "abs3",
        "median_price_cv",
        lambda r, _: Figure(r["value"], fmt.num(r["value"], 3), detail=_models(r)),
    ),
    Spec(
        "Throughput cv / price cv",
        "heterogeneity",
        "abs2",
        "anchoring_ratio",
        lambda r, _: Figure(r["value"], fmt.num(r["value"]), fmt.bracket(r["ci_low"], r["ci_high"]), detail=_models(r)),
    ),
    Spec(
        "Provider-fault share of requests",
        "reliability",
        "pp2",
        "provider_fault_rate",
        lambda r, _: Figure(r["value"], fmt.pct(r["value"], 2)),
    ),
    Spec("Service objects failing the tool-call F1 bar", "verification", "count", "tool_call_fail", _tool_calls),
    Spec("Dominated service objects (Pareto)", "heterogeneity", "count", "dominated_service_objects", _of),
    Spec("Cost change from routing", "routing", "points", "routing_cost_change", _routing),
    Spec("Throughput change from routing", "routing", "points", "routing_throughput_change", _routing),
)


def _rows(wh: Warehouse, period: str) -> Rows:
    if not wh.has("marts.key_figures"):
        return {}
    df = wh.frame("select * from marts.key_figures where period = $period", {"period": period})
    return {r["figure"]: r for r in df.iter_rows(named=True)}


def headlines(wh: Warehouse, period: str, previous: str | None) -> list[Headline]:
    """The headline figures marts.key_figures holds for `period`, each with its change against
    `previous` (a quarter the warehouse holds) when both quarters have the figure."""
    cur_rows, prev_rows = _rows(wh, period), _rows(wh, previous) if previous else {}
    out = []
    for spec in SPECS:
        row = cur_rows.get(spec.figure)
        if row is None or row["value"] is None:
            continue
        cur = spec.show(row, cur_rows)
        h = Headline(
            label=spec.label,
            value=cur.value,
            text=cur.text,
            interval=cur.interval,
            section=spec.section,
            detail=cur.detail,
        )
        prev_row = prev_rows.get(spec.figure)
        if prev_row is not None and prev_row["value"] is not None:
            prev = spec.show(prev_row, prev_rows)
            h.previous = prev.text
            h.change = fmt.change(cur.value, prev.value, spec.change)
        out.append(h)
    return out
