"""The report's sections, in the order of the public study, each read from the marts.

Every builder takes the context (the read-only warehouse and the period) and returns a
Section of plain-text blocks; a mart the warehouse lacks becomes a visible Missing note,
never an invented number. Numbers in the text are formatted here (fmt) from query results.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.lib.concentration import concentration as _concentration
from pipeline.lib.labels import text as named
from pipeline.lib.report import charts, fmt
from pipeline.lib.report.model import Figure, Missing, Paragraph, Section, Table
from pipeline.lib.report.source import Warehouse, quarter_dates
from pipeline.lib.service import PRICE_TOLERANCE

TOP_FAMILIES = 10
TOP_MODELS_TABLE = 10
TOP_MODELS_DOTS = 12
ROUTING_MODELS = 10
OVERALL_MODEL = {"all", "*", "(all)", "__all__", "total"}
# The level of every interval the marts publish (the pipeline's own default, not typed here).
CI = fmt.pct(inspect.signature(_concentration).parameters["level"].default, 0)


@dataclass
class Context:
    wh: Warehouse
    period: str
    raw_dir: Path | None = None
    # results two sections share (the warehouse is read-only while the report is built)
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def p(self) -> dict:
        return {"period": self.period}

    def missing(self, *tables: str) -> list[str]:
        return [t for t in tables if not self.wh.has(t)]


PLURAL = {"family": "families", "model": "models", "provider": "providers"}


# ---------------------------------------------------------------------------- 1. data and coverage


def provenance(wh: Warehouse, raw_dir: Path | None) -> str:
    """Where the data came from, when it can be told: a generator manifest in the drop folder
    whose expected counts equal the warehouse's ingest audit (so the manifest is this drop's)."""
    unknown = (
        "The warehouse does not record where its drop came from; treat the figures as describing "
        "whatever logs and probes were loaded, and check the provenance of the drop before citing them."
    )
    if raw_dir is None:
        return unknown
    manifest_file = Path(raw_dir) / "_manifest.json"
    if not manifest_file.is_file() or not wh.has("marts.ingest_audit"):
        return unknown
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        expected = manifest["expected"]
    except (ValueError, KeyError, TypeError):
        return unknown
    audit = {
        r["dataset"]: {"loaded": r["loaded"], "quarantined": r["quarantined"], "duplicate": r["duplicate"]}
        for r in wh.rows(
            "select dataset, sum(rows_loaded)::bigint as loaded, sum(rows_quarantined)::bigint as quarantined, "
            "sum(rows_duplicate)::bigint as duplicate from marts.ingest_audit group by dataset"
        )
    }
    if audit != expected:
        return unknown
    start, end = (manifest.get("period") or [None, None])[:2]
    return (
        f"Synthetic data. This warehouse was built from a sample drop written by servicelens generate "
        f"(seed {manifest.get('seed')}, {fmt.count(manifest.get('n_requests'))} sampled request rows, {start} to {end}); "
        f"its row counts match the generator's manifest exactly. The sample world is calibrated to public aggregates "
        f"(AI Ping Q4 2025 shares, list prices, the llmperf leaderboard, the K2 Vendor Verifier): its figures "
        f"demonstrate the method and are not measurements of real providers."
    )


def coverage(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("coverage", "Data and coverage")
    if wh.has("marts.ingest_audit"):
        audit = wh.frame(
            "select dataset, count(*) as files, sum(rows_read) as read, sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined, "
            "sum(rows_duplicate) as duplicate, count(file_error) as unreadable from marts.ingest_audit group by dataset order by dataset"
        )
        tot = {c: audit[c].sum() for c in ("files", "read", "loaded", "quarantined", "duplicate", "unreadable")}
        balanced = tot["read"] == tot["loaded"] + tot["quarantined"] + tot["duplicate"]
        s.add(
            Paragraph(
                f"The drop held {fmt.count(tot['files'])} files with {fmt.count(tot['read'])} rows. "
                f"{fmt.count(tot['loaded'])} rows were loaded, {fmt.count(tot['quarantined'])} quarantined with their reason "
                f"({fmt.pct(tot['quarantined'] / tot['read'], 3) if tot['read'] else fmt.DASH} of the rows read) and "
                f"{fmt.count(tot['duplicate'])} recognised as duplicates; {fmt.count(tot['unreadable'])} files could not be read. "
                + (
                    "Every row read is accounted for (read = loaded + quarantined + duplicate)."
                    if balanced
                    else "The audit does not balance: read differs from loaded + quarantined + duplicate."
                )
                + " The audit covers the whole drop, not only the reported quarter."
            )
        )
        rows = [
            [
                r["dataset"],
                fmt.count(r["files"]),
                fmt.count(r["read"]),
                fmt.count(r["loaded"]),
                fmt.count(r["quarantined"]),
                fmt.count(r["duplicate"]),
                fmt.count(r["unreadable"]),
            ]
            for r in audit.iter_rows(named=True)
        ]
        rows.append(
            [
                "all datasets",
                *(fmt.count(tot[c]) for c in ("files", "read", "loaded", "quarantined", "duplicate", "unreadable")),
            ]
        )
        s.add(
            Table(
                "Ingest audit: the fate of every input row, per dataset (marts.ingest_audit).",
                ["Dataset", "Files", "Rows read", "Loaded", "Quarantined", "Duplicates", "Unreadable files"],
                rows,
                total_row=True,
            )
        )
    else:
        s.add(Missing(["marts.ingest_audit"], "the row accounting of the drop"))

    if wh.has("marts.quarantine"):
        q = wh.frame(
            "select dataset, split_part(reason, ':', 1) as code, count(*) as n, min(reason) as example "
            "from marts.quarantine group by all order by dataset, n desc, code"
        )
        if q.height:
            rows = [
                [r["dataset"], r["code"], fmt.count(r["n"]), _clip(r["example"], 90)] for r in q.iter_rows(named=True)
            ]
            s.add(
                Table(
                    "Quarantined rows by dataset and reason code, with one example reason (marts.quarantine).",
                    ["Dataset", "Reason", "Rows", "Example"],
                    rows,
                    align="llrw",
                )
            )
        else:
            s.add(Paragraph("No row was quarantined."))
    else:
        s.add(Missing(["marts.quarantine"], "the quarantined rows and their reasons"))

    facts: list[list[str]] = []
    if wh.has("marts.concentration"):
        conc = wh.frame(f"select level, measure, n, n_days {wh.from_quarter('marts.concentration')}", ctx.p)
        n_days = conc["n_days"].max()
        if n_days is not None:
            start, end = quarter_dates(ctx.period)
            facts.append(["Days with requests", f"{fmt.count(n_days)} of {(end - start).days}"])
        for r in conc.filter(pl.col("measure") == "requests").sort("level").iter_rows(named=True):
            facts.append([f"{PLURAL.get(r['level'], r['level']).capitalize()} with requests", fmt.count(r["n"])])
    if wh.has("marts.family_demand"):
        d = wh.one(f"select sum(requests) as r, sum(tokens) as t {wh.from_quarter('marts.family_demand')}", ctx.p)
        if d and d["r"] is not None:
            facts.append(["Requests (weighted by 1 / sample rate)", fmt.count(d["r"])])
            facts.append(["Tokens, input + output (weighted)", fmt.tokens(d["t"])])
    if wh.has("marts.service_objects"):
        so = wh.one(
            f"select count(*) filter (where listed_days > 0) as listed, count(*) filter (where probes > 0) as probed, "
            f"sum(probes) as probes, count(distinct provider) as providers "
            f"{wh.from_quarter('marts.service_objects')}",
            ctx.p,
        )
        if so:
            facts += [
                ["Service objects listed (provider x model)", fmt.count(so["listed"])],
                ["Service objects with latency probes", fmt.count(so["probed"])],
                ["Latency probes", fmt.count(so["probes"])],
            ]
    if wh.has("marts.vendor_verification"):
        vv = wh.one(
            f"select sum(cases) as cases, count(distinct suite) as suites {wh.from_quarter('marts.vendor_verification')}",
            ctx.p,
        )
        if vv and vv["cases"] is not None:
            facts.append(["Compatibility probe cases", f"{fmt.count(vv['cases'])} in {fmt.count(vv['suites'])} suites"])
    if facts:
        s.add(Table(f"What the warehouse holds for {ctx.period}.", ["Measure", ctx.period], facts))
    s.add(Paragraph(provenance(wh, ctx.raw_dir), style="callout"))
    return s


def _clip(text: str | None, n: int) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# ---------------------------------------------------------------------------- 2. demand concentration


def demand(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("demand", "Demand concentration")
    lacking = ctx.missing("marts.family_demand", "marts.concentration", "marts.concentration_lorenz")
    conc = None
    if wh.has("marts.concentration"):
        conc = wh.frame(f"select * {wh.from_quarter('marts.concentration')} order by level, measure", ctx.p)
        families = conc.filter((pl.col("level") == "family") & (pl.col("measure") == "requests"))
        if families.height:
            fam = families.row(0, named=True)
            s.add(
                Paragraph(
                    f"Across {fmt.count(fam['n'])} model families, the largest took {fmt.pct(fam['top1_share'])} of requests and the "
                    f"five largest {fmt.pct_ci(fam['top5_share'], fam['top5_ci_low'], fam['top5_ci_high'])}; the Gini coefficient is "
                    f"{fmt.num_ci(fam['gini'], fam['gini_ci_low'], fam['gini_ci_high'], 3)} and the HHI {fmt.num(fam['hhi'], 3)}. "
                    f"Intervals are {CI} bootstrap intervals over the {fmt.count(fam['n_days'])} days."
                )
            )
    if wh.has("marts.family_demand"):
        fd = wh.frame(
            f"select family, requests, tokens, request_share, token_share, rank "
            f"{wh.from_quarter('marts.family_demand')} order by rank, family",
            ctx.p,
        )
        if fd.height:
            top = fd.head(TOP_FAMILIES)
            rows = [
                [
                    str(r["rank"]),
                    r["family"],
                    fmt.count(r["requests"]),
                    fmt.pct(r["request_share"]),
                    fmt.tokens(r["tokens"]),
                    fmt.pct(r["token_share"]),
                ]
                for r in top.iter_rows(named=True)
            ]
            rest = fd.slice(TOP_FAMILIES)
            if rest.height:
                rows.append(
                    [
                        "",
                        f"{rest.height} other families",
                        fmt.count(rest["requests"].sum()),
                        fmt.pct(rest["request_share"].sum()),
                        fmt.tokens(rest["tokens"].sum()),
                        fmt.pct(rest["token_share"].sum()),
                    ]
                )
            s.add(
                Table(
                    f"Demand by model family, {ctx.period} (weighted requests and input + output tokens; marts.family_demand).",
                    ["Rank", "Family", "Requests", "Share", "Tokens", "Share"],
                    rows,
                    align="rlrrrr",
                )
            )
            s.add(
                Figure(
                    "family_shares",
                    "Share of weighted requests by model family (top families).",
                    charts.family_shares(fd.head(15).select("family", "request_share", "rank")),
                )
            )
    if conc is not None:
        rows = [
            [
                r["level"],
                r["measure"],
                fmt.count(r["n"]),
                fmt.pct(r["top1_share"]),
                fmt.pct_ci(r["top5_share"], r["top5_ci_low"], r["top5_ci_high"]),
                fmt.num_ci(r["gini"], r["gini_ci_low"], r["gini_ci_high"], 3),
                fmt.num(r["hhi"], 3),
            ]
            for r in conc.iter_rows(named=True)
        ]
        if rows:
            s.add(
                Table(
                    f"Concentration by unit and measure, with {CI} bootstrap intervals over days (marts.concentration).",
                    ["Unit", "Measure", "Units", "Top-1 share", f"Top-5 share [{CI} CI]", f"Gini [{CI} CI]", "HHI"],
                    rows,
                    align="llrrrrr",
                )
            )
    if wh.has("marts.concentration_lorenz"):
        lz = wh.frame(
            f"select level, point, unit_share, demand_share "
            f"{wh.from_quarter('marts.concentration_lorenz')} and measure = 'requests' order by level, point",
            ctx.p,
        )
        if lz.height:
            s.add(
                Figure(
                    "lorenz",
                    "Lorenz curves of weighted requests across families, models and providers; the further below "
                    "the diagonal, the more concentrated demand is.",
                    charts.lorenz(lz, "requests"),
                )
            )
    if lacking:
        s.add(Missing(lacking, "part of the demand concentration analysis"))
    return s


# ---------------------------------------------------------------------------- 3. version inertia


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


# ---------------------------------------------------------------------------- 4. supply vs use


def supply_use(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("supply_use", "Supply vs use")
    if not wh.has("marts.supply_use"):
        return s.add(Missing(["marts.supply_use"], "listing breadth against adoption"))
    su = wh.frame(f"select * {wh.from_quarter('marts.supply_use')} order by demand_share desc, model", ctx.p)
    if su.height == 0:
        return s.add(Paragraph(f"marts.supply_use holds no model for {ctx.period}."))
    if wh.has("marts.supply_use_summary"):
        sm = wh.one(f"select * {wh.from_quarter('marts.supply_use_summary')}", ctx.p)
        if sm:
            s.add(
                Paragraph(
                    f"Across {fmt.count(sm['n_models'])} models, the rank correlation between how many providers list a model and its share "
                    f"of requests is Spearman's rho = {fmt.num_ci(sm['spearman_rho'], sm['rho_ci_low'], sm['rho_ci_high'])} "
                    f"({CI} interval resampling models). Wide supply goes with use, but loosely: listing is not adoption."
                )
            )
    else:
        s.add(Missing(["marts.supply_use_summary"], "the breadth-vs-demand correlation"))
    plot = (
        su.filter(pl.col("demand_share") > 0)
        .with_row_index("rank_demand", offset=1)
        .select("model", "listing_breadth", "demand_share", "rank_demand")
    )
    unused = su.height - plot.height
    if plot.height:
        s.add(
            Figure(
                "supply_use",
                "Listing breadth against share of requests, one point per model (log scale; the largest models labelled)"
                + (f"; {unused} listed models without requests are not drawn." if unused else "."),
                charts.supply_use(plot),
            )
        )
    rows = [
        [
            r["model"],
            r["family"],
            fmt.num(r["listing_breadth"], 1),
            fmt.pct(r["demand_share"]),
            fmt.count(r["providers_used"]),
            fmt.pct(r["provider_top1_share"]),
        ]
        for r in su.head(TOP_MODELS_TABLE).iter_rows(named=True)
    ]
    s.add(
        Table(
            f"The {min(TOP_MODELS_TABLE, su.height)} most requested models: listing breadth (providers listing the model, daily mean) "
            "and how the traffic spreads over providers (marts.supply_use).",
            ["Model", "Family", "Breadth", "Request share", "Providers used", "Largest provider's share"],
            rows,
            align="llrrrr",
        )
    )
    return s


# ---------------------------------------------------------------------------- 5. provider heterogeneity

ATTRIBUTES = {
    # attribute: (label, value formatter)
    "input_price": ("Input price (USD / Mtok)", fmt.usd),
    "output_price": ("Output price (USD / Mtok)", fmt.usd),
    "blended_price": ("Blended price (USD / Mtok)", fmt.usd),
    "ttft_p50_ms": ("TTFT p50 (ms)", fmt.ms),
    "decode_tps_p50": ("Decode throughput p50 (tok/s)", fmt.tps),
    "context_length": ("Context length (tokens)", fmt.tokens),
    "error_rate": ("Request error rate", lambda x: fmt.pct(x, 2)),
    "feature_support": ("Feature support (share of 4 flags)", fmt.pct),
}


def heterogeneity(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("heterogeneity", "Provider heterogeneity")
    if wh.has("marts.service_objects"):
        so = wh.frame(
            f"select provider, model, is_official, blended_usd_per_mtok, decode_tps_p50, requests "
            f"{wh.from_quarter('marts.service_objects')} and listed_days > 0",
            ctx.p,
        )
        multi = (
            so.group_by("model").agg(pl.len().alias("n"), pl.col("requests").sum().alias("r")).filter(pl.col("n") >= 2)
        )
        top = multi.sort(["r", "model"], descending=[True, False]).head(TOP_MODELS_DOTS).with_row_index("model_order")
        dots = (
            so.join(top.select("model", "model_order"), on="model")
            .with_columns(
                role=pl.when(pl.col("is_official")).then(pl.lit("official API")).otherwise(pl.lit("other provider"))
            )
            .sort("is_official", "model", "provider")
        )  # official points drawn last, on top
        if dots.height:
            s.add(
                Paragraph(
                    f"{fmt.count(multi.height)} models are sold by two or more providers in {ctx.period}. The same weights cost and perform "
                    f"differently from one provider to the next; the figures show the {top.height} most requested of them."
                )
            )
            priced = dots.filter(pl.col("blended_usd_per_mtok").is_not_null() & (pl.col("blended_usd_per_mtok") > 0))
            if priced.height:
                s.add(
                    Figure(
                        "prices",
                        "Blended price per service object (USD per million tokens at the model's input:output token mix, "
                        "time-weighted over the quarter; log scale).",
                        charts.service_dots(
                            priced,
                            "blended_usd_per_mtok",
                            "Blended price per provider",
                            "USD per million tokens (log scale)",
                            True,
                            "$.2f",
                        ),
                    )
                )
            timed = dots.filter(pl.col("decode_tps_p50").is_not_null())
            if timed.height:
                s.add(
                    Figure(
                        "decode",
                        "Median decode throughput per service object (tokens per second after the first token, "
                        "successful latency probes).",
                        charts.service_dots(
                            timed,
                            "decode_tps_p50",
                            "Decode throughput per provider",
                            "Decode throughput p50 (tokens/s)",
                            False,
                            ",.0f",
                        ),
                    )
                )
    else:
        s.add(Missing(["marts.service_objects"], "prices and performance per service object"))

    if wh.has("marts.provider_dispersion"):
        disp = wh.frame(f"select * {wh.from_quarter('marts.provider_dispersion')} and cv is not null", ctx.p)
        rows = []
        for attribute, (label, _f) in ATTRIBUTES.items():
            part = disp.filter(pl.col("attribute") == attribute)
            if part.height == 0:
                continue
            widest = part.sort(["cv", "model"], descending=[True, False]).row(0, named=True)
            official = part["share_at_official"].drop_nulls()
            rows.append(
                [
                    label,
                    fmt.count(part.height),
                    fmt.num(part["cv"].median(), 3),
                    fmt.num(part["cv"].mean(), 3),
                    f"{widest['model']} ({fmt.num(widest['cv'], 3)})",
                    fmt.pct(official.mean()) if official.len() else fmt.DASH,
                ]
            )
        if rows:
            s.add(
                Table(
                    "Dispersion across providers of the same model: coefficient of variation (population sd / mean) over the models with two "
                    f"or more providers; for prices, the mean share of providers charging the official price (within {fmt.pct(PRICE_TOLERANCE)}; "
                    "marts.provider_dispersion).",
                    ["Attribute", "Models", "Median cv", "Mean cv", "Widest (cv)", "At official price"],
                    rows,
                    align="wrrrwr",
                )
            )
    else:
        s.add(Missing(["marts.provider_dispersion"], "the dispersion table"))

    if wh.has("marts.price_anchoring"):
        pa = wh.frame(f"select * {wh.from_quarter('marts.price_anchoring')} order by performance_attribute", ctx.p)
        if pa.height:
            rows = [
                [
                    ATTRIBUTES.get(r["performance_attribute"], (r["performance_attribute"],))[0],
                    fmt.count(r["n_models"]),
                    fmt.num(r["price_cv_mean"], 3),
                    fmt.num(r["performance_cv_mean"], 3),
                    fmt.num_ci(r["dispersion_ratio"], r["ratio_ci_low"], r["ratio_ci_high"]),
                    fmt.pct(r["share_at_official_price_mean"]),
                ]
                for r in pa.iter_rows(named=True)
            ]
            s.add(
                Table(
                    f"Price anchoring: mean cv of a performance attribute over mean cv of the blended price, across the same models, with a {CI} "
                    "interval resampling models; above 1, performance varies more than price (marts.price_anchoring).",
                    [
                        "Performance attribute",
                        "Models",
                        "Price cv",
                        "Performance cv",
                        f"Ratio [{CI} CI]",
                        "At official price",
                    ],
                    rows,
                    align="wrrrrr",
                )
            )
        if wh.has("marts.provider_dispersion"):
            pairs = (
                disp.filter(pl.col("attribute") == "blended_price")
                .select("model", pl.col("cv").alias("price_cv"))
                .join(
                    disp.filter(pl.col("attribute") == "decode_tps_p50").select(
                        "model", pl.col("cv").alias("decode_cv")
                    ),
                    on="model",
                )
            )
            if pairs.height:
                s.add(
                    Figure(
                        "anchoring",
                        "Blended-price cv against decode-throughput cv, one point per model with two or more providers.",
                        charts.anchoring(pairs),
                    )
                )
    else:
        s.add(Missing(["marts.price_anchoring"], "the price-anchoring ratio"))

    if wh.has("marts.service_pareto"):
        par = wh.frame(
            f"select provider, model, dominated {wh.from_quarter('marts.service_pareto')} and dominated is not null",
            ctx.p,
        )
        if par.height:
            dom = par.filter(pl.col("dominated"))
            often = (
                dom.group_by("provider")
                .agg(pl.len().alias("n"))
                .sort(["n", "provider"], descending=[True, False])
                .head(3)
            )
            s.add(
                Paragraph(
                    f"Pareto view: {fmt.count(dom.height)} of {fmt.count(par.height)} placed service objects are dominated, i.e. another provider of the "
                    f"same model is at least as cheap, as fast, as available and as accurate at tool calls, and strictly better on one"
                    + (
                        " (most often: "
                        + ", ".join(f"{named(r['provider'])} {r['n']}" for r in often.iter_rows(named=True))
                        + ")."
                        if often.height
                        else "."
                    )
                )
            )
    return s


# ---------------------------------------------------------------------------- 6. reliability and error semantics

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


# ---------------------------------------------------------------------------- 7. vendor verification


def verification(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("verification", "Vendor verification")
    if not wh.has("marts.vendor_verification"):
        return s.add(Missing(["marts.vendor_verification"], "tool-calling conformance against the official API"))
    vv = wh.frame(f"select * {wh.from_quarter('marts.vendor_verification')}", ctx.p)
    tc = vv.filter((pl.col("suite") == "tool_calls") & ~pl.col("is_official") & pl.col("tool_call_f1").is_not_null())
    if tc.height == 0:
        return s.add(Paragraph(f"No provider answered the tool_calls suite alongside an official API in {ctx.period}."))
    if "verdict" not in tc.columns:  # a warehouse from before verdicts: every one undecided
        tc = tc.with_columns(
            verdict=pl.lit("undecided"),
            tool_call_f1_ci_low=pl.lit(None, pl.Float64),
            tool_call_f1_ci_high=pl.lit(None, pl.Float64),
        )
    verdicts = {v: tc.filter(pl.col("verdict") == v).height for v in ("fail", "pass", "undecided")}
    s.add(
        Paragraph(
            f"The same tool-calling cases go to every provider and to the model's official API. The bar is the lowest F1 the official "
            f"API reaches against its own reruns (the K2 Vendor Verifier's pass bar), and a verdict needs the 95 % interval of the "
            f"provider's F1 (resampling cases) to lie wholly on one side of it: of {fmt.count(tc.height)} third-party service objects, "
            f"{fmt.count(verdicts['fail'])} fail, {fmt.count(verdicts['pass'])} pass and {fmt.count(verdicts['undecided'])} are undecided "
            f"(the interval crosses the bar, or there is no official rerun to set one); the median F1 is {fmt.num(tc['tool_call_f1'].median(), 3)}."
        )
    )
    plot = tc.select("provider", "model", "tool_call_f1", "tool_call_f1_ci_low", "tool_call_f1_ci_high", "verdict")
    s.add(
        Figure(
            "tool_calls",
            "Tool-call trigger F1 of each service object against the official API on the same cases, with its 95 % interval.",
            charts.tool_call_f1(plot),
        )
    )
    per = (
        tc.group_by("provider")
        .agg(
            pl.len().alias("n"),
            pl.col("tool_call_f1").mean().alias("f1"),
            (pl.col("verdict") == "fail").sum().alias("fail"),
            (pl.col("verdict") == "undecided").sum().alias("undecided"),
            pl.col("schema_accuracy").mean().alias("acc"),
            pl.col("similarity_to_official").mean().alias("sim"),
        )
        .sort(["f1", "provider"], descending=[True, False])
    )
    rows = [
        [
            r["provider"],
            fmt.count(r["n"]),
            fmt.num(r["f1"], 3),
            fmt.count(r["fail"]),
            fmt.count(r["undecided"]),
            fmt.pct(r["acc"]),
            fmt.num(r["sim"], 3),
        ]
        for r in per.iter_rows(named=True)
    ]
    s.add(
        Table(
            "Tool-calling conformance per provider: mean over its models of trigger F1 vs the official API, models that fail the bar "
            "(interval below the official's rerun F1) and those undecided (interval across it), schema accuracy (tool calls whose "
            "arguments validate) and K2VV similarity (marts.vendor_verification).",
            ["Provider", "Models", "Mean F1", "Fail", "Undecided", "Schema accuracy", "Similarity"],
            rows,
        )
    )
    other = (
        vv.filter(
            (pl.col("suite") != "tool_calls") & ~pl.col("is_official") & pl.col("similarity_to_official").is_not_null()
        )
        .group_by("suite")
        .agg(
            pl.len().alias("n"),
            pl.col("similarity_to_official").mean().alias("sim"),
            pl.col("cases").sum().alias("cases"),
        )
        .sort("suite")
    )
    if other.height:
        s.add(
            Paragraph(
                "Other suites, mean K2VV similarity to the official answers: "
                + "; ".join(
                    f"{named(r['suite'])} {fmt.num(r['sim'], 3)} over {fmt.count(r['n'])} service objects ({fmt.count(r['cases'])} cases)"
                    for r in other.iter_rows(named=True)
                )
                + "."
            )
        )
    return s


# ---------------------------------------------------------------------------- 8. task regimes


def regimes(ctx: Context) -> Section:
    wh, s = ctx.wh, Section("regimes", "Task regimes")
    if not wh.has("marts.task_regimes"):
        return s.add(Missing(["marts.task_regimes"], "token quantiles and regimes per application"))
    tr = wh.frame(f"select * {wh.from_quarter('marts.task_regimes')} order by requests desc, application", ctx.p)
    if tr.height == 0:
        return s.add(Paragraph(f"marts.task_regimes holds no application for {ctx.period}."))
    # a null count (a weight past the doubles) leaves every share unknown
    total = tr["requests"].sum() if tr["requests"].null_count() == 0 else None
    rows = [
        [
            named(r["application"]),
            fmt.count(r["requests"]),
            fmt.pct(r["requests"] / total) if total and r["requests"] is not None else fmt.DASH,
            f"{fmt.count(r['input_p50'])} / {fmt.count(r['input_p90'])}",
            f"{fmt.count(r['output_p50'])} / {fmt.count(r['output_p90'])}",
            fmt.pct(r["output_share"]),
            r["regime"],
        ]
        for r in tr.iter_rows(named=True)
    ]
    s.add(
        Table(
            "Token lengths per application (weighted quantiles) and the regime they fall in (marts.task_regimes).",
            ["Application", "Requests", "Share", "Input p50 / p90", "Output p50 / p90", "Output share", "Regime"],
            rows,
            align="lrrrrrl",
        )
    )
    if wh.has("marts.task_regimes_histogram"):
        h = wh.frame(
            f"select application, input_bin, output_bin, requests {wh.from_quarter('marts.task_regimes_histogram')}",
            ctx.p,
        )
        if h.height:
            # the chart titles each panel "<application> (<regime>)", labelling the application first
            h = h.with_columns(share=pl.col("requests") / pl.col("requests").sum().over("application")).join(
                tr.select("application", "regime"), on="application", how="left"
            )
            s.add(
                Figure(
                    "regimes",
                    "Joint distribution of input and output tokens per application (log2 bins: the bin labelled n holds "
                    "n to 2n - 1 tokens); shading is the share of the application's weighted requests.",
                    charts.regimes(h),
                )
            )
    else:
        s.add(Missing(["marts.task_regimes_histogram"], "the 2-D token density per application"))
    return s


# ---------------------------------------------------------------------------- 9. routing counterfactuals

OBJECTIVE_UNITS = {"cost": ("USD", fmt.usd_total), "throughput": ("tok/s", fmt.tps)}


def is_overall() -> pl.Expr:
    """Rows of marts.routing_counterfactual that summarise all models (a null or 'all' model), if the mart has them."""
    return pl.col("model").is_null() | pl.col("model").str.to_lowercase().is_in(list(OVERALL_MODEL))


def routing_totals(per_model: pl.DataFrame) -> pl.DataFrame:
    """Per objective and policy, the change over all models together, as the contract defines it
    per model: cost is a total (baseline_value, routed_value in USD over the routed requests), so
    the change is sum routed / sum baseline - 1; throughput is a mean weighted by the routed
    requests, so both sides are re-weighted by requests_routed first. No interval: the mart's
    intervals are per model."""
    weight = pl.when(pl.col("objective") == "cost").then(1.0).otherwise(pl.col("requests_routed"))
    return (
        per_model.drop_nulls(["baseline_value", "routed_value"])
        .group_by("objective", "policy")
        .agg(
            n=pl.len(),
            routed=pl.col("requests_routed").sum(),
            excluded=pl.col("requests_excluded").sum(),
            base=(pl.col("baseline_value") * weight).sum(),
            new=(pl.col("routed_value") * weight).sum(),
        )
        .with_columns(change_pct=pl.when(pl.col("base") != 0).then(100 * (pl.col("new") / pl.col("base") - 1)))
        .sort("objective", "policy")
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
    if wh.has("marts.routing_counterfactual"):
        rc = wh.frame(f"select * {wh.from_quarter('marts.routing_counterfactual')}", ctx.p)
        if rc.height == 0:
            s.add(Paragraph(f"marts.routing_counterfactual holds no row for {ctx.period}."))
        else:
            overall, per_model = rc.filter(is_overall()), rc.filter(~is_overall())
            if overall.height:
                s.add(
                    Paragraph(
                        "Across all models: "
                        + "; ".join(
                            f"{named(r['objective'])} ({named(r['policy'])}) "
                            f"{fmt.pct_value_ci(r['change_pct'], r['ci_low'], r['ci_high'])} vs the official provider "
                            f"over {fmt.count(r['requests_routed'])} requests"
                            for r in overall.sort("objective", "policy").iter_rows(named=True)
                        )
                        + "."
                    )
                )
            else:
                totals = routing_totals(per_model)
                s.add(
                    Table(
                        "Routing every model's requests to the best feasible provider, against the official provider on the same "
                        "requests, all models together: the change of total cost, and of decode throughput re-weighted by the requests "
                        "routed (from marts.routing_counterfactual; its intervals are per model, below).",
                        ["Objective", "Policy", "Models", "Requests routed", "Excluded", "Change, all models"],
                        [
                            [
                                r["objective"],
                                r["policy"],
                                fmt.count(r["n"]),
                                fmt.count(r["routed"]),
                                fmt.count(r["excluded"]),
                                fmt.pct_value(r["change_pct"]),
                            ]
                            for r in totals.iter_rows(named=True)
                        ],
                        align="llrrrr",
                    )
                )
            if "requests_imputed" in per_model.columns:
                cost = per_model.filter((pl.col("objective") == "cost") & (pl.col("policy") == "oracle"))
                routed, imputed = cost["requests_routed"].sum(), cost["requests_imputed"].sum()
                if routed and imputed:
                    s.add(
                        Paragraph(
                            f"Cache hits: {fmt.pct(imputed / routed)} of the routed requests ({fmt.count(imputed)} of {fmt.count(routed)}, "
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
    if wh.has("marts.routing_policies"):
        rp = wh.frame(f"select * {wh.from_quarter('marts.routing_policies')}", ctx.p)
        if rp.height:
            summ = (
                rp.group_by("policy", "scenario")
                .agg(
                    pl.len().alias("n"),
                    pl.col("requests_routed").sum().alias("routed"),
                    pl.col("requests_excluded").sum().alias("excluded"),
                    pl.col("total_cost_usd").sum().alias("cost"),
                    pl.col("cost_change_pct").median().alias("cost_chg"),
                    pl.col("tps_change_pct").median().alias("tps_chg"),
                    pl.col("expected_success_rate").min().alias("succ"),
                )
                .sort("policy", "scenario")
            )
            rows = [
                [
                    r["policy"],
                    r["scenario"],
                    fmt.count(r["n"]),
                    fmt.count(r["routed"]),
                    fmt.count(r["excluded"]),
                    fmt.usd_total(r["cost"]),
                    fmt.pct_value(r["cost_chg"]),
                    fmt.pct_value(r["tps_chg"]),
                    fmt.pct(r["succ"]),
                ]
                for r in summ.iter_rows(named=True)
            ]
            s.add(
                Table(
                    "Routing policies: models, requests, total cost of the routed requests, median change across models of cost and decode "
                    "throughput, and the lowest expected success rate of any model (marts.routing_policies).",
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
            several = rp["scenario"].n_unique() > 1
            long = (
                pl.concat(
                    [
                        rp.select(
                            "model", "policy", "scenario", pl.lit(label).alias("metric"), pl.col(col).alias("value")
                        )
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
        else:
            s.add(Paragraph(f"marts.routing_policies holds no row for {ctx.period}."))
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


SECTIONS = (coverage, demand, inertia, supply_use, heterogeneity, reliability, verification, regimes, routing)
