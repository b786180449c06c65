"""1. Data and coverage: where the quarter's data came from and how much of it was kept."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from pipeline.lib.report import fmt
from pipeline.lib.report.model import Missing, Paragraph, Section, Table
from pipeline.lib.report.sections.common import PLURAL, Context, _clip
from pipeline.lib.report.source import Warehouse, quarter_dates


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
