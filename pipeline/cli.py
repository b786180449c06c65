"""The `servicelens` command: generate a sample drop, run the pipeline, query the warehouse."""

from __future__ import annotations

import os
import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click
from click.exceptions import NoArgsIsHelpError

from pipeline.cli_export import export
from pipeline.cli_generations import generations
from pipeline.cli_options import checked, mirror_url_option, out_option, raw_option, warehouse_option
from pipeline.cli_simulate import simulate
from pipeline.cli_tables import tables
from pipeline.lib import cli_checks, query_sandbox
from pipeline.lib.cli_checks import Mistake
from pipeline.lib.importers import FORMATS as IMPORT_FORMATS
from pipeline.paths import DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE


@contextmanager
def _one_line_errors():
    """Any click error as one line `Error: ...` (usage errors would print the usage and a hint
    first; DuckDB's messages span lines), with its exit status (2 for usage, else 1)."""
    try:
        yield
    except NoArgsIsHelpError:  # a bare group name shows its help
        raise
    except click.ClickException as exc:
        if isinstance(exc, Mistake) and "\n" not in exc.message:
            raise
        one = Mistake(cli_checks.one_line(exc.format_message()))
        one.exit_code = exc.exit_code
        raise one from exc


class Servicelens(click.Group):
    """The root command: every mistake in it or in any command or group below it ends in one
    line and a non-zero exit (see _one_line_errors)."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _one_line_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx):
        with _one_line_errors():
            return super().invoke(ctx)


@click.group(cls=Servicelens)
@click.version_option(package_name="servicelens", prog_name="servicelens")
def main() -> None:
    """servicelens: measure the service layer of hosted open-weight LLM APIs."""


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    callback=checked(cli_checks.folder),
    default=DEFAULT_RAW_DIR,
    show_default=True,
    help="Drop folder to write.",
)
@click.option(
    "--requests",
    "n_requests",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Sampled request rows.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--bad-row-fraction",
    type=click.FloatRange(0, 0.5),
    default=0.0005,
    show_default=True,
    help="Share of request rows planted with a defect (0: a clean drop).",
)
@click.option(
    "--shifts",
    # generate.shifts.MODES, spelled out so that --help does not import the generator
    type=click.Choice(["sample", "random", "none"]),
    default="sample",
    show_default=True,
    help="Planted service shifts (latency, throughput, availability, rate-limit and tool-call changes): "
    "the sample world's, random ones drawn from the seed (calibration worlds), or none. "
    "The manifest's planted_changes lists them.",
)
@click.option(
    "--best-providers",
    # generate.best.MODES
    type=click.Choice(["none", "planted"]),
    default="none",
    show_default=True,
    help="planted: one model's cheapest provider depends on the traffic (short-context chat vs long-context), "
    "a known truth for the learned recommendations; the manifest's planted_best_providers lists it.",
)
@click.option(
    "--capacity",
    # generate.capacity.MODES
    type=click.Choice(["none", "planted"]),
    default="none",
    show_default=True,
    help="planted: deepinfra refuses more of qwen3-32b's requests the more it is sent in an hour, a known truth "
    "for the capacity model (marts.provider_capacity); the manifest's planted_capacity lists it.",
)
def generate(
    out_dir: Path,
    n_requests: int,
    seed: int,
    bad_row_fraction: float,
    shifts: str,
    best_providers: str,
    capacity: str,
) -> None:
    """Write a realistic sample quarter (2025-10-01..2025-12-31) as a contract drop."""
    from tqdm import tqdm

    from pipeline.lib.generate import generate_drop

    started = time.perf_counter()
    try:
        with tqdm(total=n_requests, unit="req", unit_scale=True, desc="generating requests", disable=None) as bar:
            manifest = generate_drop(
                out_dir,
                n_requests=n_requests,
                seed=seed,
                bad_row_fraction=bad_row_fraction,
                progress=bar.update,
                shifts=shifts,
                best_providers=best_providers,
                capacity=capacity,
            )
    except OSError as exc:
        raise Mistake(f"cannot write the drop to {out_dir}: {exc.strerror or exc}") from None
    rows = manifest.get("rows", {})
    click.echo(
        f"wrote {out_dir} in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in rows.items())
    )


@main.command()
@raw_option(
    "Contract drop folder.", check=cli_checks.drop
)  # checked before Dagster starts: a folder that is not a drop runs nothing
@warehouse_option("DuckDB file to publish (Parquet goes beside it).", check=cli_checks.replaceable_warehouse)
@click.option(
    "--memory-limit",
    default="3GB",
    show_default=True,
    help="DuckDB memory cap per asset.",
    callback=checked(cli_checks.memory_limit),
)
@click.option("--full", is_flag=True, help="Rebuild every day, not only the days whose inputs changed.")
@click.option(
    "--days",
    "days",
    default=None,
    metavar="FROM..TO",
    callback=checked(cli_checks.day_span),
    help="Also rebuild these days (a backfill), e.g. 2025-10-01..2025-10-31 or one day.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Run the build's steps on Dagster's multiprocess executor, this many at once (1: in this process).",
)
@mirror_url_option(
    "--mirror",
    "mirror_to",
    envvar="SERVICELENS_MIRROR",
    help="Then mirror the published generation to this fsspec URL (s3://bucket/prefix), uploading only the files "
    "it does not share with the generation mirrored before (`servicelens generations mirror`).",
)
def run(
    raw_dir: Path,
    warehouse: Path,
    memory_limit: str,
    full: bool,
    days: tuple[str, str] | None,
    processes: int,
    mirror_to: str | None,
) -> None:
    """Bring the warehouse up to the drop and publish a new generation: the Dagster jobs
    `servicelens_prepare` (inventory, dimensions, each new file read once), then
    `servicelens_build` for the days whose inputs changed, the marts, the report and the publish.
    With --mirror, then copy that generation to object storage."""
    from pipeline.lib.runner import run_pipeline

    # absolute, symlinks not followed: the warehouse path is a link into its current generation
    ok = run_pipeline(
        raw_dir.resolve(),
        Path(os.path.abspath(warehouse)),
        memory_limit=memory_limit,
        echo=click.echo,
        full=full,
        days=days,
        processes=processes,
    )
    if ok and mirror_to:
        _mirror_after_run(Path(os.path.abspath(warehouse)), mirror_to)
    sys.exit(0 if ok else 1)


def _mirror_after_run(warehouse: Path, url: str) -> None:
    """`run --mirror`: the generation just published, to object storage. It is published locally
    whatever happens here, so any failure (a network or credentials error arrives as the store's
    own exception type) is one line that says what the URL serves now and how to try again."""
    from pipeline.lib.generations import Store
    from pipeline.lib.generations.remote import mirror, remote_generation

    started = time.perf_counter()
    store = Store(warehouse)
    try:
        name = mirror(store, url, log=click.echo)
    except Exception as exc:  # noqa: BLE001 (see the docstring)
        try:
            serves = f"it serves generation {remote_generation(url)}"
        except Exception:  # noqa: BLE001
            serves = "what it serves is unknown"
        raise click.ClickException(
            f"published {store.current()} locally, but the mirror to {url} failed "
            f"({type(exc).__name__}: {cli_checks.one_line(str(exc))}); {serves}. Try again with "
            f"`servicelens generations mirror --to {shlex.quote(str(url))} --warehouse {shlex.quote(str(warehouse))}`"
        ) from exc
    click.echo(f"{url} now serves generation {name} ({time.perf_counter() - started:.1f} s)")


def _warehouse_unless_remote(path: Path, source: str) -> Path:
    """--warehouse must exist, unless --remote (parsed first: eager) names what to query."""
    if click.get_current_context().params.get("remote"):
        return path
    return cli_checks.existing_warehouse(path, source)


@main.command()
@click.argument("sql")
@warehouse_option("Warehouse to query.", check=_warehouse_unless_remote)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--max-rows", type=int, default=100, show_default=True, help="Rows shown in table format.")
@click.option(
    "--allow-files",
    is_flag=True,
    help="Let the query reach other files (read_csv, COPY ... TO, ATTACH, INSTALL/LOAD). Without it the query "
    "reads only the warehouse and the Parquet its views read, and writes nothing.",
)
@click.option(
    "--remote",
    metavar="URL",
    default=None,
    is_eager=True,
    help="Query the generation mirrored at this fsspec URL (s3://bucket/prefix; `servicelens generations mirror`) "
    "instead of the warehouse file: its staged tables and marts as views over the Parquet there.",
)
def query(sql: str, warehouse: Path, fmt: str, max_rows: int, allow_files: bool, remote: str | None) -> None:
    """Run one SQL query against the warehouse (read-only), e.g.
    servicelens query "select * from marts.ingest_audit"."""
    import duckdb

    con = (
        query_sandbox.remote_query_connection(remote, sql, allow_files)
        if remote
        else query_sandbox.query_connection(warehouse, sql, allow_files)
    )
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
        raise query_sandbox.query_error(exc, allow_files) from exc
    finally:
        con.close()


@main.command()
@click.option(
    "--period",
    default=None,
    help="Quarter to report, e.g. 2025Q4.  [default: the latest quarter with data for most service objects]",
)
@warehouse_option("Warehouse to report on.", check=cli_checks.existing_warehouse)
@out_option(
    "Folder to write.  [default: reports/<period>/ for the default warehouse, else reports/<period>/ beside the warehouse file]"
)
@raw_option(
    "The drop the warehouse was built from, read only to state its provenance (a generator manifest that matches "
    "the ingest audit).  [default: data/raw for the default warehouse]",
    default=None,
)
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also lay out the report as a PDF.")
def report(period: str | None, warehouse: Path, out_dir: Path | None, raw_dir: Path | None, pdf: bool) -> None:
    """Write the quarterly report: one self-contained HTML file, a PNG per chart and a PDF,
    every figure read from the warehouse (read-only), e.g. servicelens report --period 2025Q4."""
    import duckdb

    from pipeline.lib.report import build_report
    from pipeline.lib.report.progress import StageBars

    cli_checks.report_period(warehouse, period)
    if raw_dir is None and warehouse.resolve() == DEFAULT_WAREHOUSE.resolve() and DEFAULT_RAW_DIR.is_dir():
        raw_dir = DEFAULT_RAW_DIR
    started = time.perf_counter()
    bars = StageBars(
        {
            "loading": "reading the marts",
            "charts": "rendering charts (SVG, PNG)",
            "html": "writing HTML",
            "pdf": "laying out the PDF",
        }
    )
    try:
        result = build_report(warehouse, period=period, out_dir=out_dir, raw_dir=raw_dir, pdf=pdf, progress=bars)
    except (ValueError, FileNotFoundError, duckdb.Error) as exc:
        raise Mistake(cli_checks.one_line(exc)) from exc
    finally:
        bars.close()
    click.echo(
        f"report for {result.period}"
        + (f" (changes vs {result.previous})" if result.previous else "")
        + f" in {time.perf_counter() - started:.1f} s:"
    )
    click.echo(f"  html    {result.html}")
    if result.pdf:
        click.echo(f"  pdf     {result.pdf}")
    click.echo(f"  charts  {len(result.pngs)} PNG in {result.out_dir / 'charts'}")
    if result.missing_tables:
        click.echo("  not in this warehouse (noted in the report): " + ", ".join(result.missing_tables))
    if result.pdf_error:
        raise click.ClickException(result.pdf_error)


@main.command("import")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(IMPORT_FORMATS)))
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    callback=checked(cli_checks.folder),
    help="Drop folder to write into (created if absent).",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="A format's option, e.g. --set seed=3 --set sample_rate=0.05 (servegen), --set epoch=2025-03-01T00:00:00 "
    "(mooncake), --set utc_offset_hours=0 (burstgpt); repeatable.",
)
def import_results(fmt: str, paths: tuple[Path, ...], out_dir: Path, settings: tuple[str, ...]) -> None:
    """Convert public benchmark results (FORMAT) into contract datasets in a drop, e.g.
    servicelens import llmperf ../shared/data/real/llmperf-leaderboard/raw_data --out data/llmperf.
    Rows that cannot be mapped are listed with file, row and reason in DROP/_import_report_FORMAT.csv."""
    from pipeline.lib.importers import parse_options, run_import

    try:
        report = run_import(fmt, list(paths), out_dir, parse_options(fmt, list(settings)))
    except (OSError, ValueError) as exc:  # a missing or unreadable PATH, an unwritable DROP, a bad --set
        raise Mistake(cli_checks.one_line(exc)) from exc
    click.echo(f"{fmt}: {report.rows_read:,} rows read -> {out_dir}")
    for path in report.files_written:
        rel = path.relative_to(out_dir)
        dataset = rel.parts[0] if len(rel.parts) > 1 else None
        if dataset:
            click.echo(f"  {dataset:<16} {report.rows_written[dataset]:>10,}  {rel}")
    file_issues = len(report.issues) - report.rows_reported
    extra = f" (+ {file_issues} file-level issue(s))" if file_issues else ""
    click.echo(f"  {'reported':<16} {report.rows_reported:>10,}  {report.report_file.relative_to(out_dir)}{extra}")


main.add_command(export)
main.add_command(generations)
main.add_command(simulate)
main.add_command(tables)


if __name__ == "__main__":
    main()
