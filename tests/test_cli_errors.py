"""Every mistake a user can make on the command line ends in one line `Error: ...` and a
non-zero exit, never a traceback; suggestions name what was probably meant. Also: the CLI's
environment defaults, --version, the query sandbox, and that every README simulate example
with a scenario changes what the tool prints.

Warehouses: the session's `generated_quarter` (20k requests, seed 1), only read; replays run on
a copy of its staged Parquet (a replay keeps scratch files under the Parquet root)."""

from __future__ import annotations

import re
import shutil
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.paths import REPO_ROOT, parquet_root


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def error_line(res) -> str:
    """The one line a mistake prints; fails unless that is all it printed and it exited non-zero."""
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    return lines[0]


@pytest.fixture(scope="module")
def wh(generated_quarter) -> Path:
    return generated_quarter[1]


@pytest.fixture(scope="module")
def replay_wh(generated_quarter, tmp_path_factory) -> Path:
    """A warehouse path whose Parquet is a copy of the generated quarter's staged data: what
    `simulate` reads, in a folder it may write its scratch files to."""
    warehouse = tmp_path_factory.mktemp("replay") / "wh.duckdb"
    shutil.copytree(parquet_root(generated_quarter[1]) / "staging", parquet_root(warehouse) / "staging")
    return warehouse


# ---------------------------------------------------------------------------------- simulate


@pytest.mark.slow  # the generated quarter
@pytest.mark.parametrize(
    ("model", "meant"), [("qwen3-32B", "qwen3-32b"), ("qwen3-33b", "qwen3-32b"), ("deepseek-v3-2", "deepseek-v3.2")]
)
def test_unknown_model_names_the_closest(wh, model, meant):
    line = error_line(invoke("simulate", "--policy", "fastest", "--model", model, "--warehouse", wh))
    assert line == f"Error: unknown model {model!r}; did you mean {meant}?"


@pytest.mark.slow  # the generated quarter
def test_unknown_model_with_no_close_name_lists_the_routable_ones(wh):
    line = error_line(invoke("simulate", "--policy", "fastest", "--model", "gpt-5", "--warehouse", wh))
    assert line.startswith("Error: unknown model 'gpt-5'; routable models: ") and "qwen3-32b" in line


@pytest.mark.slow  # the generated quarter
def test_misspelt_provider_names_the_closest(wh):
    res = invoke(
        "simulate",
        "--policy",
        "fastest",
        "--model",
        "deepseek-v3.2",
        "--scenario",
        "provider_down:deepinfr:2025-12-08:2025-12-15",
        "--warehouse",
        wh,
    )
    assert error_line(res) == "Error: unknown provider 'deepinfr'; did you mean deepinfra?"


@pytest.mark.slow  # the generated quarter
def test_provider_that_does_not_serve_the_model(wh):
    res = invoke(
        "simulate",
        "--policy",
        "fastest",
        "--model",
        "deepseek-v3.2",
        "--scenario",
        "provider_down:groq:2025-12-08:2025-12-15",
        "--warehouse",
        wh,
    )
    line = error_line(res)
    assert line.startswith("Error: groq does not serve deepseek-v3.2; its providers: ") and "fireworks" in line


@pytest.mark.slow  # the generated quarter
@pytest.mark.parametrize(
    ("model", "scenario", "says"),
    [
        # deepinfra lists deepseek-v3.2 from 2025-12-03 (the model is released 2025-12-01)
        (
            "deepseek-v3.2",
            "provider_down:deepinfra:2025-11-01:2025-11-08",
            "deepinfra lists deepseek-v3.2 only from 2025-12-03",
        ),
        (
            "qwen3-32b",
            "provider_down:deepinfra:2026-01-01:2026-01-08",
            "no qwen3-32b requests between 2026-01-01 00:00 and 2026-01-08 00:00",
        ),
    ],
)
def test_provider_down_that_could_change_nothing(wh, model, scenario, says):
    line = error_line(
        invoke("simulate", "--policy", "fastest", "--model", model, "--scenario", scenario, "--warehouse", wh)
    )
    assert says in line


