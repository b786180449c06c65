"""Headline figures: one number per finding, read from the marts for the reported quarter
and, when the warehouse holds it, for the quarter before, with the change between them in
the unit the figure is read in (percentage points for shares, days for half-lives ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipeline.lib.labels import label
from pipeline.lib.report import fmt
from pipeline.lib.report.model import Headline
from pipeline.lib.report.sections import is_overall, routing_totals
from pipeline.lib.report.source import Warehouse


@dataclass
class Figure:
    value: float | None
    text: str
    interval: str | None = None
    detail: str | None = None


@dataclass
class Spec:
    label: str
    section: str
    change: str  # a fmt.change kind
    read: Callable[[Warehouse, str], Figure | None]


def _conc(wh: Warehouse, period: str, level: str = "family") -> dict | None:
    if not wh.has("marts.concentration"):
        return None
    return wh.one(
        f"select * {wh.from_quarter('marts.concentration')} and level = $level and measure = 'requests'",
        {"period": period, "level": level},
    )


def requests_total(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.family_demand"):
        return None
    r = wh.one(f"select sum(requests) as r {wh.from_quarter('marts.family_demand')}", {"period": period})
    return Figure(r["r"], fmt.count(r["r"])) if r and r["r"] is not None else None


def top1_family(wh: Warehouse, period: str) -> Figure | None:
    c = _conc(wh, period)
    if not c:
        return None
    name = None
    if wh.has("marts.family_demand"):
        top = wh.one(
            f"select family {wh.from_quarter('marts.family_demand')} order by rank, family limit 1", {"period": period}
        )
        name = label(top["family"]) if top else None
    return Figure(c["top1_share"], fmt.pct(c["top1_share"]), detail=name)


def top5_family(wh: Warehouse, period: str) -> Figure | None:
    c = _conc(wh, period)
    return (
        Figure(c["top5_share"], fmt.pct(c["top5_share"]), fmt.bracket(c["top5_ci_low"], c["top5_ci_high"], 1, 100))
        if c
        else None
    )


def gini_family(wh: Warehouse, period: str) -> Figure | None:
    c = _conc(wh, period)
    return Figure(c["gini"], fmt.num(c["gini"], 3), fmt.bracket(c["gini_ci_low"], c["gini_ci_high"], 3)) if c else None


def half_life(wh: Warehouse, period: str) -> Figure | None:
    """Mean half-life over the period's releases that reached one (the summary's family means,
    weighted by the releases behind each)."""
    if not wh.has("marts.version_inertia_summary"):
        return None
    r = wh.one(
        "select sum(mean_half_life_days * (successor_releases - releases_without_half_life)) "
        "/ nullif(sum(successor_releases - releases_without_half_life) filter (where mean_half_life_days is not null), 0) as hl, "
        "sum(successor_releases) as n from marts.version_inertia_summary where period = $period",
        {"period": period},
    )
    if not r or r["n"] is None:
        return None
    return Figure(r["hl"], fmt.days(r["hl"]), detail=f"{fmt.count(r['n'])} successor releases")


def breadth_rho(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.supply_use_summary"):
        return None
    r = wh.one(f"select * {wh.from_quarter('marts.supply_use_summary')}", {"period": period})
    return (
        Figure(
            r["spearman_rho"],
            fmt.num(r["spearman_rho"]),
            fmt.bracket(r["rho_ci_low"], r["rho_ci_high"]),
            detail=f"{fmt.count(r['n_models'])} models",
        )
        if r
        else None
    )


def price_cv(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.provider_dispersion"):
        return None
    r = wh.one(
        f"select median(cv) as cv, count(*) as n {wh.from_quarter('marts.provider_dispersion')} "
        "and attribute = 'blended_price' and cv is not null",
        {"period": period},
    )
    return Figure(r["cv"], fmt.num(r["cv"], 3), detail=f"{fmt.count(r['n'])} models") if r and r["n"] else None


def anchoring_ratio(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.price_anchoring"):
        return None
    r = wh.one(
        f"select * {wh.from_quarter('marts.price_anchoring')} and performance_attribute = 'decode_tps_p50'",
        {"period": period},
    )
    return (
        Figure(
            r["dispersion_ratio"],
            fmt.num(r["dispersion_ratio"]),
            fmt.bracket(r["ratio_ci_low"], r["ratio_ci_high"]),
            detail=f"{fmt.count(r['n_models'])} models",
        )
        if r
        else None
    )


def provider_fault_rate(wh: Warehouse, period: str) -> Figure | None:
    """Weighted provider-fault request errors over all weighted requests of the providers in
    marts.error_matrix (attempts are per provider, repeated on each of its error rows)."""
    if not wh.has("marts.error_matrix"):
        return None
    r = wh.one(
        f"with p as (select provider, max(attempts) as attempts, sum(errors) filter (where error_class = 'provider_fault') as errors "
        f"{wh.from_quarter('marts.error_matrix')} and source = 'requests' group by provider) "
        "select sum(errors) / nullif(sum(attempts), 0) as rate from p",
        {"period": period},
    )
    return Figure(r["rate"], fmt.pct(r["rate"], 2)) if r and r["rate"] is not None else None


def f1_fail(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.vendor_verification"):
        return None
    r = wh.one(
        f"select count(*) filter (where verdict = 'fail') as fail, count(*) filter (where verdict = 'undecided') as undecided, "
        f"count(*) as n {wh.from_quarter('marts.vendor_verification')} and suite = 'tool_calls' and not is_official and tool_call_f1 is not null",
        {"period": period},
    )
    if not r or not r["n"]:
        return None
    return Figure(r["fail"], f"{fmt.count(r['fail'])} of {fmt.count(r['n'])} ({fmt.count(r['undecided'])} undecided)")


def dominated(wh: Warehouse, period: str) -> Figure | None:
    if not wh.has("marts.service_pareto"):
        return None
    r = wh.one(
        f"select count(*) filter (where dominated) as d, count(*) as n "
        f"{wh.from_quarter('marts.service_pareto')} and dominated is not null",
        {"period": period},
    )
    return Figure(r["d"], f"{fmt.count(r['d'])} of {fmt.count(r['n'])}") if r and r["n"] else None


def _routing(objective: str) -> Callable[[Warehouse, str], Figure | None]:
    def read(wh: Warehouse, period: str) -> Figure | None:
        if not wh.has("marts.routing_counterfactual"):
            return None
        df = wh.frame(
            f"select * {wh.from_quarter('marts.routing_counterfactual')} and objective = $objective",
            {"period": period, "objective": objective},
        )
        if df.height == 0:
            return None
        policy = "causal" if (df["policy"] == "causal").any() else sorted(df["policy"].unique().to_list())[0]
        df = df.filter(pl.col("policy") == policy)
        overall = df.filter(is_overall())
        if overall.height:
            r = overall.row(0, named=True)
            return Figure(
                r["change_pct"],
                fmt.pct_value(r["change_pct"]),
                fmt.bracket(r["ci_low"], r["ci_high"], 1),
                detail=f"{policy} policy, all models",
            )
        totals = routing_totals(df.filter(~is_overall()))
        if totals.height == 0 or totals["change_pct"][0] is None:
            return None
        r = totals.row(0, named=True)
        return Figure(
            r["change_pct"], fmt.pct_value(r["change_pct"]), detail=f"{policy} policy, all {r['n']} models together"
        )

    return read


SPECS = (
    Spec("Requests in the quarter (weighted)", "coverage", "rel", requests_total),
    Spec("Largest family's share of requests", "demand", "pp", top1_family),
    Spec("Top-5 families' share of requests", "demand", "pp", top5_family),
    Spec("Gini coefficient across families", "demand", "abs3", gini_family),
    Spec("Mean half-life of superseded variants", "inertia", "days", half_life),
    Spec("Listing breadth vs demand (Spearman's rho)", "supply_use", "abs2", breadth_rho),
    Spec("Median blended-price cv across providers", "heterogeneity", "abs3", price_cv),
    Spec("Throughput cv / price cv", "heterogeneity", "abs2", anchoring_ratio),
    Spec("Provider-fault share of requests", "reliability", "pp2", provider_fault_rate),
    Spec("Service objects failing the tool-call F1 bar", "verification", "count", f1_fail),
    Spec("Dominated service objects (Pareto)", "heterogeneity", "count", dominated),
    Spec("Cost change from routing", "routing", "points", _routing("cost")),
    Spec("Throughput change from routing", "routing", "points", _routing("throughput")),
)


def headlines(wh: Warehouse, period: str, previous: str | None) -> list[Headline]:
    """The headline figures the warehouse supports for `period`, each with its change against
    `previous` (a quarter the warehouse holds) when both quarters have the figure."""
    out = []
    for spec in SPECS:
        cur = spec.read(wh, period)
        if cur is None or cur.value is None:
            continue
        h = Headline(
            label=spec.label,
            value=cur.value,
            text=cur.text,
            interval=cur.interval,
            section=spec.section,
            detail=cur.detail,
        )
        if previous:
            prev = spec.read(wh, previous)
            if prev is not None and prev.value is not None:
                h.previous = prev.text
                h.change = fmt.change(cur.value, prev.value, spec.change)
        out.append(h)
    return out
