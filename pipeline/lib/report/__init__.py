"""The quarterly report: one self-contained HTML file, a PNG per chart and a PDF, read from a
published warehouse (read-only) for one quarter.

    build_report(warehouse, period="2025Q4", out_dir=Path("reports/2025Q4"))

Modules: source (the read-only warehouse), sections and narrative (what each section says,
from the marts), headlines (key figures and their change vs the previous quarter), charts
(Altair + vl-convert), fmt (numbers for people), render (HTML and PDF)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.lib.report import charts
from pipeline.lib.report.headlines import headlines as read_headlines
from pipeline.lib.report.model import Figure, Headline, Missing, Section, Table
from pipeline.lib.report.narrative import methods, threats
from pipeline.lib.report.render import PdfUnavailable, render_html, write_pdf
from pipeline.lib.report.sections import CI, SECTIONS, Context
from pipeline.lib.report.sections.common import say_if_empty
from pipeline.lib.report.source import (
    Warehouse,
    parse_quarter,
    previous_quarter,
    quarter_dates,
)
from pipeline.paths import DEFAULT_WAREHOUSE, REPO_ROOT

__all__ = ["DEFAULT_REPORTS_DIR", "PdfUnavailable", "ReportResult", "build_report", "default_out_dir", "latest_quarter"]

DEFAULT_REPORTS_DIR = REPO_ROOT / "reports"
HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
CHARTS_DIR = "charts"

# progress(stage, done, total): stages "loading", "charts", "html", "pdf"
Progress = Callable[[str, int, int], None]


@dataclass
class ReportResult:
    period: str
    previous: str | None
    out_dir: Path
    html: Path
    pdf: Path | None
    pngs: list[Path]
    headlines: list[Headline]
    missing_tables: list[str]
    pdf_renderer: str | None = None
    pdf_error: str | None = None  # why no PDF was written, when it was asked for
    sections: list[Section] = field(default_factory=list)


def default_out_dir(warehouse: Path, period: str) -> Path:
    """reports/<period>/ in the repository for the default warehouse; beside any other
    warehouse file, <its folder>/reports/<period>/ (so a run on a scratch warehouse never
    writes into the repository)."""
    # absolute, symlinks not followed: the warehouse path is a link into its current
    # generation, and a report must land beside the link, never inside a generation
    warehouse = Path(os.path.abspath(warehouse))
    if warehouse == Path(os.path.abspath(DEFAULT_WAREHOUSE)):
        return DEFAULT_REPORTS_DIR / period
    return warehouse.parent / "reports" / period


def latest_quarter(warehouse: Path) -> str:
    with Warehouse(warehouse) as wh:
        return wh.latest_quarter()


def _noop(_stage: str, _done: int, _total: int) -> None:
    pass


def build_report(
    warehouse: Path,
    period: str | None = None,
    out_dir: Path | None = None,
    raw_dir: Path | None = None,
    pdf: bool = True,
    progress: Progress | None = None,
    warehouse_label: str | None = None,
) -> ReportResult:
    """Write <out_dir>/report.html, report.pdf and charts/NN_<name>.png for `period` (default:
    Warehouse.latest_quarter, the latest with data for most service objects). `raw_dir` is only
    read for a generator manifest that tells the drop's provenance. Raises ValueError for a period the warehouse does not hold.
    When no PDF renderer can run, the HTML and PNGs are still written and `pdf_error` says why.
    `warehouse_label` names the warehouse in the text (default: the file's name)."""
    progress = progress or _noop
    builders = (*SECTIONS, methods, threats)
    with Warehouse(warehouse) as wh:
        period = period or wh.latest_quarter()
        parse_quarter(period)
        held = wh.quarters()
        if period not in held:
            raise ValueError(f"{warehouse} holds no data for {period} (quarters held: {', '.join(held) or 'none'})")
        before = previous_quarter(period)
        previous = before if before in held else None
        ctx = Context(wh, period, Path(raw_dir) if raw_dir else None)
        sections = []
        progress("loading", 0, len(builders) + 1)
        for i, build in enumerate(builders, start=1):
            built = build(ctx)
            for section in built if isinstance(built, list) else [built]:
                # the last line of defence: never a bare heading
                sections.append(say_if_empty(section, f"The warehouse holds no data for this section in {period}."))
            progress("loading", i, len(builders) + 1)
        heads = read_headlines(wh, period, previous)
        progress("loading", len(builders) + 1, len(builders) + 1)

    out_dir = Path(out_dir) if out_dir else default_out_dir(warehouse, period)
    chart_dir = out_dir / CHARTS_DIR
    chart_dir.mkdir(parents=True, exist_ok=True)
    for old in chart_dir.glob("*.png"):  # a re-run replaces the charts, never mixes two runs
        old.unlink()

    tables = figures = 0
    missing: list[str] = []
    for number, section in enumerate(sections, start=1):
        section.number = number
        for block in section.blocks:
            if isinstance(block, Table):
                tables += 1
                block.number = tables
            elif isinstance(block, Figure):
                figures += 1
                block.number = figures
            elif isinstance(block, Missing):
                missing += [t for t in block.tables if t not in missing]

    pngs: list[Path] = []
    all_figures = [f for s in sections for f in s.figures]
    progress("charts", 0, len(all_figures))
    for i, fig in enumerate(all_figures, start=1):
        fig.png = chart_dir / f"{fig.number:02d}_{fig.key}.png"
        fig.svg = charts.render(fig.chart, fig.png)
        pngs.append(fig.png)
        progress("charts", i, len(all_figures))

    progress("html", 0, 1)
    start, end = quarter_dates(period)
    last_day = end - timedelta(days=1)
    title = f"Hosted open-weight LLM APIs: the service layer in {period}"
    context = {
        "title": title,
        "subtitle": f"Demand, prices, performance and reliability of the providers serving open-weight models, {start:%-d %B %Y} to {last_day:%-d %B %Y}.",
        "meta": [
            ("Quarter", period),
            ("Warehouse", warehouse_label or Path(warehouse).name),
            ("Compared with", previous or "no earlier quarter held"),
            ("Generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
            ("Tables", str(tables)),
            ("Figures", str(figures)),
        ],
        "period": period,
        "previous": previous,
        "ci_label": CI,
        "headlines": heads,
        "change_note": (
            f"Changes are against {previous}: percentage points (pp) for shares, plain differences for statistics, days for half-lives, "
            "relative change for totals."
            if previous
            else f"The warehouse holds no {before}, so no change against the previous quarter is shown."
        ),
        "sections": sections,
        "footer": f"Written by servicelens report from {warehouse_label or Path(warehouse).name}, read-only. Every figure is read from the warehouse's marts; "
        f"charts are in {CHARTS_DIR}/ beside this file.",
    }
    html_text = render_html(context)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / HTML_NAME
    html_path.write_text(html_text, encoding="utf-8")
    progress("html", 1, 1)

    pdf_path, renderer, pdf_error = None, None, None
    if pdf:
        progress("pdf", 0, 1)
        target = out_dir / PDF_NAME
        target.unlink(missing_ok=True)  # never leave last run's PDF beside this run's HTML
        try:
            renderer = write_pdf(render_html(context, raster_base=out_dir), target)
            pdf_path = target
        except PdfUnavailable as exc:
            pdf_error = str(exc)
        progress("pdf", 1, 1)
    return ReportResult(
        period=period,
        previous=previous,
        out_dir=out_dir,
        html=html_path,
        pdf=pdf_path,
        pngs=pngs,
        headlines=heads,
        missing_tables=missing,
        pdf_renderer=renderer,
        pdf_error=pdf_error,
        sections=sections,
    )
