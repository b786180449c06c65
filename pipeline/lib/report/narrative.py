"""Methods and definitions, and threats to validity: text, with every number in it read from
the marts (sample sizes, quarantine counts, releases, providers per model) or from the
pipeline's own parameters (bootstrap resamples, price tolerance, regime thresholds), never
typed in."""

from __future__ import annotations

from pipeline.lib.report import fmt
from pipeline.lib.report.model import Bullets, Paragraph, Section
from pipeline.lib.report.sections import CI, Context, provenance


def parameters(ctx: Context) -> dict:
    """The run's settings (marts.run_parameters) by name: numbers as numbers, lists as text."""
    if "parameters" not in ctx.memo:
        rows = ctx.wh.frame("select * from marts.run_parameters") if ctx.wh.has("marts.run_parameters") else None
        ctx.memo["parameters"] = (
            {}
            if rows is None
            else {
                r["name"]: r["value_num"] if r["value_num"] is not None else r["value"]
                for r in rows.iter_rows(named=True)
            }
        )
    return ctx.memo["parameters"]


def sample(ctx: Context) -> dict | None:
    """Sampled request rows of the quarter, what they stand for, and the range of sample rates
    (marts.period_facts)."""
    f = ctx.period_row("marts.period_facts")
    if f.get("sampled_rows") is None:
        return None
    return {
        "rows": f["sampled_rows"],
        "weighted": f["sampled_rows_weight"],
        "lo": f["min_sample_rate"],
        "hi": f["max_sample_rate"],
        "apps": f["applications"],
    }


def methods(ctx: Context) -> Section:
    s = Section("methods", "Methods and definitions")
    settings = parameters(ctx)
    n_boot = settings.get("bootstrap_resamples")
    rho_boot = n_boot
    smp = sample(ctx)
    if smp and smp["rows"]:
        s.add(
            Paragraph(
                lead="Demand.",
                text=f"Every logged request counts 1 / sample_rate: the {fmt.count(smp['rows'])} sampled request rows of {ctx.period} stand for "
                f"{fmt.count(smp['weighted'])} requests (sample rates from {fmt.pct(smp['lo'])} to {fmt.pct(smp['hi'])}). Failed requests count: the "
                "caller asked for that model. Tokens are input plus output tokens, weighted the same way.",
            )
        )
    else:
        s.add(
            Paragraph(
                lead="Demand.",
                text="Every logged request counts 1 / sample_rate; failed requests count. Tokens are input plus "
                "output tokens, weighted the same way.",
            )
        )
    s.add(
        Paragraph(
            lead="Concentration.",
            text="Shares, top-k shares, the Gini coefficient G = sum_i sum_j |x_i - x_j| / (2 n^2 mean x) and the HHI (sum of squared "
            "shares) are taken over the units with demand in the period. Intervals come from "
            f"{fmt.count(n_boot)} resamples of the logged requests as the sample design drew them (each weighs 1 / sample_rate), centred "
            f"on the bias-corrected estimate: at small samples the plug-in Gini and top-k share are biased upward. They are {CI} intervals "
            "for sampling noise; demand correlated within a day beyond it is not in them.",
        )
    )
    before, after = settings.get("inertia_days_before"), settings.get("inertia_days_after")
    s.add(
        Paragraph(
            lead="Version inertia.",
            text="For a successor released on day t0, the old variant's share is its demand over the pair's demand on day t0 + d"
            + (
                f" (d from -{fmt.count(before)} to {fmt.count(after)})"
                if before is not None and after is not None
                else ""
            )
            + "; the half-life is the day on which a decay fitted to that share (old share = a exp(-lambda d), by "
            "quasi-likelihood on each day's demand) reaches half its mean over the 7 days before the release, with a "
            f"{CI} interval. The first day the noisy daily share dips below half is biased short, and is kept only beside it.",
        )
    )
    s.add(
        Paragraph(
            lead="Supply vs use.",
            text="Listing breadth is the number of providers with a valid endpoint row, averaged over the period's days; its rank "
            f"correlation with the request share is Spearman's rho, with an interval from {fmt.count(rho_boot)} resamples of models.",
        )
    )
    s.add(
        Paragraph(
            lead="Service objects.",
            text="A service object is one provider's copy of one model. A price holds from its snapshot until the next; the published "
            "price is its time-weighted mean over the quarter, in USD per million tokens. The blended price mixes input and output prices at the "
            "model's own input:output token mix. Dispersion is the coefficient of variation (population sd / mean) across the providers of a model; a "
            f"provider is at the official price within {fmt.pct(settings.get('price_tolerance'))} of it. Latency percentiles are over successful probes; "
            "decode "
            "throughput counts the tokens after the first over the time after the first token.",
        )
    )
    s.add(
        Paragraph(
            lead="Errors.",
            text="Client errors (auth, invalid_request) are the caller's and are not held against the provider; rate limits are kept apart; "
            "every other error type is a provider fault.",
        )
    )
    s.add(
        Paragraph(
            lead="Vendor verification.",
            text="Per provider and model, over the cases both answered: a positive is a tool_calls finish; F1 = 2TP / (2TP + FP + FN) "
            "against the official API; schema accuracy is the share of tool calls whose arguments validate; the bar is the lowest F1 of the official "
            f"API's own reruns against its first answer. A provider fails only when the {CI} interval of its F1 (resampling cases) lies "
            "below the bar, passes only when it lies at or above it, and is undecided otherwise.",
        )
    )
    s.add(
        Paragraph(
            lead="Task regimes.",
            text=f"In this order: long-context when the median input is at least {fmt.count(settings.get('regime_long_context_input_p50'))} tokens; "
            f"generation-heavy when output tokens are at least {fmt.pct(settings.get('regime_generation_share'), 0)} of all tokens; prompt-heavy below "
            f"{fmt.pct(settings.get('regime_prompt_share'), 0)}; balanced otherwise. Quantiles are weighted inverse-CDF quantiles.",
        )
    )
    s.add(
        Paragraph(
            lead="Routing counterfactuals.",
            text="Each request of a model is re-routed to the best feasible provider (an endpoint valid at the time with a price "
            "in force, enough context and output length, the features the request used, and available in its time bucket); the baseline is the "
            "model's official provider, and requests it cannot serve are excluded from both sides. The oracle policy chooses with the bucket's own "
            "measurements, the causal policy with the previous bucket's. A provider is down in a bucket only when its probes show a success "
            "rate below the threshold with 95 % one-sided confidence (one failed probe of six is not an outage). A request whose log shows no "
            "cached input count is costed with the cache hits of the same day's requests of its model and application that report them.",
        )
    )
    return s


