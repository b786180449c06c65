"""10. Routing counterfactuals, what makes them trustworthy and actionable (issue 17): the replay
checked against the traffic providers served (marts.replay_validation), the capacity model
(marts.provider_capacity, marts.routing_capacity) and the learned, constrained orders
(marts.routing_recommendations) beside the public study's figures. Built into the routing
section (routing.py)."""

from __future__ import annotations

import polars as pl

from pipeline.lib.report import fmt
from pipeline.lib.report.model import Paragraph, Table
from pipeline.lib.report.sections.common import CI, ROUTING_MODELS, Context

# a provider's row in the replay-validation table needs this many logged requests of the metric
VALIDATION_MIN_REQUESTS = 30


def replay_validation_table(df: pl.DataFrame) -> Table | None:
    """What the replay assumes against what the logs observed, per model and provider
    (marts.replay_validation rows of the quarter): TTFT and decode throughput as a gap in percent,
    failures as observed and assumed rates (a percent of a rate near 0 says little)."""
    df = df.filter(pl.col("requests_logged") >= VALIDATION_MIN_REQUESTS)
    if not df.height:
        return None
    by = {(r["model"], r["provider"], r["metric"]): r for r in df.iter_rows(named=True)}
    rows = []
    for model, provider in sorted({(m, p) for m, p, _ in by}):
        ttft, decode, fail = (by.get((model, provider, m)) for m in ("ttft_ms", "decode_tps", "failure_rate"))

        def gap(r):
            return fmt.pct_value_ci(r["gap_pct"], r["gap_pct_ci_low"], r["gap_pct_ci_high"]) if r else fmt.DASH

        rows.append(
            [
                model,
                provider,
                fmt.count(max(r["requests_logged"] for r in (ttft, decode, fail) if r)),
                gap(ttft),
                gap(decode),
                f"{fmt.pct(fail['observed_value'])} vs {fmt.pct(fail['predicted_value'])}" if fail else fmt.DASH,
            ]
        )
    return Table(
        "Does the replay hold for the traffic providers really served? For the logged requests each provider served, "
        "what the logs observed against what the replay assumes there (its probes' bucket medians; 1 - probe success as "
        f"the chance of a failure), weighted means, with {CI} paired day-bootstrap intervals of the gap "
        f"(marts.replay_validation; providers with at least {VALIDATION_MIN_REQUESTS} logged requests). A positive TTFT "
        "gap means production waits longer for its first token than the probes, a negative decode gap that it decodes "
        "slower: the replay's throughput and latency figures lean on the probes by that much.",
        [
            "Model",
            "Provider",
            "Logged requests",
            "TTFT, logs vs replay",
            "Decode tok/s, logs vs replay",
            "Failures, logs vs replay",
        ],
        rows,
        align="llrnnr",
    )


def capacity_paragraph(ctx: Context) -> Paragraph | None:
    """What the capacity model changes (marts.provider_capacity, marts.routing_capacity): the
    causal cost policy of each model whose routing meets a capacity-limited provider."""
    wh = ctx.wh
    if not (wh.has("marts.provider_capacity") and wh.has("marts.routing_capacity")):
        return None
    fits = wh.one(
        "select count(*) as n, count(*) filter (where capacity_limited) as limited from marts.provider_capacity"
    )
    if not fits["n"]:
        return None
    charged = wh.rows(
        f"select * {wh.from_quarter('marts.routing_capacity')} and objective = 'cost' and policy = 'cheapest' "
        "and fallback_share > 0 order by requests_routed desc, model limit 5",
        ctx.p,
    )
    head = (
        f"Capacity: {fits['limited']} of {fits['n']} service objects refuse more of their requests with rate limits "
        "the busier their hour, by their own logs (marts.provider_capacity: a line of the refused share on the hour's "
        "requests whose 95 % interval lies above 0, doubling the traffic adding at least a point)"
    )
    if not charged:
        return Paragraph(
            head + "; no routing policy of this quarter sends one of them more than it served, so the "
            "routing figures stand as they are (marts.routing_capacity)."
        )
    said = "; ".join(
        f"{r['model']}, cheapest: {fmt.pct_value(r['change_pct'])} without, "
        f"{fmt.pct_value_ci(r['capacity_change_pct'], r['capacity_change_pct_ci_low'], r['capacity_change_pct_ci_high'])} "
        f"with {fmt.pct(r['fallback_share'])} of its requests refused and sent to the official API"
        for r in charged
    )
    return Paragraph(
        head + ". Routing that sends such a provider more than it served pays for the extra refusals, which fall back "
        f"to the official API at its price (marts.routing_capacity): {said}."
    )


