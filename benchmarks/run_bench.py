"""`make bench`: every stage at 1M and 10M requests beside its DuckDB floor, the full run, one more
day and simulate (issue 13); 100M end to end (`--e2e-sizes`).

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
import re
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
        g_s, g_rss, _ = measure_rss(
            [PY, "-m", "pipeline.cli", "generate", "--out", str(raw), "--requests", str(n)], env
        )
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
        r_s, r_rss, r_out = measure_rss(
            [PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(base / "warehouse.duckdb")], env
        )
        print(f"[{n:,}] simulate one model x one policy ...", flush=True)
        sim_s, sim_rss, _ = measure_rss(
            [
                PY,
                "-m",
                "pipeline.cli",
                "simulate",
                "--model",
                SIMULATE_MODEL,
                "--policy",
                "cheapest",
                "--warehouse",
                str(base / "warehouse.duckdb"),
            ],
            env,
        )
        print(f"[{n:,}] one more day (incremental run) ...", flush=True)
        inc = one_more_day(raw, base / "warehouse.duckdb", env)
        print(f"[{n:,}] one more day on a clean drop (no planted cross-day duplicates) ...", flush=True)
        clean = clean_day(n, base / "clean", env)
        rows = json.loads(i_out.strip().splitlines()[-1])["rows"]
        floor_rows = json.loads(f_out.strip().splitlines()[-1])["rows"]
        results.append(
            dict(
                n=n,
                rows=rows,
                floor_rows=floor_rows,
                gen_s=g_s,
                gen_rss=g_rss,
                floor_s=f_s,
                floor_rss=f_rss,
                ingest_s=i_s,
                ingest_rss=i_rss,
                run_s=r_s,
                run_rss=r_rss,
                demand_floor_s=df_s,
                demand_floor_rss=df_rss,
                demand_s=d_s,
                demand_rss=d_rss,
                family_s=fs_s,
                family_rss=fs_rss,
                demand_scan_s=ds_s,
                demand_scan_rss=ds_rss,
                demand_floor_work_s=work_seconds(df_out),
                demand_scan_work_s=work_seconds(ds_out),
                family_work_s=work_seconds(fs_out),
                demand_work_s=work_seconds(d_out),
                service_floor_s=sf_s,
                service_floor_rss=sf_rss,
                service_s=s_s,
                service_rss=s_rss,
                routing_floor_s=rf_s,
                routing_floor_rss=rf_rss,
                routing_s=ro_s,
                routing_rss=ro_rss,
                run_time=run_time(r_out),
                sim_s=sim_s,
                sim_rss=sim_rss,
                parse_s=json.loads(i_out.strip().splitlines()[-1])["parse_s"],
                **inc,
                **clean,
            )
        )
        print(json.dumps(results[-1]), flush=True)
        shutil.rmtree(base, ignore_errors=True)
    return results


SIMULATE_MODEL = "qwen3-32b"


def run_time(out: str) -> dict:
    """The run's own split of its time (the `time:` line of `servicelens run`): seconds inside
    asset steps and the rest, orchestration (two Dagster runs, in one process)."""
    for line in out.splitlines():
        m = re.match(r"time: ([0-9.]+) s = ([0-9.]+) s in asset steps \+ ([-0-9.]+) s orchestration", line)
        if m:
            return {"run": float(m[1]), "steps": float(m[2]), "orchestration": float(m[3])}
    raise SystemExit("`servicelens run` printed no time line")


def one_more_day(raw: Path, warehouse: Path, env: dict) -> dict:
    """On a warehouse built from the whole drop: the drop's last day of requests and probes taken
    out and `servicelens run` (itself an increment), then the day put back and `servicelens run`
    timed: what a daily increment costs. The drop is left as it was."""
    held = raw.parent / "held-back-day"
    last = sorted(p.name for p in (raw / "requests").glob("date=*"))[-1]
    moved = []
    for ds in ("requests", "latency_probes"):
        if (raw / ds / last).exists():
            (held / ds).mkdir(parents=True, exist_ok=True)
            (raw / ds / last).rename(held / ds / last)
            moved.append(ds)
    try:
        measure_rss([PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)], env)
    finally:
        for ds in moved:
            (held / ds / last).rename(raw / ds / last)
        shutil.rmtree(held, ignore_errors=True)
    s, rss, out = measure_rss([PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)], env)
    plan = next((line for line in out.splitlines() if line.startswith("plan:")), "plan: ?")
    return {"inc_s": s, "inc_rss": rss, "inc_time": run_time(out), "inc_plan": plan.removeprefix("plan: ")}


def clean_day(n: int, base: Path, env: dict) -> dict:
    """The same measure on a drop generated without bad rows: a day's files then hold that day's
    rows only (the default drop plants duplicates of other days' requests in them)."""
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    raw = base / "raw"
    measure_rss(
        [PY, "-m", "pipeline.cli", "generate", "--out", str(raw), "--requests", str(n), "--bad-row-fraction", "0"], env
    )
    full_s, _, _ = measure_rss(
        [PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(base / "warehouse.duckdb")], env
    )
    inc = one_more_day(raw, base / "warehouse.duckdb", env)
    shutil.rmtree(base, ignore_errors=True)
    return {"clean_full_s": full_s, "clean_inc_s": inc["inc_s"], "clean_inc_plan": inc["inc_plan"]}


def end_to_end(n: int, work: Path, env: dict) -> dict:
    """The largest sizes: generate, the load floor and the full run only."""
    base = work / f"e2e{n}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    raw = base / "raw"
    print(f"[{n:,}] generate ...", flush=True)
    g_s, g_rss, _ = measure_rss([PY, "-m", "pipeline.cli", "generate", "--out", str(raw), "--requests", str(n)], env)
    print(f"[{n:,}] floor ...", flush=True)
    f_s, f_rss, f_out = measure_rss([PY, "-m", "benchmarks.steps", "floor", str(raw), str(base / "floor.duckdb")], env)
    (base / "floor.duckdb").unlink(missing_ok=True)
    print(f"[{n:,}] full run ...", flush=True)
    r_s, r_rss, r_out = measure_rss(
        [PY, "-m", "pipeline.cli", "run", "--raw", str(raw), "--warehouse", str(base / "warehouse.duckdb")], env
    )
    print(f"[{n:,}] one more day ...", flush=True)
    inc = one_more_day(raw, base / "warehouse.duckdb", env)
    result = dict(
        n=n,
        gen_s=g_s,
        gen_rss=g_rss,
        floor_s=f_s,
        floor_rss=f_rss,
        floor_rows=json.loads(f_out.strip().splitlines()[-1])["rows"],
        run_s=r_s,
        run_rss=r_rss,
        run_time=run_time(r_out),
        **inc,
        slowest=next((line for line in r_out.splitlines() if line.startswith("slowest steps:")), ""),
    )
    print(json.dumps(result), flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return result


def render_scale(results: list[dict], e2e: list[dict]) -> list[str]:
    lines = [
        "",
        "Daily partitions (issue 13). Full run: `servicelens run` on the whole drop, process wall s (peak RSS MiB), and",
        "its own split: seconds inside asset steps + orchestration (the rest of two Dagster runs in one process: run",
        "start, event log, step boundaries, I/O managers; interpreter start and imports, ~2 s, come on top in the wall",
        "time). One more day: on that warehouse, the drop's last day of requests and probes taken out (a run), put back,",
        "and `servicelens run` timed (the plan says how many days it rebuilt: the generator plants cross-day duplicates, so",
        "a day's file also dirties the days whose rows it repeats; the clean drop, generated without bad rows, has none).",
        "Simulate: `servicelens simulate --model "
        f"{SIMULATE_MODEL} --policy cheapest` on the warehouse. Floor: the bare DuckDB load of the drop (above).",
        "",
        "| requests | full run s (RSS) | steps s + orchestration s | full / load floor | one more day s (RSS) |"
        "day / full | days rebuilt | clean drop: full s / one more day s (days) | simulate s (RSS) |",
        "|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in results:
        t = r["run_time"]
        lines.append(
            f"| {r['n']:,} | {r['run_s']:.1f} ({r['run_rss']:.0f}) | {t['steps']:.1f} + {t['orchestration']:.1f} "
            f"| {r['run_s'] / r['floor_s']:.2f}x | {r['inc_s']:.1f} ({r['inc_rss']:.0f}) | {r['inc_s'] / r['run_s']:.1%} "
            f"| {r['inc_plan']} | {r['clean_full_s']:.1f} / {r['clean_inc_s']:.1f} = {r['clean_inc_s'] / r['clean_full_s']:.1%} "
            f"({r['clean_inc_plan'].split(' (')[0]}) | {r['sim_s']:.1f} ({r['sim_rss']:.0f}) |"
        )
    if e2e:
        lines += [
            "",
            "End to end at scale: generate, the load floor, `servicelens run` (peak RSS of the run process; the generator's",
            "is reported apart).",
            "",
            "| requests | generate s (RSS) | load floor s (RSS) | full run s (RSS) | steps s + orchestration s |"
            "full / floor | one more day s (RSS) | day / full | slowest steps of the full run |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in e2e:
            t = r["run_time"]
            lines.append(
                f"| {r['n']:,} | {r['gen_s']:.1f} ({r['gen_rss']:.0f}) | {r['floor_s']:.1f} ({r['floor_rss']:.0f}) "
                f"| {r['run_s']:.1f} ({r['run_rss']:.0f}) | {t['steps']:.1f} + {t['orchestration']:.1f} "
                f"| {r['run_s'] / r['floor_s']:.2f}x | {r['inc_s']:.1f} ({r['inc_rss']:.0f}) | {r['inc_s'] / r['run_s']:.1%} "
                f"| {r['slowest'].removeprefix('slowest steps: ')} |"
            )
    return lines


def render(results: list[dict], when: str, host: str, e2e: list[dict] | None = None) -> str:
    lines = [
        f"### {when}",
        "",
        f"Machine: {host}.",
        "",
        "| requests | rows read (all datasets) | generate s (peak RSS MiB) | floor s (RSS) | ingest s (RSS) |"
        "ingest / floor | ingest rows/s | full `servicelens run` s (RSS) |",
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
        "grouped by (model, hour bucket, feasibility class) and replayed exactly (issue 13), the per-day sums, the policy",
        "summary and the counterfactual with 1,000 paired day",
        "resamples. Floor: bare DuckDB statements reading what the replay reads: the requests grouped by model and hour",
        "bucket with the weighted token sums and feature counts the replay keeps, and the probes' bucket medians.",
        "",
        "| requests | floor s (RSS) | routing s (peak RSS MiB) | routing / floor |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['routing_floor_s']:.1f} ({r['routing_floor_rss']:.0f}) | {r['routing_s']:.1f} ({r['routing_rss']:.0f}) "
            f"| {r['routing_s'] / r['routing_floor_s']:.2f}x |"
        )
    lines += render_scale(results, e2e or [])
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks

`make bench` generates the sample quarter at 1M and 10M requests and times, each in its own
process (wall time, peak RSS of that process), then runs 100M requests end to end:

- **generate**: `servicelens generate` (requests, 10-minute latency probes for every endpoint, prices, compat probes);
- **floor**: a bare DuckDB read of the same files into tables (`create table as select * from read_parquet/read_csv/read_json`,
  one statement per dataset and format, no validation) in a DuckDB file: the least work that loads the drop;
- **ingest**: servicelens staging of every dataset (type checks, quarantine with reasons, duplicate/conflict
  classification, hive-partitioned zstd Parquet, audit), without Dagster; since issue 13, the time series go
  through the per-file parse cache, then are staged by day;
- **full run**: `servicelens run`, the Dagster jobs end to end including the warehouse DuckDB file and the report;
- **one more day**, **simulate**, **100M end to end**: issue 13 (below each table, what is measured).

Targets (issue 2): ingest within 2x of the floor; peak RSS under 4 GiB at 10M.
Targets (issue 3): all demand marts on 10M requests within 60 s, and within 2x of the family-shares floor.
Targets (issue 4): all service-object marts from a quarter of 10-minute probes plus 10M requests within 60 s, beside
the floor of one DuckDB quantile query over the same Parquet.
Targets (issue 5): 10M requests x all policies within 120 s and under 4 GiB peak RSS, beside the floor of one DuckDB
as-of join of the same requests to prices.
Targets (issue 13): a quarter of 100M requests end to end within 10 minutes at no more than 6 GiB peak RSS; one more
day on a 10M quarter within 10 % of the full run; orchestration under 5 s at 1M; `servicelens simulate` (one model,
one policy) on a 10M quarter within 5 s; each stage within 2x of its floor.

"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument(
        "--e2e-sizes", default="", help="sizes run end to end only (generate, floor, full run), e.g. 100000000"
    )
    ap.add_argument("--work", default=str(REPO / "bench-work"))
    ap.add_argument("--out", default=str(REPO / "BENCHMARKS.md"))
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = bench(sizes, Path(args.work))
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    e2e = [end_to_end(int(n), Path(args.work), env) for n in args.e2e_sizes.split(",") if n]
    out = Path(args.out)
    previous = out.read_text(encoding="utf-8").split("\n", 1)[1] if out.exists() else ""
    previous = previous.replace(HEADER.split("\n", 1)[1], "")
    section = render(results, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), machine(), e2e)
    out.write_text(HEADER + section + "\n" + previous.lstrip("\n"), encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
