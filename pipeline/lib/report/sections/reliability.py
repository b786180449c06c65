"""6. Reliability and error semantics: availability, error and rate-limit rates, and what errors mean."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context, say_if_empty

CLASS_LABEL = {"provider_fault": "provider fault", "rate_limit": "rate limit", "client": "client error"}


CLASS_ORDER = {"provider_fault": 0, "rate_limit": 1, "client": 2}


def reliability(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("reliability", "Reliability and error semantics")
    if wh.has("marts.error_matrix"):
        by_class = wh.frame(
            f"select provider, error_class, rate, provider_rate as total {wh.from_quarter('marts.error_class_rates')} "
            "order by provider, error_class",
            ctx.p,
        )
        if by_class.height:
            # sorted, so the chart's data (and the HTML) is the same every run
            by_class = by_class.with_columns(
                class_order=pl.col("error_class").replace_strict(CLASS_ORDER, default=9),
                error_class=pl.col("error_class").replace_strict(CLASS_LABEL, default=pl.col("error_class")),
            )
            s.add(
                Paragraph(
                    "Errors are split by whose fault they are. Client errors (auth, invalid_request) are the caller's and are not held against the "
                    "provider; rate limits are counted apart; every other error (timeouts, server errors, context overflows, content filters) is a "
                    "provider fault: the request was valid for the model and another provider might have served it."
                )
            )
            s.add(
                Figure(
                    "errors",
                    "Weighted request errors as a share of each provider's requests, by class.",
                    charts.error_rates(by_class),
                )
            )
            types = wh.frame(
                f"select * {wh.from_quarter('marts.error_type_shares')} order by request_errors desc, error_type",
                ctx.p,
            )
            rows = [
                [
                    r["error_type"],
                    CLASS_LABEL.get(r["error_class"], r["error_class"] or fmt.DASH),
                    "yes"
                    if r["held_against_provider"]
                    else ("no" if r["held_against_provider"] is not None else fmt.DASH),
                    fmt.count(r["request_errors"]),
                    fmt.pct(r["request_share"]),
                    fmt.count(r["probe_errors"]),
                    fmt.pct(r["probe_share"]),
                ]
                for r in types.iter_rows(named=True)
            ]
            s.add(
                Table(
                    "Error semantics: errors by type in the request logs (weighted) and the latency probes, and whether each counts against "
                    "the provider (marts.error_type_shares).",
                    [
                        "Error type",
                        "Class",
                        "Held against provider",
                        "Request errors",
                        "Share",
                        "Probe errors",
                        "Share",
                    ],
                    rows,
                    align="lllrrrr",
                )
            )
    else:
        s.add(Missing(["marts.error_matrix"], "errors by provider and type"))

    if wh.has("marts.service_objects"):
        sc = wh.frame(f"select * {wh.from_quarter('marts.provider_scorecard')} order by provider", ctx.p)
        rows = [
            [
                r["provider"],
                fmt.count(r["models_probed"]),
                fmt.count(r["probes"]),
                fmt.pct(r["probe_success_rate"], 2),
                fmt.pct(r["worst_day"], 1),
                fmt.ms(r["ttft_p50_ms"]),
                fmt.tps(r["decode_tps_p50"]),
                fmt.pct(r["request_error_rate"], 2),
            ]
            for r in sc.iter_rows(named=True)
        ]
        if rows:
            s.add(
                Table(
                    "Provider scorecard: latency-probe success (all probes), the worst day's probe success over its models, medians over its "
                    "service objects of TTFT p50 and decode p50, and the request-weighted provider-fault error rate (marts.provider_scorecard).",
                    [
                        "Provider",
                        "Models probed",
                        "Probes",
                        "Probe success",
                        "Worst day",
                        "TTFT p50",
                        "Decode p50",
                        "Request errors",
                    ],
                    rows,
                )
            )
        rates = wh.frame(
            f"select * {wh.from_quarter('marts.request_rate_ranking')} and fault_rank <= 10 order by fault_rank", ctx.p
        )
        if rates.height:
            counts = rates.row(0, named=True)
            thin, with_requests = counts["thin_service_objects"], counts["service_objects_with_requests"]
            s.add(
                Paragraph(
                    f"Request rates are per service object, with 95 % Wilson intervals on the effective sample (sample weights vary, so "
                    f"fewer requests count than were logged). {fmt.count(thin)} of {fmt.count(with_requests)} service objects with requests "
                    "rest on fewer than 1,000 effective requests: their rates are marked thin below, and one request more or less moves them by "
                    "more than 0.1 percentage points."
                )
            )
            top = [
                [
                    r["provider"],
                    r["model"],
                    fmt.count(r["requests_effective"]) + (" (thin)" if r["thin"] else ""),
                    fmt.pct_ci(
                        r["request_error_rate"], r["request_error_rate_ci_low"], r["request_error_rate_ci_high"], 2
                    ),
                    fmt.pct_ci(r["rate_limit_rate"], r["rate_limit_rate_ci_low"], r["rate_limit_rate_ci_high"], 2),
                ]
                for r in rates.iter_rows(named=True)
            ]
            s.add(
                Table(
                    "The ten highest provider-fault rates among service objects, with the rate-limit rate, each with its 95 % interval "
                    "(marts.request_rate_ranking).",
                    ["Provider", "Model", "Effective requests", "Provider faults [95 % CI]", "Rate limits [95 % CI]"],
                    top,
                    align="llrrr",
                )
            )
    if wh.has("marts.context_limit_behaviour"):
        cl = wh.frame(f"select * {wh.from_quarter('marts.context_limit_by_provider')} order by behaviour", ctx.p)
        if cl.height:
            totals = dict(cl.select("behaviour", "behaviour_models").unique().iter_rows())
            behaviours = sorted(totals)
            per = cl.pivot(on="behaviour", index="provider", values="models").fill_null(0).sort("provider")
            rows = [[r["provider"], *(fmt.count(r[b]) for b in behaviours)] for r in per.iter_rows(named=True)]
            s.add(
                Paragraph(
                    "Over-long requests (the context_limit suite): "
                    + ", ".join(
                        f"{fmt.count(totals[b])} service objects answer mostly with {named(b).replace('_', ' ')}"
                        for b in behaviours
                    )
                    + ". A silent acceptance is the dangerous one: the provider drops part of "
                    "the prompt without saying so."
                )
            )
            s.add(
                Table(
                    "Models per provider by majority behaviour on over-long contexts (marts.context_limit_by_provider).",
                    ["Provider", *(b.replace("_", " ").capitalize() for b in behaviours)],
                    rows,
                )
            )
    else:
        s.add(Missing(["marts.context_limit_behaviour"], "how providers treat over-long contexts"))
    return say_if_empty(s, f"The service marts hold no error, probe or over-long-context answer of {ctx.period}.")