@pytest.mark.slow  # the generated quarter
@pytest.mark.parametrize(
    ("scenario", "says"),
    [
        ("provider_down:fireworks:2025-12-15:2025-12-08", "END 2025-12-08 00:00 must be after START 2025-12-15 00:00"),
        ("provider_down:fireworks:2025-12-08:2025-12-08", "must be after START"),
        ("provider_down:fireworks:2025-12-08:2025-12-32", "END '2025-12-32' is not a date"),
        ("provider_down:fireworks:soon:2025-12-15", "START 'soon' is not a date"),
        ("provider_down:fireworks", "use provider_down:PROVIDER:START:END"),
        ("provider_down::2025-12-08:2025-12-15", "use provider_down:PROVIDER:START:END"),
        ("rate_limits_x-1", "the factor after rate_limits_x must be a number >= 0"),
        ("rate_limits_xabc", "the factor after rate_limits_x must be a number >= 0"),
        ("rate_limits_xinf", "the factor after rate_limits_x must be a number >= 0"),
        ("prices_asof:notadate", "DATE 'notadate' is not a date"),
        ("prices_asof:", "DATE '' is not a date"),
        ("banana", "unknown scenario 'banana': use observed, provider_down:PROVIDER:START:END"),
    ],
)
def test_bad_scenario(wh, scenario, says):
    line = error_line(
        invoke("simulate", "--policy", "fastest", "--model", "deepseek-v3.2", "--scenario", scenario, "--warehouse", wh)
    )
    assert says in line


@pytest.mark.slow  # the generated quarter
def test_prices_asof_before_the_model_had_two_prices(wh):
    line = error_line(
        invoke(
            "simulate",
            "--policy",
            "cheapest",
            "--model",
            "deepseek-v3.2",
            "--scenario",
            "prices_asof:2025-10-01",
            "--warehouse",
            wh,
        )
    )
    assert "deepseek-v3.2 cannot be routed at the prices of 2025-10-01" in line and "prices_asof:2025-12-0" in line


def test_unknown_policy_names_the_closest(tmp_path):
    assert (
        error_line(invoke("simulate", "--policy", "fast", "--model", "qwen3-32b", "--warehouse", tmp_path / "w.duckdb"))
        == "Error: unknown policy 'fast'; did you mean fastest?"
    )


def test_simulate_without_a_warehouse(tmp_path):
    line = error_line(
        invoke("simulate", "--policy", "fastest", "--model", "qwen3-32b", "--warehouse", tmp_path / "none.duckdb")
    )
    assert "no staged data" in line


def test_missing_option_is_one_line(tmp_path):
    assert (
        error_line(invoke("simulate", "--model", "qwen3-32b", "--warehouse", tmp_path / "w.duckdb"))
        == "Error: Missing option '--policy'."
    )


# ---------------------------------------------------------------------------------- report


@pytest.mark.slow  # the generated quarter
@pytest.mark.parametrize(
    ("period", "says"),
    [
        ("2025Q9", "is not a quarter like 2025Q4"),
        ("2025Q3", "is not in this warehouse"),
        ("Q4", "is not a quarter like 2025Q4"),
    ],
)
def test_report_period_lists_the_periods_held(wh, tmp_path, period, says):
    line = error_line(invoke("report", "--period", period, "--warehouse", wh, "--out", tmp_path / "r", "--no-pdf"))
    assert says in line and line.endswith(f"{wh} holds 2025Q4")
    assert not (tmp_path / "r").exists()


def test_report_without_a_warehouse(tmp_path):
    line = error_line(invoke("report", "--warehouse", tmp_path / "none.duckdb"))
    assert "does not exist" in line and "servicelens run" in line


