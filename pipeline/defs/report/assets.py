"""The quarterly report (issue 6): HTML, a PNG per chart and a PDF, read from the published
warehouse file, read-only."""

import dagster as dg

from pipeline.defs.resources import ServicelensPaths


class QuarterlyReportConfig(dg.Config):
    """Which quarter to report and where to write it."""

    period: str = ""
    """Quarter to report, e.g. 2025Q4; empty: the latest quarter in the warehouse."""
    out_dir: str = ""
    """Folder to write; empty: reports/<period>/ for the default warehouse, else reports/<period>/ beside the warehouse file."""
    pdf: bool = True
    """Also lay out the PDF."""


@dg.asset(group_name="report", deps=["warehouse"], kinds={"altair", "html", "pdf"})
def quarterly_report(context: dg.AssetExecutionContext, config: QuarterlyReportConfig, paths: ServicelensPaths) -> dg.MaterializeResult:
    """One report per quarter: report.html (self-contained, opens offline), report.pdf and
    charts/NN_<name>.png, with the study's sections from data coverage to threats to validity.
    Every figure is read from the warehouse's marts; a mart the warehouse lacks is named in the
    report instead of its section. A machine that cannot lay out a PDF still gets the HTML and
    PNGs (the metadata says why the PDF is missing)."""
    # Imported here: Altair and the renderers cost a second or more, which loading the
    # definitions (dagster dev, every CLI run) should not pay.
    from pipeline.lib.report import build_report

    raw = paths.raw if paths.raw.is_dir() else None
    result = build_report(
        paths.warehouse_file,
        period=config.period or None,
        out_dir=config.out_dir or None,
        raw_dir=raw,
        pdf=config.pdf,
    )
    if result.pdf_error:
        context.log.warning(result.pdf_error)
    figures = {}
    for h in result.headlines:
        text = h.text + (f" {h.interval}" if h.interval else "") + (f" ({h.change} vs {result.previous})" if h.change else "")
        figures[h.label] = text
    return dg.MaterializeResult(
        metadata={
            "period": result.period,
            "compared with": result.previous or "no previous quarter in the warehouse",
            "html": dg.MetadataValue.path(str(result.html)),
            "pdf": dg.MetadataValue.path(str(result.pdf)) if result.pdf else f"not written: {result.pdf_error or 'not asked for'}",
            "charts": len(result.pngs),
            "missing marts": ", ".join(result.missing_tables) or "none",
            **figures,
        }
    )


REPORT_ASSETS = [quarterly_report]


@dg.definitions
def report_defs() -> dg.Definitions:
    return dg.Definitions(assets=REPORT_ASSETS)
