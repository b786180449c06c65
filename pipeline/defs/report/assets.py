"""The quarterly report (issue 6): HTML, a PNG per chart and a PDF, read from the warehouse
generation this run built (read-only), before that generation is published."""

import os
from pathlib import Path

import dagster as dg

from pipeline.defs.resources import ServicelensPaths


class QuarterlyReportConfig(dg.Config):
    """Which quarter to report and where to write it."""

    period: str = ""
    """Quarter to report, e.g. 2025Q4; empty: the latest quarter with data for most service objects
    (README, The quarterly report)."""
    out_dir: str = ""
    """Folder to write; empty: reports/<period>/ for the default warehouse, else reports/<period>/ beside the warehouse file."""
    pdf: bool = True
    """Also lay out the PDF."""


@dg.asset(group_name="report", deps=["warehouse"], kinds={"altair", "html", "pdf"})
def quarterly_report(
    context: dg.AssetExecutionContext, config: QuarterlyReportConfig, paths: ServicelensPaths
) -> dg.MaterializeResult:
    """One report per quarter: report.html (self-contained, opens offline), report.pdf and
    charts/NN_<name>.png, with the study's sections from data coverage to threats to validity.
    Every figure is read from the warehouse's marts; a mart the warehouse lacks is named in the
    report instead of its section. A machine that cannot lay out a PDF still gets the HTML and
    PNGs (the metadata says why the PDF is missing)."""
    # Imported here: Altair and the renderers cost a second or more, which loading the
    # definitions (dagster dev, every CLI run) should not pay.
    from pipeline.lib.generations import record_report
    from pipeline.lib.report import build_report, default_out_dir, latest_quarter

    store = paths.store
    name = store.pending() or store.current()
    if name is None and not paths.warehouse_file.is_file():
        raise dg.Failure(f"no warehouse to report on at {paths.warehouse_file}: materialize `warehouse` first")
    # a warehouse file from before generations is reported on in place (nothing to publish)
    db = store.gen_db(name) if name else paths.warehouse_file
    period = config.period or latest_quarter(db)
    install_to = Path(config.out_dir) if config.out_dir else default_out_dir(paths.warehouse_file, period)
    raw = paths.raw if paths.raw.is_dir() else None
    # rendered inside the generation; `published_warehouse` copies it into place
    out_dir = store.gen_reports(name) / period if name else install_to
    # SERVICELENS_REPORT_PDF=0 skips the PDF layout (about 5 s a run): the test suite's end-to-end
    # runs set it; the report tests and one run test lay the PDF out
    pdf = config.pdf and os.environ.get("SERVICELENS_REPORT_PDF", "1") != "0"
    result = build_report(
        db, period=period, out_dir=out_dir, raw_dir=raw, pdf=pdf, warehouse_label=paths.warehouse_file.name
    )
    if name:
        record_report(store, name, result.out_dir, install_to)
    if result.pdf_error:
        context.log.warning(result.pdf_error)
    figures = {}
    for h in result.headlines:
        text = (
            h.text
            + (f" {h.interval}" if h.interval else "")
            + (f" ({h.change} vs {result.previous})" if h.change else "")
        )
        figures[h.label] = text
    return dg.MaterializeResult(
        metadata={
            "period": result.period,
            "compared with": result.previous or "no previous quarter in the warehouse",
            "generation": name or "none (a warehouse file from before generations)",
            "html": dg.MetadataValue.path(str(install_to / result.html.name)),
            "pdf": dg.MetadataValue.path(str(install_to / result.pdf.name))
            if result.pdf
            else f"not written: {result.pdf_error or 'not asked for'}",
            "charts": len(result.pngs),
            "missing marts": ", ".join(result.missing_tables) or "none",
            **figures,
        }
    )


REPORT_ASSETS = [quarterly_report]


@dg.definitions
def report_defs() -> dg.Definitions:
    return dg.Definitions(assets=REPORT_ASSETS)