def test_report_on_a_file_that_is_no_warehouse(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    assert "not a valid DuckDB database" in error_line(invoke("report", "--warehouse", tmp_path / "notes.txt"))


# ---------------------------------------------------------------------------------- run


@pytest.mark.parametrize("layout", ["empty", "not_a_drop", "unknown_files", "missing", "a_file"])
def test_run_refuses_what_is_not_a_drop_before_anything_runs(tmp_path, layout):
    raw = tmp_path / "raw"
    if layout != "missing":
        raw.mkdir() if layout != "a_file" else raw.write_text("x\n")
    if layout == "not_a_drop":
        (raw / "stuff").mkdir()
        (raw / "stuff" / "a.csv").write_text("a\n1\n")
    if layout == "unknown_files":
        (raw / "requests").mkdir()
        (raw / "requests" / "notes.txt").write_text("x\n")
    warehouse = tmp_path / "out" / "wh.duckdb"
    line = error_line(invoke("run", "--raw", raw, "--warehouse", warehouse))
    expected = {"missing": "does not exist", "a_file": "is a file"}.get(
        layout, "is not a drop: a drop has one or more dataset folders"
    )
    assert expected in line
    assert not (tmp_path / "out").exists()  # nothing run, nothing published


def test_run_refuses_a_bad_memory_limit_and_a_file_that_is_no_warehouse(tiny_drop, tmp_path):
    assert "is not a memory size" in error_line(
        invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", "--memory-limit", "lots")
    )
    (tmp_path / "notes.txt").write_text("keep me\n")
    assert "is not a DuckDB warehouse" in error_line(
        invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "notes.txt")
    )
    assert (tmp_path / "notes.txt").read_text() == "keep me\n"
    assert "is a folder" in error_line(invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path))


@pytest.mark.parametrize("name", ["run[1]", "q4*", "what?", "x{1}"])
def test_paths_with_glob_characters_are_refused_before_anything_runs(tiny_drop, tmp_path, name):
    """The record is read through glob patterns: a drop or warehouse under a folder whose name
    holds * ? [ ] { } is refused in one line (it used to fail midway in a traceback), and so is
    one reached through a link whose target has them."""
    odd = tmp_path / name
    shutil.copytree(tiny_drop, odd / "raw")
    line = error_line(invoke("run", "--raw", odd / "raw", "--warehouse", tmp_path / "out" / "w.duckdb"))
    assert "(--raw) has" in line and "in its path" in line
    line = error_line(invoke("run", "--raw", tiny_drop, "--warehouse", odd / "w.duckdb"))
    assert "(--warehouse) has" in line
    (tmp_path / "link").symlink_to(odd)
    assert "(resolved: " in error_line(
        invoke("run", "--raw", tmp_path / "link" / "raw", "--warehouse", tmp_path / "w.duckdb")
    )
    assert "(--warehouse) has" in error_line(invoke("query", "select 1", "--warehouse", odd / "w.duckdb"))
    assert not (tmp_path / "out").exists() and not list(odd.glob("w*")) and not (tmp_path / "w.duckdb").exists()


