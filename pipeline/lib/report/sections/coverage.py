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
    if not wh.has("marts.ingest_summary"):
        return unknown
    audit = {
        r["dataset"]: {
            "loaded": r["rows_loaded"],
            "quarantined": r["rows_quarantined"],
            "duplicate": r["rows_duplicate"],
        }
        for r in wh.rows("select * from marts.ingest_summary where not is_total")
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
    if wh.has("marts.ingest_audit") and wh.has("marts.ingest_summary"):
        s.add(*_audit(wh))
    else:
        s.add(Missing(["marts.ingest_audit"], "the row accounting of the drop"))
    if wh.has("marts.quarantine") and wh.has("marts.quarantine_reasons"):
        s.add(_reasons(wh))
    else:
        s.add(Missing(["marts.quarantine"], "the quarantined rows and their reasons"))
    facts = _facts(ctx)
    if facts:
        s.add(Table(f"What the warehouse holds for {ctx.period}.", ["Measure", ctx.period], facts))
    s.add(Paragraph(provenance(wh, ctx.raw_dir), style="callout"))
    return s


AUDIT_COLUMNS = ("files", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "files_unreadable")


def _audit(wh: Warehouse) -> list:
    """The ingest audit as marts.ingest_summary states it: a sentence and a table per dataset."""
    summary = wh.frame("select * from marts.ingest_summary order by is_total, dataset")
    per, total = summary.filter(~pl.col("is_total")), summary.filter(pl.col("is_total"))
    tot = total.row(0, named=True) if total.height else dict.fromkeys((*AUDIT_COLUMNS, "balanced"))
    text = (
        f"The drop held {fmt.count(tot['files'])} files with {fmt.count(tot['rows_read'])} rows. "
        f"{fmt.count(tot['rows_loaded'])} rows were loaded, {fmt.count(tot['rows_quarantined'])} quarantined with their reason "
        f"({fmt.pct(tot['rows_quarantined'] / tot['rows_read'], 3) if tot['rows_read'] else fmt.DASH} of the rows read) and "
        f"{fmt.count(tot['rows_duplicate'])} recognised as duplicates; {fmt.count(tot['files_unreadable'])} files could not be read. "
        + (
            "Every row read is accounted for (read = loaded + quarantined + duplicate)."
            if tot["balanced"] is not False
            else "The audit does not balance: read differs from loaded + quarantined + duplicate."
        )
        + " The audit covers the whole drop, not only the reported quarter."
    )
    rows = [[r["dataset"], *(fmt.count(r[c]) for c in AUDIT_COLUMNS)] for r in per.iter_rows(named=True)]
    rows.append(["all datasets", *(fmt.count(tot[c] or 0) for c in AUDIT_COLUMNS)])
    return [
        Paragraph(text),
        Table(
            "Ingest audit: the fate of every input row, per dataset (marts.ingest_audit).",
            ["Dataset", "Files", "Rows read", "Loaded", "Quarantined", "Duplicates", "Unreadable files"],
            rows,
            total_row=True,
        ),
    ]


def _reasons(wh: Warehouse):
    q = wh.frame("select * from marts.quarantine_reasons order by dataset, rows_quarantined desc, code")
    if not q.height:
        return Paragraph("No row was quarantined.")
    rows = [
        [r["dataset"], r["code"], fmt.count(r["rows_quarantined"]), _clip(r["example"], 90)]
        for r in q.iter_rows(named=True)
    ]
    return Table(
        "Quarantined rows by dataset and reason code, with one example reason (marts.quarantine).",
        ["Dataset", "Reason", "Rows", "Example"],
        rows,
        align="llrw",
    )


def _facts(ctx: Context) -> list[list[str]]:
    """What the warehouse holds for the period, as marts.period_facts states it; a fact whose
    source mart is absent is left out."""
    wh, f = ctx.wh, ctx.period_row("marts.period_facts")
    if not f:
        return []
    facts: list[list[str]] = []
    if wh.has("marts.concentration") and f["days_with_requests"] is not None:
        start, end = quarter_dates(ctx.period)
        facts.append(["Days with requests", f"{fmt.count(f['days_with_requests'])} of {(end - start).days}"])
        for level in ("family", "model", "provider"):
            if f[f"{PLURAL[level]}_with_requests"] is not None:
                facts.append(
                    [f"{PLURAL[level].capitalize()} with requests", fmt.count(f[f"{PLURAL[level]}_with_requests"])]
                )
    if wh.has("marts.family_demand") and f["weighted_requests"] is not None:
        facts.append(["Requests (weighted by 1 / sample rate)", fmt.count(f["weighted_requests"])])
        facts.append(["Tokens, input + output (weighted)", fmt.tokens(f["weighted_tokens"])])
    if wh.has("marts.service_objects") and f["service_objects_listed"] is not None:
        facts += [
            ["Service objects listed (provider x model)", fmt.count(f["service_objects_listed"])],
            ["Service objects with latency probes", fmt.count(f["service_objects_probed"])],
            ["Latency probes", fmt.count(f["probes"])],
        ]
    if wh.has("marts.vendor_verification") and f["compat_cases"] is not None:
        facts.append(
            ["Compatibility probe cases", f"{fmt.count(f['compat_cases'])} in {fmt.count(f['compat_suites'])} suites"]
        )
    return facts
