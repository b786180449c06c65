"""Importers: public benchmark formats -> a contract drop (../shared/spec/data-contract.md).

An importer reads one foreign format and writes the contract datasets it can fill into a
drop folder, plus `_import_report_<format>.csv` (ignored by ingestion: it starts with `_`).
Every source row is either written or listed in the report with its file, row and reason;
nothing is dropped silently. Validation against the contract stays with staging: an
importer reports only what it cannot map at all (a missing or non-numeric value it needs).

Adding a format is one entry in `FORMATS`: name -> "module:function", where the function
takes (paths: list[Path], out: Path) and returns an `ImportReport`. The entry is imported
only when used, so the CLI lists formats without loading their dependencies.
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars is imported by the importers themselves: the CLI lists formats without it
    import polars as pl

FORMATS: dict[str, str] = {
    "llmperf": "pipeline.lib.importers.llmperf:import_llmperf",
    "litellm-prices": "pipeline.lib.importers.litellm_prices:import_litellm_prices",
    "genai-prices": "pipeline.lib.importers.genai_prices:import_genai_prices",
    "litellm-spend-logs": "pipeline.lib.importers.litellm_spend_logs:import_litellm_spend_logs",
    "openrouter-activity": "pipeline.lib.importers.openrouter_activity:import_openrouter_activity",
    "azure-llm-trace": "pipeline.lib.importers.azure_trace:import_azure_trace",
    "burstgpt": "pipeline.lib.importers.burstgpt:import_burstgpt",
    "mooncake": "pipeline.lib.importers.mooncake:import_mooncake",
    "servegen": "pipeline.lib.importers.servegen:import_servegen",
}

REPORT_COLUMNS = ("file", "row", "reason")


@dataclass(frozen=True)
class ImportIssue:
    """A source row (or, with row None, a whole file) that was not written."""

    file: str
    row: int | None  # 1-based row of the source (JSON array index + 1); None: the file
    reason: str


@dataclass
class ImportReport:
    format: str
    out: Path
    rows_read: int = 0  # source rows that could be counted (a file that cannot be parsed has none)
    rows_written: dict[str, int] = field(default_factory=dict)  # dataset -> rows written
    files_written: list[Path] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)

    @property
    def rows_reported(self) -> int:
        return sum(i.row is not None for i in self.issues)

    @property
    def report_file(self) -> Path:
        return report_path(self.out, self.format)


def contract_schema(dataset: str, **extra: pl.DataType) -> dict[str, pl.DataType]:
    """The polars schema of a contract dataset, in contract order (from pipeline/lib/contract.py,
    so an importer writes exactly what staging reads), plus the importer's `extra` columns."""
    import polars as pl

    from pipeline.lib.contract import BOOL, DATASETS, DATE, FLOAT, INT, STR, TS

    types = {STR: pl.String, INT: pl.Int64, FLOAT: pl.Float64, BOOL: pl.Boolean, TS: pl.Datetime("us"), DATE: pl.Date}
    return {c.name: types[c.type] for c in DATASETS[dataset].columns} | extra


def canonical_model_rows(models: Iterable[str]) -> pl.DataFrame:
    """The contract models rows of canonical model ids (aliases.CANONICAL), sorted by id."""
    import polars as pl

    from pipeline.lib.importers.aliases import CANONICAL

    return pl.DataFrame(
        [
            {
                "model": m,
                "family": CANONICAL[m].family,
                "developer": CANONICAL[m].developer,
                "release_date": CANONICAL[m].release_date,
                "successor_of": CANONICAL[m].successor_of,
                "official_provider": CANONICAL[m].official_provider,
            }
            for m in sorted(models)
        ],
        schema=contract_schema("models"),
    )


def report_path(out: Path, fmt: str) -> Path:
    return Path(out) / f"_import_report_{fmt}.csv"


def get_importer(fmt: str) -> Callable[[list[Path], Path], ImportReport]:
    try:
        target = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown import format {fmt!r}; known: {', '.join(sorted(FORMATS))}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def importer_options(fmt: str) -> dict[str, object]:
    """The keyword options a format takes (name -> default), e.g. servegen's seed and sample_rate."""
    import inspect

    params = inspect.signature(get_importer(fmt)).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def parse_options(fmt: str, pairs: list[str]) -> dict[str, object]:
    """`["seed=3", "epoch=2025-03-01T00:00:00"]` -> typed keyword options for `fmt`, each value
    parsed as its default's type. ValueError naming the known options on a bad pair."""
    import datetime as dt

    known = importer_options(fmt)
    listed = ", ".join(f"{k} (default {v})" for k, v in known.items()) or "none"
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise ValueError(f"{fmt} takes no option {pair!r}; its options: {listed}")
        default = known[key]
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                value: object = text.lower() in ("true", "1", "yes")
            elif isinstance(default, dt.datetime):
                value = dt.datetime.fromisoformat(text)
            elif isinstance(default, (int, float)):
                value = type(default)(text)
            else:
                value = text
        except ValueError:
            raise ValueError(f"{fmt} option {key}: cannot read {text!r} as {type(default).__name__}") from None
        options[key] = value
    return options


def run_import(fmt: str, paths: list[Path], out: Path, options: dict[str, object] | None = None) -> ImportReport:
    return get_importer(fmt)([Path(p) for p in paths], Path(out), **(options or {}))


def check_paths(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"no such file or folder: {', '.join(missing)}")


def write_table(df: pl.DataFrame, out: Path, dataset: str, name: str) -> Path:
    """Write `df` as out/<dataset>/<name>.parquet (temporary file renamed into place)."""
    target = Path(out) / dataset / f"{name}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    df.write_parquet(tmp)
    tmp.replace(target)
    return target


def write_report(report: ImportReport) -> Path:
    """The issues as CSV (header only when there are none, so 'nothing reported' is visible)."""
    path = report.report_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REPORT_COLUMNS)
        for i in report.issues:
            w.writerow((i.file, "" if i.row is None else i.row, i.reason))
    tmp.replace(path)
    return path


def write_drop(report: ImportReport, out_name: str, tables: dict[str, pl.DataFrame]) -> ImportReport:
    """Write each table as out/<dataset>/<out_name>.parquet (in the order given), then the report."""
    for dataset, df in tables.items():
        report.files_written.append(write_table(df, report.out, dataset, out_name))
        report.rows_written[dataset] = df.height
    report.files_written.append(write_report(report))
    return report


def read_json(path: Path, kind: type, expected: str, report: ImportReport):
    """The JSON document of `path` when it is a `kind` (dict, list); else None, with a file-level
    malformed_json issue (the parser's message, or `expected ...` naming what it should be)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.issues.append(ImportIssue(str(path), None, f"malformed_json: {exc}"))
        return None
    if not isinstance(doc, kind):
        report.issues.append(ImportIssue(str(path), None, f"malformed_json: expected {expected}"))
        return None
    return doc


def reason_expr(rules: Iterable[tuple[pl.Expr, str | pl.Expr]], prefix: str | None = None) -> pl.Expr:
    """All broken rules of a row, '; '-separated after `prefix` (a reason of the whole file),
    null when none (like staging's reasons). A rule's text may be an expression (to name the
    offending value)."""
    import polars as pl

    parts = ([pl.lit(prefix)] if prefix else []) + [
        pl.when(c.fill_null(False)).then(t if isinstance(t, pl.Expr) else pl.lit(t)) for c, t in rules
    ]
    r = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(r != "").then(r)
