"""`make bench`: generate + ingest at 1M and 10M requests beside the DuckDB floor.

Every step runs in a child process; wall time and the child's peak RSS (wait4) are
recorded. Results go to BENCHMARKS.md with the machine and the date. Heavy: minutes, not
part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def measure_rss(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    # Popen.communicate reaps the child, so wait4 must do the waiting itself.
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=devnull, text=True, cwd=REPO, env=env)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {os.waitstatus_to_exitcode(status)})")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def work_seconds(out: str) -> float:
    """The step's own timing: its work after interpreter start and library imports."""
    return json.loads(out.strip().splitlines()[-1])["seconds"]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import duckdb
    import polars

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, polars {polars.__version__}"
    )


def bench(sizes: list[int], work: Path) -> list[dict]:
    results = []
    env = dict(os.environ)
    env.pop("DAGSTER_HOME", None)
    for n in sizes:
        base = work / f"n{n}"
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        raw, root, db = base / "raw", base / "wh", base / "floor.duckdb"
        print(f"[{n:,}] generate ...", flush=True)
        g_s, g_rss, _ = measure_rss([PY, "-m", "pipeline.cli", "generate", "--out", str(raw), "--requests", str(n)], env)
        print(f"[{n:,}] floor ...", flush=True)
        f_s, f_rss, f_out = measure_rss([PY, "-m", "benchmarks.steps", "floor", str(raw), str(db)], env)
        print(f"[{n:,}] ingest ...", flush=True)
        i_s, i_rss, i_out = measure_rss([PY, "-m", "benchmarks.steps", "ingest", str(raw), str(root)], env)
        print(f"[{n:,}] demand marts ...", flush=True)
        df_s, df_rss, df_out = measure_rss([PY, "-m", "benchmarks.steps", "demand_floor", str(root), "-"], env)
        ds_s, ds_rss, ds_out = measure_rss([PY, "-m", "benchmarks.steps", "demand_scan_floor", str(root), "-"], env)
        fs_s, fs_rss, fs_out = measure_rss([PY, "-m", "benchmarks.steps", "family_shares", str(root), "-"], env)
        d_s, d_rss, d_out = measure_rss([PY, "-m", "benchmarks.steps", "demand", str(root), "-"], env)
        print(f"[{n:,}] service-object marts ...", flush=True)
        sf_s, sf_rss, _ = measure_rss([PY, "-m", "benchmarks.steps", "service_floor", str(root), "-"], env)
        s_s, s_rss, _ = measure_rss([PY, "-m", "benchmarks.steps", "service", str(root), "-"], env)
        print(f"[{n:,}] routing ...", flush=True)
        rf_s, rf_rss, _ = measure_rss([PY, "-m", "benchmarks.steps", "routing_floor", str(root), "-"], env)
        ro_s, ro_rss, _ = measure_rss([PY, "-m", "benchmarks.steps", "routing", str(root), "-"], env)
        print(f"[{n:,}] full run (Dagster job + warehouse) ...", flush=True)
        r_s, r_rss, _ = measure_rss([PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(base / "warehouse.duckdb")], env)
        rows = json.loads(i_out.strip().splitlines()[-1])["rows"]
        floor_rows = json.loads(f_out.strip().splitlines()[-1])["rows"]
        results.append(
            dict(n=n, rows=rows, floor_rows=floor_rows, gen_s=g_s, gen_rss=g_rss, floor_s=f_s, floor_rss=f_rss,
                 ingest_s=i_s, ingest_rss=i_rss, run_s=r_s, run_rss=r_rss,
                 demand_floor_s=df_s, demand_floor_rss=df_rss, demand_s=d_s, demand_rss=d_rss,
                 family_s=fs_s, family_rss=fs_rss, demand_scan_s=ds_s, demand_scan_rss=ds_rss,
                 demand_floor_work_s=work_seconds(df_out), demand_scan_work_s=work_seconds(ds_out),
                 family_work_s=work_seconds(fs_out), demand_work_s=work_seconds(d_out), service_floor_s=sf_s, service_floor_rss=sf_rss,
                 service_s=s_s, service_rss=s_rss, routing_floor_s=rf_s, routing_floor_rss=rf_rss,
                 routing_s=ro_s, routing_rss=ro_rss)
        )
        print(json.dumps(results[-1]), flush=True)
        shutil.rmtree(base, ignore_errors=True)
    return results


