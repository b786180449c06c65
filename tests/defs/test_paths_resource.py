"""The paths resource refuses a drop or warehouse path the record cannot be read under (glob
characters: the CLI's own check, pipeline/lib/cli_checks.py glob_problem), so a run from the UI
fails at its first step with that reason, not later in whichever step first globs it."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.defs.ingest.assets import _raw_asset, _stg_asset
from pipeline.defs.resources import ServicelensPaths
from pipeline.lib.contract import DATASETS


@pytest.mark.parametrize("field", ["raw_dir", "warehouse"])
def test_a_path_with_glob_characters_fails_the_step_with_its_reason(tmp_path, field):
    paths = {"raw_dir": str(tmp_path / "raw"), "warehouse": str(tmp_path / "wh" / "w.duckdb")}
    paths[field] = str(tmp_path / "run[1]" / ("raw" if field == "raw_dir" else "w.duckdb"))
    # the raw asset reads the drop, the staging asset writes under the warehouse
    asset = (_raw_asset if field == "raw_dir" else _stg_asset)(DATASETS["models"])
    result = dg.materialize([asset], resources={"paths": ServicelensPaths(**paths)}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
    assert f"the paths resource's {field}) has [ ] in its path" in failure.message


def test_plain_paths_pass(tmp_path):
    paths = ServicelensPaths(raw_dir=str(tmp_path / "raw"), warehouse=str(tmp_path / "wh" / "w.duckdb"))
    assert paths.raw == tmp_path / "raw" and paths.root.parent == tmp_path / "wh" / "w.store"
