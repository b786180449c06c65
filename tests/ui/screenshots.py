"""The README's Dagster screenshots, taken the way the browser test reads the UI:

    .venv/bin/python -m tests.ui.screenshots            # or: make screenshots

Starts dagster-webserver on a free port over the repo's instance (DAGSTER_HOME, default the
repo root as in the Makefile, so run `make run` first to have materializations to show) and
writes docs/images/dagster-asset-graph.png (the global asset lineage with the staging group
expanded and the marts group listed in the sidebar) and docs/images/dagster-asset-metadata.png
(family_demand's page with its chart thumbnail open). Marks the instance's 'Join the Dagster
community' dialog as seen, as a click on Skip would."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from urllib.parse import quote

from tests.ui.browser import Browser, ensure_chromium
from tests.ui.webserver import REPO_ROOT, dagster_webserver, skip_community_dialog

GROUP_TOGGLE = (
    "Array.from(document.querySelectorAll('button')).find(b => b.querySelector('[aria-label=arrow_drop_down]')"
    " && b.getBoundingClientRect().x < 500 && b.parentElement && b.parentElement.innerText.trim().split('\\n')[0] === {group!r})"
)
SHOW_CHART = (
    "Array.from(document.querySelectorAll('tr')).filter(r => r.innerText.trim().startsWith('chart'))"
    ".map(r => Array.from(r.querySelectorAll('a, button, span')).find(e => e.innerText.includes('Show Markdown'))).find(Boolean)"
)


def asset_graph(browser: Browser, base: str, out: Path) -> Path:
    # All 44 assets expanded lay out far taller than a screen; the staging group expanded
    # between the collapsed raw, marts and report groups fits, and the sidebar lists the marts.
    browser.goto(f"{base}/asset-groups?expanded={quote('global@global:staging')}")
    browser.wait_for("document.body.innerText.includes('marts')", 30)
    time.sleep(1)
    browser.wait_for("!document.body.innerText.includes('fetching statuses')", 30)
    browser.click(GROUP_TOGGLE.format(group="marts"))
    time.sleep(1.5)
    return browser.screenshot(out / "dagster-asset-graph.png")


def asset_metadata(browser: Browser, base: str, out: Path, asset: str = "family_demand") -> Path:
    browser.goto(f"{base}/assets/{asset}")
    for _ in range(3):  # a click while the page settles can miss
        browser.click(SHOW_CHART, timeout=30)
        if browser.wait_for(
            "(() => { const i = document.querySelector('img[src^=\"data:image/png\"]'); return i && i.complete && i.naturalWidth > 0; })()",
            5,
        ):
            break
    time.sleep(0.5)
    return browser.screenshot(out / "dagster-asset-metadata.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagster-home", type=Path, default=Path(os.environ.get("DAGSTER_HOME", REPO_ROOT)))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    with (
        dagster_webserver(args.dagster_home.resolve()) as base,
        Browser(ensure_chromium(), args.width, args.height) as browser,
    ):
        skip_community_dialog(base)
        for shot in (asset_graph(browser, base, args.out), asset_metadata(browser, base, args.out)):
            print(f"wrote {shot}")


if __name__ == "__main__":
    main()