def render(results: list[dict], when: str, host: str) -> str:
    lines = [
        f"### {when}",
        "",
        f"Machine: {host}.",
        "",
        "| requests | rows read (all datasets) | generate s (peak RSS MiB) | floor s (RSS) | ingest s (RSS) | ingest / floor | ingest rows/s | full `servicelens run` s (RSS) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['rows']:,} | {r['gen_s']:.1f} ({r['gen_rss']:.0f}) | {r['floor_s']:.1f} ({r['floor_rss']:.0f}) "
            f"| {r['ingest_s']:.1f} ({r['ingest_rss']:.0f}) | {r['ingest_s'] / r['floor_s']:.2f}x | {r['rows'] / r['ingest_s']:,.0f} "
            f"| {r['run_s']:.1f} ({r['run_rss']:.0f}) |"
        )
    lines += [
        "",
        "Demand marts (issue 3) from the staged data. Floor: one hand-written DuckDB query computing the content of",
        "`marts.family_demand` (weighted requests and tokens and their shares per family, for the quarter and each month)",
        "over the same staged Parquet. Family shares: the pipeline's path to that table (`core_demand__daily`, then",
        "`family_demand`). All marts: daily demand, family shares, concentration at three levels with 1,000 day-bootstrap",
        "resamples, Lorenz curves, token distribution, quantiles and regimes, log2 histogram, version inertia, supply vs use.",
        "Scan floor: bare DuckDB statements doing only the request scans all those marts are computed from (weighted",
        "demand per day x model x provider; exact weighted input and output token counts and the 2-D log2 histogram per",
        "month x application), into temporary tables. Each cell: process wall s / work s (peak RSS MiB); work is the",
        "step's own time after interpreter start and imports (~0.6 s, the same in every step); ratios are of work.",
        "",
        "| requests | floor | scan floor | family shares | family / floor | all demand marts | all marts / floor | all marts / scan floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['demand_floor_s']:.1f} / {r['demand_floor_work_s']:.2f} ({r['demand_floor_rss']:.0f}) "
            f"| {r['demand_scan_s']:.1f} / {r['demand_scan_work_s']:.2f} ({r['demand_scan_rss']:.0f}) "
            f"| {r['family_s']:.1f} / {r['family_work_s']:.2f} ({r['family_rss']:.0f}) "
            f"| {r['family_work_s'] / r['demand_floor_work_s']:.2f}x "
            f"| {r['demand_s']:.1f} / {r['demand_work_s']:.2f} ({r['demand_rss']:.0f}) "
            f"| {r['demand_work_s'] / r['demand_floor_work_s']:.2f}x | {r['demand_work_s'] / r['demand_scan_work_s']:.2f}x |"
        )
    lines += [
        "",
        "Service-object marts (issue 4) from the staged data: hourly request aggregate, service objects, hourly series,",
        "diurnal profiles, error matrix, provider dispersion and price anchoring (1,000 resamples), vendor verification,",
        "context-limit behaviour, Pareto. Floor: one DuckDB quantile query (the latency percentiles of service_objects per",
        "provider x model for the quarter and each month) over the same staged probes.",
        "",
        "| requests | floor s (RSS) | all service marts s (RSS) | service / floor |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['service_floor_s']:.1f} ({r['service_floor_rss']:.0f}) | {r['service_s']:.1f} ({r['service_rss']:.0f}) "
            f"| {r['service_s'] / r['service_floor_s']:.2f}x |"
        )
    lines += [
        "",
        "Routing (issue 5): every request of the routable models replayed under all 8 policies (official, cost and",
        "throughput oracles, cheapest, fastest, lowest p90 TTFT, sort by price with retries, price-weighted balance),",
        "per-request decisions written to Parquet, the policy summary and the counterfactual with 1,000 paired day",
        "resamples. Floor: one DuckDB as-of join of the same requests to the official provider's price in force.",
        "",
        "| requests | floor s (RSS) | routing s (peak RSS MiB) | routing / floor |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['routing_floor_s']:.1f} ({r['routing_floor_rss']:.0f}) | {r['routing_s']:.1f} ({r['routing_rss']:.0f}) "
            f"| {r['routing_s'] / r['routing_floor_s']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks

`make bench` generates the sample quarter at 1M and 10M requests and times, each in its own
process (wall time, peak RSS of that process):

- **generate**: `servicelens generate` (requests, 10-minute latency probes for every endpoint, prices, compat probes);
- **floor**: a bare DuckDB read of the same files into tables (`create table as select * from read_parquet/read_csv/read_json`,
  one statement per dataset and format, no validation) in a DuckDB file: the least work that loads the drop;
- **ingest**: servicelens staging of every dataset (type checks, quarantine with reasons, duplicate/conflict
  classification, hive-partitioned zstd Parquet, audit), without Dagster;
- **full run**: `servicelens run`, the Dagster job end to end including the warehouse DuckDB file.

Targets (issue 2): ingest within 2x of the floor; peak RSS under 4 GiB at 10M.
Targets (issue 3): all demand marts on 10M requests within 60 s, and within 2x of the family-shares floor.
Targets (issue 4): all service-object marts from a quarter of 10-minute probes plus 10M requests within 60 s, beside
the floor of one DuckDB quantile query over the same Parquet.
Targets (issue 5): 10M requests x all policies within 120 s and under 4 GiB peak RSS, beside the floor of one DuckDB
as-of join of the same requests to prices.

"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--work", default=str(REPO / "bench-work"))
    ap.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = bench(sizes, Path(args.work))
    out = Path(args.out)
    previous = out.read_text(encoding="utf-8").split("\n", 1)[1] if out.exists() else ""
    previous = previous.replace(HEADER.split("\n", 1)[1], "")
    section = render(results, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), machine())
    out.write_text(HEADER + section + "\n" + previous.lstrip("\n"), encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
