"""Demand marts: the daily demand aggregate, family shares, concentration and Lorenz curves."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.lib.concentration import concentration, lorenz
from pipeline.lib.ingest import connect, parquet_glob
from pipeline.paths import marts_file, staging_dir
from pipeline.sql import load_sql

LEVELS = ("family", "model", "provider")
MEASURES = ("requests", "tokens")


def core_file(root: Path, name: str) -> Path:
    return Path(root) / "core" / f"{name}.parquet"


def _replace(tmp: Path, out: Path) -> None:
    os.replace(tmp, out)


def _tmp_for(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}")


def build_demand_daily(root: Path) -> int:
    """core/core_demand__daily.parquet from the staged requests and models; returns rows."""
    requests = parquet_glob(staging_dir(root, "requests"))
    models = parquet_glob(staging_dir(root, "models"))
    if requests is None or models is None:
        raise FileNotFoundError(f"staged requests/models missing under {root}: materialize stg_requests and stg_models first")
    out = core_file(root, "core_demand__daily")
    tmp = _tmp_for(out)
    con = connect()
    try:
        con.execute(
            f"copy ({load_sql('core/core_demand__daily')}) to $out (format parquet)",
            {"requests": requests, "models": models, "out": str(tmp)},
        )
        n = con.execute("select count(*) from read_parquet($p)", {"p": str(tmp)}).fetchone()[0]
    finally:
        con.close()
    _replace(tmp, out)
    return int(n)


def build_family_demand(root: Path) -> pl.DataFrame:
    out = marts_file(root, "family_demand")
    tmp = _tmp_for(out)
    con = connect()
    try:
        con.execute(
            f"copy ({load_sql('marts/family_demand')}) to $out (format parquet)",
            {"daily": str(core_file(root, "core_demand__daily")), "out": str(tmp)},
        )
        df = con.execute("select * from read_parquet($p)", {"p": str(tmp)}).pl()
    finally:
        con.close()
    _replace(tmp, out)
    return df


def with_periods(daily: pl.DataFrame) -> pl.DataFrame:
    """Each daily row once per period it belongs to: its quarter and its month."""
    d = daily.with_columns(pl.col("date").cast(pl.Date))
    quarter = d.with_columns(
        period=pl.col("date").dt.year().cast(pl.String) + "Q" + pl.col("date").dt.quarter().cast(pl.String),
        period_type=pl.lit("quarter"),
    )
    month = d.with_columns(period=pl.col("date").dt.strftime("%Y-%m"), period_type=pl.lit("month"))
    return pl.concat([quarter, month])


def build_concentration(root: Path, n_boot: int = 1000, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/concentration and marts/concentration_lorenz for every period, level and measure."""
    daily = pl.read_parquet(core_file(root, "core_demand__daily"))
    periods = with_periods(daily)
    rows, curves = [], []
    for (period, period_type), part in periods.group_by(["period", "period_type"], maintain_order=True):
        for level in LEVELS:
            for measure in MEASURES:
                # days x units matrix of demand; a unit with no demand that day is 0
                wide = (
                    part.group_by(["date", level])
                    .agg(pl.col(measure).sum())
                    .pivot(on=level, index="date", values=measure)
                    .fill_null(0.0)
                    .sort("date")
                )
                units = [c for c in wide.columns if c != "date"]
                matrix = wide.select(units).to_numpy()
                c = concentration(matrix, n_boot=n_boot, seed=seed)
                rows.append(
                    {"period": period, "period_type": period_type, "level": level, "measure": measure,
                     "n_days": matrix.shape[0], **c.__dict__}
                )
                totals = matrix.sum(axis=0)
                keep = totals > 0
                order = np.argsort(totals[keep], kind="stable")
                names = np.array(units)[keep][order]
                unit_share, demand_share = lorenz(totals[keep])
                curves.append(
                    pl.DataFrame(
                        {
                            "period": period, "period_type": period_type, "level": level, "measure": measure,
                            "point": np.arange(unit_share.size),
                            "unit": [None, *names.tolist()],
                            "unit_share": unit_share,
                            "demand_share": demand_share,
                        },
                        schema_overrides={"unit": pl.String},
                    )
                )
    conc = pl.DataFrame(rows).sort(["period_type", "period", "level", "measure"], descending=[True, False, False, False])
    curve = pl.concat(curves)
    for name, df in (("concentration", conc), ("concentration_lorenz", curve)):
        out = marts_file(root, name)
        tmp = _tmp_for(out)
        df.write_parquet(tmp)
        _replace(tmp, out)
    return conc, curve


