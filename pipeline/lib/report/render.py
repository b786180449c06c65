"""HTML (Jinja2, autoescaped) and PDF (WeasyPrint) from the report's sections.

The HTML is one self-contained file: the stylesheet is inlined and every chart is inline SVG,
so it opens offline and references nothing. The PDF is the same HTML, its charts as the PNGs, laid out by WeasyPrint
(pure Python on top of the system's Pango, which Debian's base images carry); when WeasyPrint
cannot load, a headless Chromium on the PATH prints the page instead, and with neither the
step fails with a message saying what to install (the HTML and PNGs are written by then)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import jinja2
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"


class PdfUnavailable(RuntimeError):
    """No PDF renderer could run on this machine."""


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value from the warehouse is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(context: dict, raster_base: Path | None = None) -> str:
    """context: title, subtitle, meta [(k, v)], period, previous, ci_label, headlines, change_note,
    sections (with blocks; figures carry .svg and .png), footer. With raster_base, each chart is
    its PNG (an <img> of the file) instead of inline SVG: the page the PDF is laid out
    from (WeasyPrint draws a PNG in a millisecond and an SVG chart in a tenth of a second)."""
    figures = []
    for section in context["sections"]:
        for block in section.blocks:
            if block.kind == "figure":
                figures.append((block, block.svg))
                if raster_base is not None and block.png is not None and Path(block.png).is_file():
                    width, _ = png_size(Path(block.png))
                    src = Path(block.png).resolve().as_uri()  # absolute: Chromium prints from a temporary copy
                    # PNGs are drawn at scale 2: half their pixels is the SVG's size in CSS px
                    block.svg = Markup('<img src="{}" style="width: {}px; max-width: 100%" alt="">').format(
                        src, width // 2
                    )
                else:
                    # vl-convert's SVG: its text nodes are XML-escaped by vl-convert itself.
                    block.svg = Markup(block.svg)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    try:
        return _env().get_template("report.html.j2").render(css=Markup(css), **context)
    finally:
        for block, svg in figures:
            block.svg = svg


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk."""
    with path.open("rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def write_pdf(html: str, path: Path) -> str:
    """Lay out `html` as a PDF at `path`; returns the renderer used."""
    path = Path(path)
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the Pango/GObject libraries are missing
        browser = _chromium()
        if browser is None:
            raise PdfUnavailable(
                f"cannot write the PDF: WeasyPrint did not load ({exc}). Install the project's dependencies "
                "(pip install -e .) and the Pango library (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0), "
                "or put a headless Chromium on the PATH."
            ) from exc
        _chromium_pdf(browser, html, path)
        return "chromium"
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(path)
    return f"weasyprint {weasyprint.__version__}"


def _chromium_pdf(browser: str, html: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={path.resolve()}",
            page.as_uri(),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": tmp})
        if done.returncode != 0 or not path.exists():
            raise PdfUnavailable(f"headless Chromium could not print the PDF: {done.stderr.strip()[-400:]}")
