"""10. Routing counterfactuals: what routing policies would have changed, with intervals."""

from __future__ import annotations

import polars as pl

from pipeline.lib.marts.routing_totals import ALL_MODELS
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import CI, ROUTING_MODELS, Context
from pipeline.lib.report.sections.routing_trust import capacity_paragraph, learned_paragraph, validation_table

OBJECTIVE_UNITS = {"cost": ("USD", fmt.usd_total), "throughput": ("tok/s", fmt.tps)}


def _totals_table(wh, ctx: Context):
    """All models together, per objective and policy (marts.routing_totals)."""
    if not wh.has("marts.routing_totals"):
        return Paragraph("marts.routing_totals is not in this warehouse: no all-model figures.")
    totals = wh.frame(f"select * {wh.from_quarter('marts.routing_totals')} order by objective, policy", ctx.p)
    return Table(
        "Routing every model's requests to the best feasible provider, against the official provider on the same "
        f"requests, all models together: the change of total cost, and of decode throughput weighted by the requests routed, "
        f"with {CI} paired day-bootstrap intervals (marts.routing_totals).",
        ["Objective", "Policy", "Models", "Requests routed", "Excluded", "Change, all models"],
        [
            [
                r["objective"],
                r["policy"],
                fmt.count(r["models"]),
                fmt.count(r["requests_routed"]),
                fmt.count(r["requests_excluded"]),
                fmt.pct_value_ci(r["change_pct"], r["ci_low"], r["ci_high"]),
            ]
            for r in totals.iter_rows(named=True)
        ],
        align="llrrrr",
    )


def _staleness(wh, ctx: Context) -> Paragraph | None:
    """How much staleness cost, all models together (marts.routing_staleness)."""
    if not wh.has("marts.routing_staleness"):
        return None
    rows = {
        r["objective"]: r
        for r in wh.rows(
            f"select * {wh.from_quarter('marts.routing_staleness')} and model = $all order by objective",
            {**ctx.p, "all": ALL_MODELS},
        )
    }
    if not rows:
        return None
    said = []
    if "cost" in rows:
        r = rows["cost"]
        said.append(
            f"the cost of a provider order frozen by list price at the start of the quarter differed by "
            f"{fmt.pct_value_ci(r['staleness_pct'], r['staleness_ci_low'], r['staleness_ci_high'])} from the same order "
            f"re-decided every bucket (so after every price, speed or availability change) on the same requests "
            f"({fmt.pct_value(r['frozen_change_pct'])} against {fmt.pct_value(r['redeciding_change_pct'])} "
            "vs the official APIs)"
        )
    if "throughput" in rows:
        r = rows["throughput"]
        said.append(
            f"the decode throughput of an order frozen by speed on the quarter's first day differed by "
            f"{fmt.pct_value_ci(r['staleness_pct'], r['staleness_ci_low'], r['staleness_ci_high'])} from the fastest "
            "provider re-decided every bucket"
        )
    return Paragraph(
        "How much staleness cost, all models together: "
        + "; ".join(said)
        + f" ({CI} paired day-bootstrap intervals; marts.routing_staleness, per model there). The frozen order keeps its "
        "fallbacks (the next provider on the list when one is down) but never learns of a price cut, a new listing or a "
        "slowdown (marts.service_changes)."
    )


def _span(values: pl.Series) -> str:
    """One count, or 'low-high' when the policies disagree."""
    lo, hi = values.min(), values.max()
    return fmt.count(lo) if lo == hi else f"{fmt.count(lo)}\u2013{fmt.count(hi)}"


