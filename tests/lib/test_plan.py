"""The plan's pure parts (pipeline/lib/plan.py, pipeline/lib/runner.py): day spans as the build
run receives them, which days count as "only new request files", and the run config that tells a
build its days."""

from __future__ import annotations

import datetime as dt
import shlex

from hypothesis import given
from hypothesis import strategies as st

from pipeline.lib.plan import NO_DAYS, Plan, _added_request_files, day_spans, parse_day_spans
from pipeline.lib.runner import build_range, next_steps, with_build_days


def test_day_spans_join_consecutive_days():
    assert (
        day_spans(["2025-10-03", "2025-10-01", "2025-10-02", "2025-12-31", "2025-10-05"])
        == "2025-10-01..2025-10-03,2025-10-05,2025-12-31"
    )
    # across a month and a year end
    assert (
        day_spans(["2025-12-31", "2026-01-01", "2025-11-30", "2025-12-01"])
        == "2025-11-30..2025-12-01,2025-12-31..2026-01-01"
    )
    assert day_spans([]) == "" and parse_day_spans("") == set() and parse_day_spans(NO_DAYS) == set()


@given(st.sets(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 12, 31)), max_size=60))
def test_parse_day_spans_inverts_day_spans(days):
    text = day_spans([d.isoformat() for d in days])
    assert parse_day_spans(text) == {d.isoformat() for d in days}
    # one span per run of consecutive days: as many as days whose day before is not in the set
    assert len([p for p in text.split(",") if p]) == sum(1 for d in days if d - dt.timedelta(days=1) not in days)


def test_only_new_request_files_make_a_day_a_recount_candidate():
    a, b, c = "requests/a.csv\0h1\0d1", "requests/b.csv\0h2\0d2", "requests/c.csv\0h3\0d3"
    assert _added_request_files(("rest", [a]), ("rest", [a, b, c])) == ["requests/b.csv", "requests/c.csv"]
    assert _added_request_files(("rest", [a]), ("other rest", [a, b])) is None  # probes, dims or code changed
    assert _added_request_files(("rest", [a, b]), ("rest", [a])) is None  # a file removed
    assert _added_request_files(("rest", [a]), ("rest", [a])) is None  # nothing new
    rewritten = "requests/a.csv\0h9\0d9"
    assert _added_request_files(("rest", [a]), ("rest", [a, rewritten])) is None  # same path, new content: a change


def test_the_build_run_gets_the_plan_days_and_the_recounted_days():
    cfg = {"resources": {"paths": {"config": {"raw_dir": "r", "warehouse": "w"}}}, "loggers": {}}
    todo = Plan(days=[], dirty=["2025-10-01", "2025-10-02", "2025-12-31"], recount={"2025-11-05": ["f"]})
    paths = with_build_days(cfg, todo)["resources"]["paths"]["config"]
    assert paths == {
        "raw_dir": "r",
        "warehouse": "w",
        "build_days": "2025-10-01..2025-10-02,2025-12-31",
        "recount_days": "2025-11-05",
    }
    assert build_range(todo) == ["2025-10-01", "2025-10-02", "2025-12-31"]
    # only recounts: one of their days carries the run (stg_requests counts them), no day is built
    only = Plan(days=[], dirty=[], recount={"2025-11-05": ["f"], "2025-11-07": ["f"]})
    assert with_build_days(cfg, only)["resources"]["paths"]["config"]["build_days"] == NO_DAYS
    assert build_range(only) == ["2025-11-07"]
    assert with_build_days(cfg, Plan(days=[], dirty=[])) == cfg


def test_the_output_code_hash_sees_any_module_or_sql_file_change(tmp_path):
    # a change to a mart's module or SQL (an upgrade) must not leave an unchanged drop "nothing to build"
    from pipeline.lib.plan import output_code_hash

    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "sql").mkdir()
    (tmp_path / "pkg" / "sub" / "marts.py").write_text("A = 1\n")
    (tmp_path / "sql" / "t.sql").write_text("select 1\n")
    roots = ((tmp_path / "pkg", "*.py"), (tmp_path / "sql", "*.sql"))
    first = output_code_hash(roots)
    assert output_code_hash(roots) == first
    (tmp_path / "pkg" / "sub" / "marts.py").write_text("A = 2\n")
    second = output_code_hash(roots)
    (tmp_path / "sql" / "t.sql").write_text("select 2\n")
    assert len({first, second, output_code_hash(roots)}) == 3


def test_the_output_code_includes_the_registry():
    # a table's declaration decides its warehouse comments and what a factory mart reads
    from pipeline.lib.plan import OUTPUT_CODE
    from pipeline.lib.registry import REGISTRY_DIR

    assert (REGISTRY_DIR, "*.yaml") in OUTPUT_CODE


def test_the_next_steps_paste_into_a_shell_whatever_the_warehouse_path_holds(tmp_path):
    """The commands printed after a run name the warehouse as one shell word: a path with a space,
    both quotes, a $ and a non-ASCII letter splits back into exactly that path."""
    warehouse = tmp_path / 'we\'ird "dir" ü $HOME' / "w h.duckdb"
    lines = next_steps(warehouse, 3)
    query, roll_back = lines[0], lines[2]
    words = shlex.split(query.split("query it:", 1)[1].split("(or:", 1)[0])
    assert words == ["servicelens", "query", "select * from marts.ingest_audit", "--warehouse", str(warehouse)]
    assert shlex.split(query.split("(or:", 1)[1].rsplit(")", 1)[0]) == ["duckdb", "-readonly", str(warehouse)]
    words = shlex.split(roll_back.split("roll back:", 1)[1].split("(3 generations", 1)[0])
    assert words == ["servicelens", "generations", "rollback", "--warehouse", str(warehouse)]
