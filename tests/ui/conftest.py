"""Fixtures for the browser tests: a Chromium (installed with apt when missing, else a skip
that says why) and a dagster-webserver over the repo's definitions with a throwaway
DAGSTER_HOME."""

from __future__ import annotations

import pytest

from tests.ui.browser import Browser, ChromiumUnavailable, ensure_chromium
from tests.ui.webserver import dagster_webserver, skip_community_dialog


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.skip(f"no headless Chromium for the UI test: {exc}")


def seed_instance(home) -> None:
    """One materialization of family_demand carrying a chart thumbnail, written straight into
    the instance: the UI then has metadata to render without running the pipeline."""
    import dagster as dg
    import polars as pl

    from pipeline.defs.thumbnails import bars

    shares = pl.DataFrame(
        {"period": ["2025Q4"] * 3, "family": ["deepseek", "qwen", "glm"], "request_share": [0.5, 0.3, 0.2]}
    )
    chart = bars(shares, "family", "request_share", "request share by family", latest="period")
    assert chart, "the thumbnail helper drew nothing"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("family_demand", metadata={"dagster/row_count": 3, **chart})
        )


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory) -> str:
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    seed_instance(home)
    with dagster_webserver(home) as base:
        skip_community_dialog(base)
        yield base


@pytest.fixture
def browser(chromium):
    with Browser(chromium, width=1600, height=1000) as b:
        yield b
