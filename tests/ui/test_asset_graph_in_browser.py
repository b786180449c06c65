"""The Dagster UI, for real: dagster-webserver on a free localhost port over the repo's
definitions, read by headless Chromium after the app has rendered client-side. The asset
graph shows every group with its number of assets, the asset catalog lists every asset key
of the definitions, the GraphQL API agrees on the count, and a chart thumbnail in asset
metadata renders as an image."""

from __future__ import annotations

import collections
import json
from urllib.parse import unquote

import pytest

from tests.ui.webserver import asset_keys

pytestmark = pytest.mark.ui

# Collects every element matching a selector while scrolling its scrollable ancestor from
# top to bottom: the catalog only renders the rows in view.
COLLECT_WHILE_SCROLLING = """
(async (selector, attr) => {
  const seen = new Set();
  const grab = () => document.querySelectorAll(selector).forEach(e => seen.add(attr ? e.getAttribute(attr) : e.innerText.trim()));
  grab();
  const first = document.querySelector(selector);
  let box = first && first.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 2 && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) box = box.parentElement;
  if (box) {
    const step = Math.max(40, box.clientHeight / 2);
    for (let y = 0; y <= box.scrollHeight + step; y += step) {
      box.scrollTop = y;
      await new Promise(r => setTimeout(r, 100));
      grab();
    }
  }
  return Array.from(seen);
})
"""


SHOW_CHART = (
    "Array.from(document.querySelectorAll('tr')).filter(r => r.innerText.trim().startsWith('chart'))"
    ".map(r => Array.from(r.querySelectorAll('a, button, span')).find(e => e.innerText.includes('Show Markdown'))).find(Boolean)"
)
THUMBNAIL_SIZE = (
    "(() => { const i = document.querySelector('img[src^=\"data:image/png;base64,\"]');"
    " return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null; })()"
)


def _definitions():
    from pipeline.definitions import defs

    graph = defs().resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    groups = collections.Counter(graph.get(k).group_name for k in graph.get_all_asset_keys())
    return keys, groups


def _fail(browser, tmp_path, message):
    shot = browser.screenshot(tmp_path / "failure.png")
    pytest.fail(f"{message} (screenshot: {shot})")


def test_graphql_knows_every_asset_of_the_definitions(dagster_ui):
    keys, _ = _definitions()
    served = asset_keys(dagster_ui)
    assert len(served) == len(keys)
    assert set(served) == keys


def test_asset_graph_shows_every_group_with_all_its_assets(dagster_ui, browser, tmp_path):
    _, groups = _definitions()
    browser.goto(f"{dagster_ui}/asset-groups")
    # The global lineage collapses groups into one node each, badged with its asset counts by
    # status; wait until every group node is drawn with them.
    read_nodes = """
      (groups => Object.fromEntries(groups.map(g => {
        const title = Array.from(document.querySelectorAll('div')).find(e => e.children.length === 0 && e.textContent === g
          && e.getBoundingClientRect().x > 500);
        if (!title) return [g, null];
        let node = title;
        while (node.parentElement && !/\\d/.test(node.innerText.replace(g, ''))) node = node.parentElement;
        const counts = (node.innerText.replace(g, '').match(/\\d+/g) || []).map(Number);
        return [g, counts.reduce((a, b) => a + b, 0)];
      })))
    """
    expected = dict(groups)
    read = f"({read_nodes})({json.dumps(list(expected))})"
    matches = f"(() => {{ const r = {read}, e = {json.dumps(expected)}; return Object.keys(e).every(g => r[g] === e[g]); }})()"
    if not browser.wait_for(matches, timeout=30):
        _fail(browser, tmp_path, f"the asset graph shows {browser.evaluate(read)}, not the groups {expected}")
    assert browser.evaluate("document.title") == "Global asset lineage"


def test_asset_catalog_lists_every_asset_key(dagster_ui, browser, tmp_path):
    keys, _ = _definitions()
    browser.resize(1600, 2400)  # fewer rows to scroll through
    browser.goto(f"{dagster_ui}/assets")
    links = "document.querySelectorAll('a[href^=\"/assets/\"]').length"
    if not browser.wait_for(f"{links} >= {min(len(keys), 10)}", timeout=30):
        _fail(browser, tmp_path, "the asset catalog rendered no asset rows")
    listed: set[str] = set()
    for _ in range(3):  # rows keep arriving while the catalog loads
        hrefs = browser.evaluate(f"({COLLECT_WHILE_SCROLLING})('a[href^=\"/assets/\"]', 'href')")
        listed |= {unquote(h.split("?")[0].removeprefix("/assets/")).strip("/") for h in hrefs}
        if keys <= listed:
            break
    missing = sorted(keys - listed)
    if missing:
        _fail(browser, tmp_path, f"the asset catalog does not list {missing}")
    assert not {k for k in listed - keys if k}, (
        f"the catalog lists assets the definitions lack: {sorted(listed - keys)}"
    )


def test_chart_thumbnail_in_metadata_renders_as_an_image(dagster_ui, browser, tmp_path):
    browser.goto(f"{dagster_ui}/assets/family_demand")
    # Markdown metadata opens from its row in the metadata table ("[Show Markdown]"); a click
    # while the page is still settling can miss, so it is retried.
    for _ in range(3):
        browser.click(SHOW_CHART, timeout=30)
        size = browser.wait_for(THUMBNAIL_SIZE, timeout=5)
        if size:
            break
    else:
        _fail(browser, tmp_path, "the chart thumbnail did not render as an image")
    width, height = size
    assert 100 <= width <= 800 and 50 <= height <= 600