def routing_table(df: pl.DataFrame, objective: str, more: int) -> Table:
    """One row per model (in df's `order`), one change column per policy: the objective's
    baseline value on the official provider and each policy's change with its interval."""
    unit, f = OBJECTIVE_UNITS.get(objective, ("", lambda x: fmt.num(x, 2)))
    policies = sorted(df["policy"].unique().to_list())
    rows = []
    for (model,), part in df.sort("order").group_by(["model"], maintain_order=True):
        by_policy = {r["policy"]: r for r in part.iter_rows(named=True)}
        first = part.row(0, named=True)
        rows.append(
            [
                model,
                first["baseline_provider"] or fmt.DASH,
                _span(part["requests_routed"]),
                _span(part["requests_excluded"]),
                f(first["baseline_value"]),
                *(
                    fmt.pct_value_ci(by_policy[p]["change_pct"], by_policy[p]["ci_low"], by_policy[p]["ci_high"])
                    if p in by_policy
                    else fmt.DASH
                    for p in policies
                ),
            ]
        )
    what = (
        "cost of the routed requests on the official provider, in USD"
        if objective == "cost"
        else "request-weighted mean decode throughput on the official provider, in tokens/s"
        if objective == "throughput"
        else "baseline value"
    )
    return Table(
        f"Routing for {objective}, for the most routed models: the {what}, and the change when routed by each policy, "
        f"with its {CI} interval (marts.routing_counterfactual).",
        [
            "Model",
            "Official provider",
            "Requests routed",
            "Excluded",
            f"Baseline ({unit})" if unit else "Baseline",
            *(f"{p.capitalize()} policy: change [{CI} CI]" for p in policies),
        ],
        rows,
        align="wlrrr" + "r" * len(policies),
        note=f"{more} more models in marts.routing_counterfactual." if more > 0 else None,
    )


def throughput_two_ways(df: pl.DataFrame) -> Table:
    """The throughput change as the contract's per-request mean and as the traffic's total
    (output tokens over decode seconds), per model and policy, each with its interval."""
    rows = [
        [
            r["model"],
            r["policy"],
            fmt.pct_value_ci(r["change_pct"], r["ci_low"], r["ci_high"]),
            fmt.tps(r["tokens_per_s_baseline"]),
            fmt.tps(r["tokens_per_s_routed"]),
            fmt.pct_value_ci(
                r["tokens_per_s_change_pct"], r["tokens_per_s_change_pct_ci_low"], r["tokens_per_s_change_pct_ci_high"]
            ),
        ]
        for r in df.sort("order", "policy").iter_rows(named=True)
    ]
    return Table(
        f"Throughput two ways: the change of the per-request mean decode throughput (the contract's objective, each request's "
        f"tok/s weighted by 1 / sample_rate) and of the traffic's total tokens per second (weighted output tokens over the decode "
        f"seconds they take), each with its {CI} interval (marts.routing_counterfactual). Long answers weigh more in the total.",
        [
            "Model",
            "Policy",
            f"Per-request mean: change [{CI} CI]",
            "Total tok/s, official",
            "Total tok/s, routed",
            f"Total: change [{CI} CI]",
        ],
        rows,
        align="llrrrr",
    )


