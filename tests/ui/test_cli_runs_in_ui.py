"""A `servicelens run` from the command line is listed under its jobs (servicelens_prepare, servicelens_build) in the
UI (the job's Runs tab filters on the code location's repository tag), not only in the
global run list."""

from __future__ import annotations

import pytest

from tests.ui.webserver import dagster_webserver, graphql

pytestmark = [pytest.mark.ui, pytest.mark.slow]

JOB_RUNS = """
query JobRuns($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { runs { runId status } }
  }
}
"""


def test_a_cli_run_appears_under_the_job(tiny_drop, tmp_path, monkeypatch):
    from pipeline.lib.runner import run_pipeline

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert run_pipeline(tiny_drop, tmp_path / "wh.duckdb", echo=lambda _m: None, log_level="ERROR")
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        runs = {r.job_name: r.run_id for r in instance.get_runs()}
    # a CLI run is two Dagster runs: the one that finds the changed days, and the build of them
    assert sorted(runs) == ["servicelens_build", "servicelens_prepare"]
    with dagster_webserver(home) as base:
        for job, run_id in runs.items():
            selector = {
                "pipelineName": job,
                "repositoryName": "__repository__",
                "repositoryLocationName": "servicelens",
            }
            data = graphql(base, JOB_RUNS, {"selector": selector})["pipelineOrError"]
            assert data["__typename"] == "Pipeline"
            assert [(r["runId"], r["status"]) for r in data["runs"]] == [(run_id, "SUCCESS")]
