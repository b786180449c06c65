"""HTML (Jinja2, autoescaped) and PDF (WeasyPrint) from the report's sections.

The HTML is one self-contained file: the stylesheet is inlined and every chart is inline SVG,
so it opens offline and references nothing. The PDF is the same HTML laid out by WeasyPrint
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


def render_html(context: dict) -> str:
    """context: title, subtitle, meta [(k, v)], period, previous, ci_label, headlines, change_note,
    sections (with blocks; figures carry .svg), footer."""
    for section in context["sections"]:
        for block in section.blocks:
            if block.kind == "figure":
                # vl-convert's SVG: its text nodes are XML-escaped by vl-convert itself.
                block.svg = Markup(block.svg)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _env().get_template("report.html.j2").render(css=Markup(css), **context)


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
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={Path(tmp) / 'profile'}", "--no-pdf-header-footer",
               f"--print-to-pdf={path.resolve()}", page.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": tmp})
        if done.returncode != 0 or not path.exists():
            raise PdfUnavailable(f"headless Chromium could not print the PDF: {done.stderr.strip()[-400:]}")