def _policies(ctx: Context, s: Section) -> None:
    """Every policy's summary over the models (marts.routing_policy_summary) and its chart, one
    tick per model (marts.routing_policies)."""
    wh = ctx.wh
    if not wh.has("marts.routing_policies"):
        return
    if not wh.has("marts.routing_policy_summary"):
        s.add(Missing(["marts.routing_policy_summary"], "the routing policies over the models"))
        return
    summ = wh.rows(f"select * {wh.from_quarter('marts.routing_policy_summary')} order by policy, scenario", ctx.p)
    if not summ:
        s.add(Paragraph(f"marts.routing_policies holds no row for {ctx.period}."))
        return
    rows = [
        [
            r["policy"],
            r["scenario"],
            fmt.count(r["models"]),
            fmt.count(r["requests_routed"]),
            fmt.count(r["requests_excluded"]),
            fmt.usd_total(r["total_cost_usd"]),
            fmt.pct_value(r["median_cost_change_pct"]),
            fmt.pct_value(r["median_tps_change_pct"]),
            fmt.pct(r["lowest_success_rate"]),
        ]
        for r in summ
    ]
    s.add(
        Table(
            "Routing policies: models, requests, total cost of the routed requests, median change across models of cost and decode "
            "throughput, and the lowest expected success rate of any model (marts.routing_policy_summary, from "
            "marts.routing_policies).",
            [
                "Policy",
                "Scenario",
                "Models",
                "Routed",
                "Excluded",
                "Total cost",
                "Cost change",
                "Throughput change",
                "Lowest success",
            ],
            rows,
            align="llrrrrrrr",
        )
    )
    rp = wh.frame(f"select * {wh.from_quarter('marts.routing_policies')}", ctx.p)
    several = len({r["scenario"] for r in summ}) > 1
    long = (
        pl.concat(
            [
                rp.select("model", "policy", "scenario", pl.lit(label).alias("metric"), pl.col(col).alias("value"))
                for col, label in (("cost_change_pct", "cost"), ("tps_change_pct", "decode throughput"))
            ]
        )
        .drop_nulls("value")
        .with_columns(
            policy=pl.concat_str(pl.col("policy"), pl.lit(" ("), pl.col("scenario"), pl.lit(")"))
            if several
            else pl.col("policy")
        )
    )
    if long.height:
        s.add(
            Figure(
                "routing_policies",
                "Change of cost and of mean decode throughput against the official provider, per routing "
                "policy, one tick per model; policies sorted by their median cost change (marts.routing_policies).",
                charts.routing_policies(long.select("model", "policy", "metric", "value")),
            )
        )


