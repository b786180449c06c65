"""6. Reliability and error semantics: availability, error and rate-limit rates, and what errors mean."""

from __future__ import annotations

import polars as pl

from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import Context

CLASS_LABEL = {"provider_fault": "provider fault", "rate_limit": "rate limit", "client": "client error"}


CLASS_ORDER = {"provider_fault": 0, "rate_limit": 1, "client": 2}


def reliability(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("reliability", "Reliability and error semantics")
    if wh.has("marts.error_matrix"):
        em = wh.frame(f"select * {wh.from_quarter('marts.error_matrix')}", ctx.p)
        req = em.filter(pl.col("source") == "requests")
        if req.height:
            # sorted, so the chart's data (and the HTML) is the same every run
            by_class = (
                req.group_by("provider", "error_class")
                .agg(pl.col("rate").sum())
                .sort("provider", "error_class")
                .with_columns(
                    total=pl.col("rate").sum().over("provider"),
                    class_order=pl.col("error_class").replace_strict(CLASS_ORDER, default=9),
                    error_class=pl.col("error_class").replace_strict(CLASS_LABEL, default=pl.col("error_class")),
                )
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
            types = em.group_by("source", "error_type", "error_class", "held_against_provider").agg(
                pl.col("errors").sum()
            )
            r_total = types.filter(pl.col("source") == "requests")["errors"].sum()
            p_total = types.filter(pl.col("source") == "probes")["errors"].sum()
            wide = (
                types.filter(pl.col("source") == "requests")
                .select("error_type", "error_class", "held_against_provider", pl.col("errors").alias("req"))
                .join(
                    types.filter(pl.col("source") == "probes").select("error_type", pl.col("errors").alias("probe")),
                    on="error_type",
                    how="full",
                    coalesce=True,
                )
                .with_columns(pl.col("req").fill_null(0), pl.col("probe").fill_null(0))
                .sort(["req", "error_type"], descending=[True, False])
            )
            rows = [
                [
                    r["error_type"],
                    CLASS_LABEL.get(r["error_class"], r["error_class"] or fmt.DASH),
                    "yes"
                    if r["held_against_provider"]
                    else ("no" if r["held_against_provider"] is not None else fmt.DASH),
                    fmt.count(r["req"]),
                    fmt.pct(r["req"] / r_total) if r_total else fmt.DASH,
                    fmt.count(r["probe"]),
                    fmt.pct(r["probe"] / p_total) if p_total else fmt.DASH,
                ]
                for r in wide.iter_rows(named=True)
            ]
            s.add(
                Table(
                    "Error semantics: errors by type in the request logs (weighted) and the latency probes, and whether each counts against "
                    "the provider (marts.error_matrix).",
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
        sc = wh.frame(
            f"select provider, count(*) filter (where probes > 0) as objects, sum(probes) as probes, "
            f"sum(probe_success_rate * probes) / nullif(sum(probes), 0) as success, min(uptime_min_day) as worst_day, "
            f"median(ttft_p50_ms) as ttft, median(decode_tps_p50) as tps, "
            f"sum(request_error_rate * requests) / nullif(sum(requests) filter (where request_error_rate is not null), 0) as err "
            f"{wh.from_quarter('marts.service_objects')} group by provider order by provider",
            ctx.p,
        )
        rows = [
            [
                r["provider"],
                fmt.count(r["objects"]),
                fmt.count(r["probes"]),
                fmt.pct(r["success"], 2),
                fmt.pct(r["worst_day"], 1),
                fmt.ms(r["ttft"]),
                fmt.tps(r["tps"]),
                fmt.pct(r["err"], 2),
            ]
            for r in sc.iter_rows(named=True)
        ]
        if rows:
            s.add(
                Table(
                    "Provider scorecard: latency-probe success (all probes), the worst day's probe success over its models, medians over its "
                    "service objects of TTFT p50 and decode p50, and the request-weighted provider-fault error rate (marts.service_objects).",
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
        interval_columns = ("requests_effective", "thin", "request_error_rate_ci_low", "rate_limit_rate_ci_low")
        rates = (
            pl.DataFrame()
            if not wh.has("marts.service_objects", *interval_columns)
            else wh.frame(
                f"select provider, model, requests_effective, thin, request_error_rate, request_error_rate_ci_low, request_error_rate_ci_high, "
                f"rate_limit_rate, rate_limit_rate_ci_low, rate_limit_rate_ci_high {wh.from_quarter('marts.service_objects')} "
                "and request_error_rate is not null order by request_error_rate desc, provider, model",
                ctx.p,
            )
        )
        if rates.height:
            thin = rates.filter(pl.col("thin"))
            s.add(
                Paragraph(
                    f"Request rates are per service object, with 95 % Wilson intervals on the effective sample (sample weights vary, so "
                    f"fewer requests count than were logged). {fmt.count(thin.height)} of {fmt.count(rates.height)} service objects with requests "
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
                for r in rates.head(10).iter_rows(named=True)
            ]
            s.add(
                Table(
                    "The ten highest provider-fault rates among service objects, with the rate-limit rate, each with its 95 % interval "
                    "(marts.service_objects).",
                    ["Provider", "Model", "Effective requests", "Provider faults [95 % CI]", "Rate limits [95 % CI]"],
                    top,
                    align="llrrr",
                )
            )
    if wh.has("marts.context_limit_behaviour"):
        cl = wh.frame(
            f"select provider, behaviour, count(*) as n {wh.from_quarter('marts.context_limit_behaviour')} group by all",
            ctx.p,
        )
        if cl.height:
            behaviours = sorted(cl["behaviour"].unique().to_list())
            per = cl.pivot(on="behaviour", index="provider", values="n").fill_null(0).sort("provider")
            rows = [[r["provider"], *(fmt.count(r[b]) for b in behaviours)] for r in per.iter_rows(named=True)]
            s.add(
                Paragraph(
                    "Over-long requests (the context_limit suite): "
                    + ", ".join(
                        f"{fmt.count(per[b].sum())} service objects answer mostly with {named(b).replace('_', ' ')}"
                        for b in behaviours
                    )
                    + ". A silent acceptance is the dangerous one: the provider drops part of "
                    "the prompt without saying so."
                )
            )
            s.add(
                Table(
                    "Models per provider by majority behaviour on over-long contexts (marts.context_limit_behaviour).",
                    ["Provider", *(b.replace("_", " ").capitalize() for b in behaviours)],
                    rows,
                )
            )
    else:
        s.add(Missing(["marts.context_limit_behaviour"], "how providers treat over-long contexts"))
    return s