def threats(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("threats", "Threats to validity")
    items = [Paragraph(lead="Provenance.", text=provenance(wh, ctx.raw_dir))]
    smp = sample(ctx)
    if smp and smp["rows"]:
        items.append(
            Paragraph(
                lead="Sampling.",
                text=(
                    f"{fmt.count(smp['rows'])} sampled rows stand for {fmt.count(smp['weighted'])} requests; a row sampled at "
                    f"{fmt.pct(smp['lo'])} weighs {fmt.num(1 / smp['lo'], 0)} requests, so shares of small units rest on few rows, and the "
                    "intervals, which resample days, leave out the sampling error within a day."
                ),
            )
        )
    if wh.has("marts.ingest_audit") and wh.has("marts.quarantine") and wh.has("marts.ingest_summary"):
        a = wh.one("select * from marts.ingest_summary where is_total")
        if a and a["rows_read"]:
            items.append(
                Paragraph(
                    lead="Data quality.",
                    text=(
                        f"{fmt.count(a['rows_quarantined'])} of {fmt.count(a['rows_read'])} input rows "
                        f"({fmt.pct(a['rows_quarantined'] / a['rows_read'], 3)}) were quarantined and "
                        f"{fmt.count(a['rows_duplicate'])} dropped as duplicates; {fmt.count(a['rows_unknown_reference'])} quarantined "
                        "rows name a model or provider the drop does not know, which the shares leave out rather than guess."
                    ),
                )
            )
    f = ctx.period_row("marts.period_facts")
    if wh.has("marts.service_objects") and f.get("service_objects_probed"):
        items.append(
            Paragraph(
                lead="Probes.",
                text=(
                    f"Latency and availability come from probes of fixed size sent from one vantage point: a median of "
                    f"{fmt.count(f['median_probes_per_object'])} probes per service object "
                    f"(at least {fmt.count(f['min_probes_per_probed_object'])}); real traffic with other prompts, regions "
                    "and concurrency may see other latencies."
                ),
            )
        )
    if wh.has("marts.provider_dispersion") and f.get("models_compared"):
        items.append(
            Paragraph(
                lead="Few providers.",
                text=(
                    f"{fmt.count(f['models_with_two_providers'])} of {fmt.count(f['models_compared'])} models have exactly two providers "
                    f"and {fmt.count(f['models_with_one_provider'])} only one: "
                    "a coefficient of variation over two values is fragile, and a model with one provider has none."
                ),
            )
        )
    if wh.has("marts.version_inertia") and f.get("successor_releases"):
        items.append(
            Paragraph(
                lead="Few releases.",
                text=(
                    f"Version inertia rests on {fmt.count(f['successor_releases'])} successor releases in the quarter; a mean half-life "
                    "over so few pairs is an anecdote more than an estimate, and a release late in the quarter has a short window."
                ),
            )
        )
    if wh.has("marts.vendor_verification"):
        items.append(
            Paragraph(
                lead="Verification baseline.",
                text=(
                    f"Vendor verification compares providers with the official API on the same cases; "
                    f"{fmt.count(f.get('tool_call_objects_without_rerun') or 0)} service "
                    "objects have no official rerun to set a bar, and the official API itself is verified against nothing."
                ),
            )
        )
    if not wh.has("marts.routing_counterfactual"):
        items.append(
            Paragraph(
                lead="Routing.",
                text="The routing marts are not in this warehouse, so the report makes no claim about savings from routing.",
            )
        )
    else:
        items.append(
            Paragraph(
                lead="Routing.",
                text="The counterfactuals replay logged requests at the prices and latencies measured: they assume "
                "that moving traffic would change no provider's latency, availability or price.",
            )
        )
    return s.add(Bullets(items))
