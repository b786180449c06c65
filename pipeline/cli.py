"""The `servicelens` command: generate a sample drop, run the pipeline, query the warehouse."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from pipeline.lib.importers import FORMATS as IMPORT_FORMATS
from pipeline.paths import DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE


@click.group()
def main() -> None:
    """servicelens: measure the service layer of hosted open-weight LLM APIs."""


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_RAW_DIR, show_default=True, help="Drop folder to write.")
@click.option("--requests", "n_requests", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Sampled request rows.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--bad-row-fraction", type=click.FloatRange(0, 0.5), default=0.0005, show_default=True, help="Share of request rows planted with a defect (0: a clean drop).")
def generate(out_dir: Path, n_requests: int, seed: int, bad_row_fraction: float) -> None:
    """Write a realistic sample quarter (2025-10-01..2025-12-31) as a contract drop."""
    from tqdm import tqdm

    from pipeline.lib.generate import generate_drop

    started = time.perf_counter()
    with tqdm(total=n_requests, unit="req", unit_scale=True, desc="generating requests", disable=None) as bar:
        manifest = generate_drop(out_dir, n_requests=n_requests, seed=seed, bad_row_fraction=bad_row_fraction, progress=bar.update)
    rows = manifest.get("rows", {})
    click.echo(f"wrote {out_dir} in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))


@main.command()
@click.option("--raw", "raw_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=DEFAULT_RAW_DIR, show_default=True, help="Contract drop folder.")
@click.option("--warehouse", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_WAREHOUSE, show_default=True, help="DuckDB file to publish (Parquet goes beside it).")
@click.option("--memory-limit", default="3GB", show_default=True, help="DuckDB memory cap per asset.")
def run(raw_dir: Path, warehouse: Path, memory_limit: str) -> None:
    """Ingest a drop and publish the warehouse, through the Dagster job `servicelens_all`."""
    from pipeline.lib.runner import run_pipeline

    ok = run_pipeline(raw_dir.resolve(), warehouse.resolve(), memory_limit=memory_limit, echo=click.echo)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("sql")
@click.option("--warehouse", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=DEFAULT_WAREHOUSE, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--max-rows", type=int, default=100, show_default=True, help="Rows shown in table format.")
def query(sql: str, warehouse: Path, fmt: str, max_rows: int) -> None:
    """Run one SQL query against the warehouse (read-only), e.g.
    servicelens query "select * from marts.ingest_audit"."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        raise click.ClickException(f"cannot open {warehouse}: {exc}") from exc
    try:
        rel = con.sql(sql)
        if rel is None:
            return
        if fmt == "table":
            rel.show(max_rows=max_rows, max_width=int(os.environ.get("COLUMNS", "200")))
        else:
            df = rel.pl()
            click.echo(df.write_csv() if fmt == "csv" else df.write_json(), nl=False)
    except duckdb.Error as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        con.close()


@main.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(IMPORT_FORMATS)))
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="Drop folder to write into (created if absent).")
def import_results(fmt: str, paths: tuple[Path, ...], out_dir: Path) -> None:
    """Convert public benchmark results (FORMAT) into contract datasets in a drop, e.g.
    servicelens import llmperf ../shared/data/real/llmperf-leaderboard/raw_data --out data/llmperf.
    Rows that cannot be mapped are listed with file, row and reason in DROP/_import_report_FORMAT.csv."""
    from pipeline.lib.importers import run_import

    try:
        report = run_import(fmt, list(paths), out_dir)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{fmt}: {report.rows_read:,} rows read -> {out_dir}")
    for path in report.files_written:
        rel = path.relative_to(out_dir)
        dataset = rel.parts[0] if len(rel.parts) > 1 else None
        if dataset:
            click.echo(f"  {dataset:<16} {report.rows_written[dataset]:>10,}  {rel}")
    file_issues = len(report.issues) - report.rows_reported
    extra = f" (+ {file_issues} file-level issue(s))" if file_issues else ""
    click.echo(f"  {'reported':<16} {report.rows_reported:>10,}  {report.report_file.relative_to(out_dir)}{extra}")


if __name__ == "__main__":
    main()