def build_tokens_monthly(root: Path) -> int:
    """core/core_tokens__monthly.parquet: weighted token-count distribution per month and application."""
    requests = parquet_glob(staging_dir(root, "requests"))
    if requests is None:
        raise FileNotFoundError(f"staged requests missing under {root}: materialize stg_requests first")
    out = core_file(root, "core_tokens__monthly")
    tmp = _tmp_for(out)
    con = connect()
    try:
        con.execute(f"copy ({load_sql('core/core_tokens__monthly')}) to $out (format parquet)", {"requests": requests, "out": str(tmp)})
        n = con.execute("select count(*) from read_parquet($p)", {"p": str(tmp)}).fetchone()[0]
    finally:
        con.close()
    _replace(tmp, out)
    return int(n)


def build_task_regimes(root: Path) -> tuple[pl.DataFrame, int]:
    """marts/task_regimes and marts/task_regimes_histogram; returns the regimes and histogram rows."""
    from pipeline.lib.regimes import rule_params

    regimes_out, hist_out = marts_file(root, "task_regimes"), marts_file(root, "task_regimes_histogram")
    t1, t2 = _tmp_for(regimes_out), _tmp_for(hist_out)
    con = connect()
    try:
        con.execute(
            f"copy ({load_sql('marts/task_regimes')}) to $out (format parquet)",
            {"tokens": str(core_file(root, "core_tokens__monthly")), "out": str(t1), **rule_params()},
        )
        con.execute(
            f"copy ({load_sql('marts/task_regimes_histogram')}) to $out (format parquet)",
            {"requests": parquet_glob(staging_dir(root, "requests")), "out": str(t2)},
        )
        regimes = con.execute("select * from read_parquet($p)", {"p": str(t1)}).pl()
        n_hist = con.execute("select count(*) from read_parquet($p)", {"p": str(t2)}).fetchone()[0]
    finally:
        con.close()
    _replace(t1, regimes_out)
    _replace(t2, hist_out)
    return regimes, int(n_hist)


INERTIA_DAYS_BEFORE = 14
INERTIA_DAYS_AFTER = 60


def build_version_inertia(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/version_inertia (daily decay per successor pair) and marts/version_inertia_summary."""
    models = parquet_glob(staging_dir(root, "models"))
    daily = str(core_file(root, "core_demand__daily"))
    out, out_s = marts_file(root, "version_inertia"), marts_file(root, "version_inertia_summary")
    t1, t2 = _tmp_for(out), _tmp_for(out_s)
    con = connect()
    try:
        con.execute(
            f"copy ({load_sql('marts/version_inertia')}) to $out (format parquet)",
            {"daily": daily, "models": models, "before": INERTIA_DAYS_BEFORE, "after": INERTIA_DAYS_AFTER, "out": str(t1)},
        )
        con.execute(
            f"copy ({load_sql('marts/version_inertia_summary')}) to $out (format parquet)",
            {"daily": daily, "models": models, "inertia": str(t1), "out": str(t2)},
        )
        inertia = con.execute("select * from read_parquet($p)", {"p": str(t1)}).pl()
        summary = con.execute("select * from read_parquet($p)", {"p": str(t2)}).pl()
    finally:
        con.close()
    _replace(t1, out)
    _replace(t2, out_s)
    return inertia, summary


def build_supply_use(root: Path, n_boot: int = 1000, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """marts/supply_use (per period and model) and marts/supply_use_summary (per period: the
    rank correlation between listing breadth and demand share across models, with its interval)."""
    from pipeline.lib.stats import spearman_ci

    out, out_s = marts_file(root, "supply_use"), marts_file(root, "supply_use_summary")
    t1 = _tmp_for(out)
    con = connect()
    try:
        con.execute(
            f"copy ({load_sql('marts/supply_use')}) to $out (format parquet)",
            {
                "daily": str(core_file(root, "core_demand__daily")),
                "endpoints": parquet_glob(staging_dir(root, "endpoints")),
                "models": parquet_glob(staging_dir(root, "models")),
                "out": str(t1),
            },
        )
        supply = con.execute("select * from read_parquet($p)", {"p": str(t1)}).pl()
    finally:
        con.close()
    rows = []
    for (period, period_type), part in supply.group_by(["period", "period_type"], maintain_order=True):
        rho, lo, hi = spearman_ci(part["listing_breadth"].to_numpy(), part["demand_share"].to_numpy(), n_boot=n_boot, seed=seed)
        rows.append({"period": period, "period_type": period_type, "n_models": part.height,
                     "spearman_rho": rho, "rho_ci_low": lo, "rho_ci_high": hi})
    summary = pl.DataFrame(rows, schema={"period": pl.String, "period_type": pl.String, "n_models": pl.Int64,
                                         "spearman_rho": pl.Float64, "rho_ci_low": pl.Float64, "rho_ci_high": pl.Float64})
    t2 = _tmp_for(out_s)
    summary.write_parquet(t2)
    _replace(t1, out)
    _replace(t2, out_s)
    return supply, summary