def test_run_refuses_a_bad_day_span_and_process_count(tiny_drop, tmp_path):
    assert "--processes" in error_line(
        invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", "--processes", "0")
    )
    assert "--days" in error_line(
        invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", "--days", "2025-10-05..2025-10-01")
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_run_refuses_a_mirror_url_it_cannot_open_before_anything_runs(tiny_drop, tmp_path):
    line = error_line(invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", "--mirror", "nosuch://x"))
    assert line.startswith("Error: --mirror 'nosuch://x'")
    line = error_line(
        invoke(
            "run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", env={"SERVICELENS_MIRROR": "nosuch://x"}
        )
    )
    assert line.startswith("Error: $SERVICELENS_MIRROR 'nosuch://x' is not a URL fsspec can open")
    assert not (tmp_path / "w.duckdb").exists()
    # an empty URL would be the working folder, a bare protocol no bucket: neither is taken
    assert error_line(invoke("run", "--raw", tiny_drop, "--warehouse", tmp_path / "w.duckdb", "--mirror", "")) == (
        "Error: --mirror is empty: give a URL such as s3://bucket/prefix"
    )
    assert "names no bucket or folder" in error_line(invoke("generations", "mirror", "--to", "memory://"))
    assert not (tmp_path / "w.duckdb").exists()


def test_run_reads_the_drop_from_the_environment(tmp_path):
    (tmp_path / "empty").mkdir()
    res = invoke("run", "--warehouse", tmp_path / "w.duckdb", env={"SERVICELENS_RAW_DIR": str(tmp_path / "empty")})
    assert f"{tmp_path / 'empty'} ($SERVICELENS_RAW_DIR) is not a drop" in error_line(res)


# ---------------------------------------------------------------------------------- other commands


def test_generate_onto_a_file(tmp_path):
    (tmp_path / "f").write_text("x\n")
    assert (
        error_line(invoke("generate", "--out", tmp_path / "f", "--requests", "10"))
        == f"Error: {tmp_path / 'f'} (--out) is a file; it should name a folder"
    )


def test_import_of_a_missing_path(tmp_path):
    assert (
        error_line(invoke("import", "llmperf", tmp_path / "nope", "--out", tmp_path / "drop"))
        == f"Error: no such file or folder: {tmp_path / 'nope'}"
    )


def test_unknown_command_and_option():
    assert error_line(invoke("nosuchcommand")) == "Error: No such command 'nosuchcommand'."
    assert error_line(invoke("--bogus")) == "Error: No such option '--bogus'."


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0 and res.output.strip() == f"servicelens, version {version('servicelens')}"


@pytest.mark.parametrize("command", ["run", "query", "report", "simulate"])
def test_help_shows_the_environment_defaults(command):
    res = invoke(command, "--help")
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "env var: SERVICELENS_WAREHOUSE" in text
    if command in ("run", "report"):
        assert "env var: SERVICELENS_RAW_DIR" in text


# ---------------------------------------------------------------------------------- query


def test_query_without_a_warehouse(tmp_path):
    line = error_line(invoke("query", "select 1", "--warehouse", tmp_path / "none.duckdb"))
    assert "does not exist" in line and "servicelens run" in line


@pytest.mark.slow  # the generated quarter
def test_query_takes_the_warehouse_from_the_environment(wh, tmp_path):
    res = invoke(
        "query", "select count(*) as n from staging.requests", "--format", "csv", env={"SERVICELENS_WAREHOUSE": str(wh)}
    )
    assert res.exit_code == 0 and res.output.splitlines() == ["n", "20000"], res.output
    res = invoke("query", "select 1", env={"SERVICELENS_WAREHOUSE": str(tmp_path / "none.duckdb")})
    assert "($SERVICELENS_WAREHOUSE) does not exist" in error_line(res)


@pytest.mark.slow  # the generated quarter
def test_query_errors_are_one_line(wh):
    assert "no_such_table does not exist" in error_line(
        invoke("query", "select * from no_such_table", "--warehouse", wh)
    )
    assert "syntax error" in error_line(invoke("query", "selec 1", "--warehouse", wh))


@pytest.mark.slow  # the generated quarter
def test_query_reads_the_views_over_the_warehouse_parquet(wh):
    res = invoke("query", "select policy from marts.routing_decisions limit 1", "--warehouse", wh, "--format", "csv")
    assert res.exit_code == 0 and res.output.splitlines()[0] == "policy" and len(res.output.splitlines()) == 2, (
        res.output
    )


@pytest.mark.slow  # the generated quarter
@pytest.mark.parametrize(
    "sql",
    [
        "copy (select 1) to '{tmp}/x.csv'",
        "copy (select 1) to '{parquet}/x.csv'",  # the one folder left readable is not writable either
        "explain analyze copy (select 1) to '{parquet}/x.csv'",
        "prepare p as copy (select 1) to '{parquet}/x.csv'; execute p",
        "export database '{tmp}/export'",
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('{tmp}/secret.txt')",
        "select * from glob('/etc/*')",
        "attach '{tmp}/other.duckdb' as other",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "reset enable_external_access",
        "set allowed_directories = ['/']",
        "set lock_configuration = false",
    ],
)
def test_query_cannot_touch_the_file_system(wh, tmp_path, sql):
    (tmp_path / "secret.txt").write_text("secret\n")
    sql = sql.format(tmp=tmp_path, parquet=parquet_root(wh))
    line = error_line(invoke("query", sql, "--warehouse", wh))
    assert "--allow-files" in line
    assert (
        not (tmp_path / "x.csv").exists()
        and not (parquet_root(wh) / "x.csv").exists()
        and not (tmp_path / "export").exists()
    )


@pytest.mark.slow  # the generated quarter
def test_allow_files_lifts_the_sandbox(wh, tmp_path):
    res = invoke("query", f"copy (select 42 as n) to '{tmp_path}/x.csv'", "--warehouse", wh, "--allow-files")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "x.csv").read_text().split() == ["n", "42"]
    res = invoke(
        "query", f"select * from read_csv('{tmp_path}/x.csv')", "--warehouse", wh, "--allow-files", "--format", "csv"
    )
    assert res.exit_code == 0 and res.output.split() == ["n", "42"]


# ---------------------------------------------------------------------------------- README examples


def readme_simulate_examples() -> list[list[str]]:
    text = (REPO_ROOT / "README.md").read_text()
    return [line.split()[1:] for line in text.splitlines() if line.startswith("servicelens simulate ")]


def printed_numbers(output: str) -> list[str]:
    """The numbers of the result lines (those starting with a period), as printed."""
    return [
        n
        for line in output.splitlines()
        if re.match(r"^\d{4}(Q\d|-\d\d) ", line)
        for n in re.findall(r"[-+]?[\d,]+\.?\d*", line)
    ]


def without(args: list[str], option: str) -> list[str]:
    i = args.index(option)
    return args[:i] + args[i + 2 :]


@pytest.mark.slow
def test_every_readme_scenario_example_changes_the_result(replay_wh, tmp_path):
    examples = [args for args in readme_simulate_examples() if "--scenario" in args]
    kinds = {
        args[args.index("--scenario") + 1].split(":")[0].rstrip("0123456789.").removesuffix("_x") for args in examples
    }
    assert kinds == {"provider_down", "rate_limits", "prices_asof"}, examples
    fastest_down = [
        a
        for a in examples
        if a[a.index("--scenario") + 1].startswith("provider_down:") and a[a.index("--policy") + 1] == "fastest"
    ]
    assert fastest_down, "the README shows provider_down with the fastest policy"
    for args in examples:
        if "--out" in args:
            args = without(args, "--out") + ["--out", str(tmp_path / "whatif")]
        with_scenario = invoke(*args, "--warehouse", replay_wh)
        observed = invoke(*without(args, "--scenario"), "--warehouse", replay_wh)
        assert with_scenario.exit_code == 0 and observed.exit_code == 0, with_scenario.output + observed.output
        changed, base = printed_numbers(with_scenario.output), printed_numbers(observed.output)
        assert changed and base, with_scenario.output
        assert changed != base, f"{' '.join(args)} prints the same numbers as without its scenario:\n{observed.output}"


def test_a_drop_where_the_warehouse_keeps_its_parquet_is_refused_and_left_in_place(tiny_drop, tmp_path):
    # the warehouse data/wh.duckdb keeps its Parquet link at data/wh: a drop there would be taken
    # for a warehouse from before generations and moved into the store
    drop = tmp_path / "wh"
    shutil.copytree(tiny_drop, drop)
    before = sorted(p.relative_to(drop).as_posix() for p in drop.rglob("*"))
    res = CliRunner().invoke(main, ["run", "--raw", str(drop), "--warehouse", str(tmp_path / "wh.duckdb")])
    assert res.exit_code != 0
    assert "lies where the warehouse keeps its Parquet" in res.output
    assert drop.is_dir() and not drop.is_symlink()
    assert sorted(p.relative_to(drop).as_posix() for p in drop.rglob("*")) == before
    assert not (tmp_path / "wh.duckdb").exists()