def validation_table(ctx: Context) -> Table | None:
    """The replay-validation table of the models the routing tables show (the most routed)."""
    wh = ctx.wh
    if not (wh.has("marts.replay_validation") and wh.has("marts.routing_counterfactual")):
        return None
    models = wh.frame(
        f"select model, max(requests_routed) as r {wh.from_quarter('marts.routing_counterfactual')} "
        "group by model order by r desc, model",
        ctx.p,
    )["model"].to_list()[:ROUTING_MODELS]
    validation = wh.frame(f"select * {wh.from_quarter('marts.replay_validation')}", ctx.p)
    return replay_validation_table(validation.filter(pl.col("model").is_in(models)))


STUDY = {"qwen3-32b": ("cost", "-37.8 %"), "deepseek-v3.2": ("throughput", "about +90 %")}


def learned_paragraph(wh) -> Paragraph | None:
    """Beside the public study's headline cases, what the learned, constrained order achieved out
    of sample (marts.routing_recommendations, the model's whole traffic)."""
    if not wh.has("marts.routing_recommendations"):
        return None
    rows = {
        r["model"]: r
        for r in wh.rows(
            "select * from marts.routing_recommendations where segment_kind = 'model' and "
            "list_contains($models, model) and "
            "((model = 'qwen3-32b' and objective = 'cost') or (model = 'deepseek-v3.2' and objective = 'throughput'))",
            {"models": list(STUDY)},
        )
    }
    said = []
    for model, (objective, study) in STUDY.items():
        r = rows.get(model)
        if r is None:
            said.append(f"{model} ({objective}, study {study}): no training traffic in the window, nothing learned")
            continue
        said.append(
            f"{model} ({objective}, study {study}): {' > '.join(r['providers'])} realised "
            f"{fmt.pct_value_ci(r['realised_change_pct'], r['realised_change_pct_ci_low'], r['realised_change_pct_ci_high'])} "
            f"in {r['test_start']:%Y-%m-%d}..{r['test_end']:%Y-%m-%d} (predicted "
            f"{fmt.pct_value_ci(r['predicted_change_pct'], r['predicted_change_pct_ci_low'], r['predicted_change_pct_ci_high'])}; "
            f"oracle {fmt.pct_value(r['oracle_change_pct'])})"
        )
    r0 = next(iter(rows.values()), None)
    constraints = (
        f" Constraints: TTFT p90 at most {fmt.num(r0['max_ttft_p90_ms'], 0)} ms, probe success at least "
        f"{fmt.num(r0['min_probe_success'], 2)}, tool-call verdict not fail, quantization at least the official's"
        + (
            ", no capacity-limited provider (its rate limits growing with its traffic in training)."
            if r0.get("capacity_floor")
            else "."
        )
        if r0 is not None and r0["max_ttft_p90_ms"] is not None
        else ""
    )
    return Paragraph(
        "Learned and tested out of sample (marts.routing_recommendations): a provider order learned on the first two "
        "months under the analyst's constraints and replayed on the last month against the official API, beside the "
        "public study's figures: "
        + "; ".join(said)
        + f" ({CI} intervals: realised, paired day bootstrap; predicted, a prediction interval for a month)."
        + constraints
        + " Per application and token regime there, and `servicelens export` writes any row as a LiteLLM or "
        "OpenRouter configuration."
    )