def routing(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("routing", "Routing counterfactuals")
    lacking = ctx.missing("marts.routing_counterfactual", "marts.routing_policies")
    if len(lacking) == 2:
        return s.add(
            Missing(
                lacking,
                "the routing counterfactuals: the routing marts are not in this warehouse, so this section has no figures",
            )
        )
    if not lacking and not any(
        wh.one(f"select count(*) as n {wh.from_quarter(t)}", ctx.p)["n"]
        for t in ("marts.routing_counterfactual", "marts.routing_policies")
    ):
        return s.add(
            Paragraph(f"The routing marts hold no row for {ctx.period}: no request of the quarter was replayed.")
        )
    if wh.has("marts.routing_counterfactual"):
        rc = wh.frame(f"select * {wh.from_quarter('marts.routing_counterfactual')}", ctx.p)
        if rc.height == 0:
            s.add(Paragraph(f"marts.routing_counterfactual holds no row for {ctx.period}."))
        else:
            per_model = rc
            # Section.add skips a block that is None (no such mart, or no row)
            s.add(_totals_table(wh, ctx), _staleness(wh, ctx), learned_paragraph(wh))
            totals = (
                wh.frame(
                    f"select * {wh.from_quarter('marts.routing_totals')} and objective = 'cost' and policy = 'oracle'",
                    ctx.p,
                )
                if wh.has("marts.routing_totals")
                else pl.DataFrame()
            )
            if totals.height and totals["requests_imputed"][0] and totals["requests_routed"][0]:
                routed, imputed = totals["requests_routed"][0], totals["requests_imputed"][0]
                share = totals["requests_imputed_share"][0] if "requests_imputed_share" in totals.columns else None
                s.add(
                    Paragraph(
                        f"Cache hits: {fmt.pct(share)} of the routed requests ({fmt.count(imputed)} of {fmt.count(routed)}, "
                        "weighted) come from providers whose logs show no cached input count. Each is replayed as a cache hit and a miss, "
                        "weighted by the hit rate of the same day's requests of the model and application that report it "
                        "(marts.routing_cache_rates), and the intervals carry the uncertainty of which it was; costing them as no "
                        "hits would overstate what routing saves, and costing them at the average hit too."
                    )
                )
            top_models = (
                per_model.group_by("model")
                .agg(pl.col("requests_routed").max().alias("r"))
                .sort(["r", "model"], descending=[True, False])
                .head(ROUTING_MODELS)["model"]
                .to_list()
            )
            shown = (
                per_model.filter(pl.col("model").is_in(top_models))
                .with_columns(
                    order=pl.col("model").replace_strict(
                        {m: i for i, m in enumerate(top_models)}, default=len(top_models)
                    )
                )
                .sort("objective", "order", "policy")
            )
            more = per_model["model"].n_unique() - len(top_models)
            if shown.height == 0:
                s.add(
                    Paragraph(
                        "marts.routing_counterfactual holds only all-model rows for this quarter; there is no per-model breakdown."
                    )
                )
            for objective in sorted(shown["objective"].unique().to_list()):
                s.add(routing_table(shown.filter(pl.col("objective") == objective), objective, more))
            if "tokens_per_s_change_pct" in shown.columns:
                two = shown.filter(
                    (pl.col("objective") == "throughput") & pl.col("tokens_per_s_change_pct").is_not_null()
                )
                if two.height:
                    s.add(throughput_two_ways(two))
            plot = shown.select("model", "order", "objective", "policy", "change_pct", "ci_low", "ci_high")
            if plot.height:
                s.add(
                    Figure(
                        "routing",
                        "Change of cost and of decode throughput when each request goes to the best feasible provider "
                        f"instead of the official one, per policy; lines are {CI} intervals.",
                        charts.routing_changes(plot, CI),
                    )
                )
    _policies(ctx, s)
    s.add(capacity_paragraph(ctx), validation_table(ctx))
    if wh.has("marts.routing_sensitivity", "min_success", "is_run_setting"):
        table = sensitivity_table(
            wh.frame(f"select * {wh.from_quarter('marts.routing_sensitivity')} and policy = 'oracle'", ctx.p)
        )
        if table is not None:
            s.add(table)
    if lacking:
        s.add(Missing(lacking, "part of the routing counterfactuals"))
    return s


def sensitivity_table(df: pl.DataFrame) -> Table | None:
    """One row per setting (bucket, availability rule, threshold), one column per headline case
    (model x objective, oracle policy): its change with the interval, and the requests excluded."""
    df = df.filter(pl.col("change_pct").is_not_null())
    if not df.height:
        return None
    cases = df.select("model", "objective").unique().sort("model", "objective").rows()
    settings = (
        df.select("bucket_minutes", "availability_confidence", "min_success", "is_run_setting")
        .unique()
        .sort("bucket_minutes", "availability_confidence", "min_success", descending=[False, True, False])
    )
    by_key = {
        (r["bucket_minutes"], r["availability_confidence"], r["min_success"], r["model"], r["objective"]): r
        for r in df.iter_rows(named=True)
    }
    rows = []
    for st in settings.iter_rows(named=True):
        rule = (
            f"evidence ({fmt.pct(st['availability_confidence'], 0)})"
            if st["availability_confidence"] > 0.5
            else "point"
        )
        cells = []
        for model, objective in cases:
            r = by_key.get((st["bucket_minutes"], st["availability_confidence"], st["min_success"], model, objective))
            cells.append(
                fmt.DASH
                if r is None
                else f"{fmt.pct_value_ci(r['change_pct'], r['ci_low'], r['ci_high'])}; "
                f"{fmt.count(r['requests_excluded'])} excluded"
            )
        rows.append(
            [
                f"{st['bucket_minutes']} min",
                rule,
                fmt.num(st["min_success"], 2) + (" (this run)" if st["is_run_setting"] else ""),
                *cells,
            ]
        )
    return Table(
        f"Sensitivity of the headline routing figures (oracle policy) to the availability rule, its threshold and the bucket "
        f"size: the change against the official provider with its {CI} interval, and the requests excluded because the "
        "official provider counts as down or cannot serve them (marts.routing_sensitivity). The evidence rule marks a provider "
        "down only when its probes show success below the threshold at that one-sided confidence; the point rule reads "
        "the bucket's success rate as it is.",
        ["Bucket", "Availability rule", "Threshold", *(f"{m}, {o}" for m, o in cases)],
        rows,
        align="lll" + "r" * len(cases),
    )
