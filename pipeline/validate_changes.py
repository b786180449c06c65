"""`make validate-changes`: how well the service changelog (marts.service_changes) finds changes,
measured on generated worlds whose changes are known (issue 16).

Each world is a generated quarter (pipeline/lib/generate, `shifts="random"`): 15 service objects
get one planted step each (latency, throughput, availability, rate limits, schema validity or
tool-call F1, on a random day between day 15 and day 77), on top of the world's own noise,
diurnal load cycles, outages and rate-limit spells. The world is staged and its daily series built
by the pipeline's own code (stage_dataset, core_requests__hourly, sql/marts/service_metric_daily.sql);
then every detector setting is run on the same series:

- a planted change is found when a detected change of the same provider, model and metric starts
  within TOLERANCE_DAYS days of its date; recall = found / planted, per metric;
- a false alarm is a detected change that matches no planted change; a world with no planted
  shift at all (`shifts="none"`) counts the false alarms of incidents and noise alone;
- exact events: every price event of the world (world.PRICE_EVENTS) and every planted endpoint
  change must be in the changelog on its day.

The penalty is chosen on the calibration worlds (the smallest penalty whose false alarms stay at
most MAX_FALSE_ALARMS per world), and recall and false alarms are then reported on held-out
worlds. Writes docs/change-detection.md; about a minute per world on 2 cores.

    python -m pipeline.validate_changes [--quick] [--out docs/change-detection.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.lib.changepoints import METHODS, PENALTY, RULES
from pipeline.lib.contract import DATASETS
from pipeline.lib.generate import generate_drop
from pipeline.lib.generate import world as W
from pipeline.lib.ingest import stage_dataset
from pipeline.lib.marts.service_changes import detected_changes
from pipeline.lib.service import build_requests_hourly, build_service_metric_daily, change_events

TOLERANCE_DAYS = 2  # the "within two days of their date"
MAX_FALSE_ALARMS = 1.0  # per world of ~100 service objects x 7 series, on the calibration worlds
PENALTIES = (1.5, 2.0, 3.0, 4.0, 6.0)
SERIES_METRICS = tuple(RULES)


@dataclass
class World:
    seed: int
    shifts: str
    daily: pl.DataFrame
    planted: pl.DataFrame  # provider, model, metric, date: the planted changes of the daily series
    exact_planted: pl.DataFrame  # provider, model, metric, date: price and endpoint changes
    exact_found: pl.DataFrame  # provider, model, metric, date: what the changelog's exact part says


def build_world(seed: int, n_requests: int, shifts: str, workdir: Path) -> World:
    raw, root = workdir / f"raw-{seed}", workdir / f"wh-{seed}"
    manifest = generate_drop(raw, n_requests=n_requests, seed=seed, bad_row_fraction=0.0, shifts=shifts)
    for spec in DATASETS.values():
        stage_dataset(spec, raw, root)
    build_requests_hourly(root)
    daily = build_service_metric_daily(root)
    planted = pl.DataFrame(
        manifest.get("planted_changes", []),
        schema={"provider": pl.String, "model": pl.String, "metric": pl.String, "changed_at": pl.String},
        strict=False,
    ).select("provider", "model", "metric", date=pl.col("changed_at").str.to_date())
    events = change_events(root)
    # a price change counts once whatever prices moved; a model's first price is its listing
    exact_found = events.select(
        "provider",
        "model",
        metric=pl.when(pl.col("metric").str.ends_with("_usd_per_mtok")).then(pl.lit("price")).otherwise("metric"),
        date=pl.col("changed_at").dt.date(),
    ).unique()
    prices = pl.DataFrame(
        [
            {
                "provider": p,
                "model": m,
                "metric": "listing" if dt.date.fromisoformat(d) <= W.model_release(m) else "price",
                "date": dt.date.fromisoformat(d),
            }
            for p, m, d, *_ in W.PRICE_EVENTS
            if W.QUARTER_START < dt.date.fromisoformat(d) <= W.QUARTER_END
        ]
    )
    exact_planted = pl.concat([prices, planted.filter(~pl.col("metric").is_in(SERIES_METRICS))])
    return World(
        seed, shifts, daily, planted.filter(pl.col("metric").is_in(SERIES_METRICS)), exact_planted, exact_found
    )


def score(world: World, method: str, penalty: float) -> pl.DataFrame:
    """Per metric: planted, found (within TOLERANCE_DAYS), false alarms, and the location errors."""
    found = detected_changes(world.daily, method=method, penalty=penalty).select(
        "provider", "model", "metric", detected=pl.col("changed_at").dt.date()
    )
    keys = ["provider", "model", "metric"]
    pairs = world.planted.join(found, on=keys, how="inner").with_columns(
        error=(pl.col("detected") - pl.col("date")).dt.total_days()
    )
    near = pairs.filter(pl.col("error").abs() <= TOLERANCE_DAYS)
    # each planted change matched by its nearest detection; every other detection is a false alarm
    hits = near.sort(pl.col("error").abs()).unique(keys + ["date"], keep="first")
    matched = hits.select(keys + ["detected"]).unique()
    alarms = found.join(matched, on=keys + ["detected"], how="anti")
    per_metric = pl.DataFrame({"metric": list(SERIES_METRICS)})
    return (
        per_metric.join(world.planted.group_by("metric").len("planted"), on="metric", how="left")
        .join(
            hits.group_by("metric").agg(pl.len().alias("found"), pl.col("error").abs().alias("errors")),
            on="metric",
            how="left",
        )
        .join(alarms.group_by("metric").len("false_alarms"), on="metric", how="left")
        .with_columns(pl.col("planted", "found", "false_alarms").fill_null(0).cast(pl.Int64), seed=pl.lit(world.seed))
    )


def misses(world: World, method: str, penalty: float) -> pl.DataFrame:
    """The planted changes not found within TOLERANCE_DAYS, with the median samples a day of their
    series (how thin it was)."""
    found = detected_changes(world.daily, method=method, penalty=penalty).select(
        "provider", "model", "metric", detected=pl.col("changed_at").dt.date()
    )
    keys = ["provider", "model", "metric"]
    near = (
        world.planted.join(found, on=keys, how="inner")
        .filter((pl.col("detected") - pl.col("date")).dt.total_days().abs() <= TOLERANCE_DAYS)
        .select(keys + ["date"])
    )
    thin = world.daily.group_by(keys).agg(samples_per_day=pl.col("samples").median())
    return world.planted.join(near, on=keys + ["date"], how="anti").join(thin, on=keys, how="left")


def exact_misses(world: World) -> int:
    return world.exact_planted.join(world.exact_found, on=["provider", "model", "metric", "date"], how="anti").height


def summarise(scores: list[pl.DataFrame]) -> pl.DataFrame:
    both = pl.concat(scores)
    days_off = (
        both.select("metric", "errors")
        .explode("errors")
        .group_by("metric")
        .agg(median_days_off=pl.col("errors").drop_nulls().median())
    )
    return (
        both.group_by("metric", maintain_order=True)
        .agg(pl.col("planted").sum(), pl.col("found").sum(), pl.col("false_alarms").sum())
        .join(days_off, on="metric", how="left")
        .with_columns(recall=pl.col("found") / pl.col("planted"))
    )


def choose_penalty(worlds: list[World], method: str) -> tuple[float, list[dict]]:
    """The smallest penalty of PENALTIES whose false alarms per world stay within MAX_FALSE_ALARMS
    on `worlds`, and the grid's recall and false alarms."""
    grid = []
    for pen in PENALTIES:
        s = summarise([score(w, method, pen) for w in worlds])
        grid.append(
            {
                "method": method,
                "penalty": pen,
                "recall": s["found"].sum() / max(s["planted"].sum(), 1),
                "false_alarms_per_world": s["false_alarms"].sum() / len(worlds),
            }
        )
    ok = [g for g in grid if g["false_alarms_per_world"] <= MAX_FALSE_ALARMS]
    best = max(ok, key=lambda g: (g["recall"], -g["penalty"])) if ok else grid[-1]
    return best["penalty"], grid


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def report(calibration: list[World], held_out: list[World], null: World, n_requests: int, seconds: float) -> str:
    chosen, grids = {}, []
    for method in METHODS:
        chosen[method], grid = choose_penalty(calibration, method)
        grids += grid
    lines = [
        "# Change detection: recall and false alarms on generated worlds",
        "",
        f"Generated by `make validate-changes` (pipeline/validate_changes.py) on {dt.date.today()} in {seconds:.0f} s: "
        f"{len(calibration)} calibration worlds, {len(held_out)} held-out worlds and one world without planted shifts, "
        f"{n_requests:,} requests each, 15 planted shifts per world. A planted change is found when a detected change of "
        f"the same provider, model and metric starts within {TOLERANCE_DAYS} days of it.",
        "",
        "## Methods compared on the calibration worlds",
        "",
        "Every method reads the same daily series in units of their robust noise scale, with segments of at least 3 days; "
        f"the penalty per change point is `penalty x log(days)`. The chosen penalty is the smallest whose false alarms stay "
        f"at most {MAX_FALSE_ALARMS:g} per world.",
        "",
        _table(
            ["method", "penalty", "recall", "false alarms per world"],
            [
                [g["method"], f"{g['penalty']:g}", f"{100 * g['recall']:.1f} %", f"{g['false_alarms_per_world']:.2f}"]
                for g in grids
            ],
        ),
        "",
    ]
    lines += ["## Held-out worlds, each method at its chosen penalty", ""]
    rows = []
    for method in METHODS:
        s = summarise([score(w, method, chosen[method]) for w in held_out])
        rows.append(
            [
                method,
                f"{chosen[method]:g}",
                f"{100 * s['found'].sum() / max(s['planted'].sum(), 1):.1f} %",
                f"{s['false_alarms'].sum() / len(held_out):.2f}",
                str(summarise([score(null, method, chosen[method])])["false_alarms"].sum()),
            ]
        )
    lines += [
        _table(["method", "penalty", "recall", "false alarms per world", "false alarms, world without shifts"], rows),
        "",
    ]
    published = "pelt_l1"
    s = summarise([score(w, published, PENALTY) for w in held_out])
    lines += [
        f"## The published detector ({published}, penalty {PENALTY:g}) per metric, held-out worlds",
        "",
        _table(
            ["metric", "planted", "found", "recall", "median days off", "false alarms"],
            [
                [
                    r["metric"],
                    str(r["planted"]),
                    str(r["found"]),
                    "n/a" if not r["planted"] else f"{100 * r['recall']:.0f} %",
                    "n/a" if r["median_days_off"] is None else f"{r['median_days_off']:g}",
                    str(r["false_alarms"]),
                ]
                for r in s.iter_rows(named=True)
            ],
        ),
        "",
        "Missed on the held-out worlds, with the median samples a day of their series (effective requests "
        "for request rates, probes or compat answers otherwise):",
        "",
        _table(
            ["metric", "provider / model", "planted on", "samples a day"],
            [
                [r["metric"], f"{r['provider']} / {r['model']}", str(r["date"]), f"{r['samples_per_day'] or 0:g}"]
                for w in held_out
                for r in misses(w, published, PENALTY).iter_rows(named=True)
            ],
        ),
        "",
        "## Reading",
        "",
        "PELT with the L1 cost is published. At the penalty each method chose on the calibration worlds, the L2 costs "
        "(PELT and binary segmentation) find about as many planted changes but raise more false alarms on the held-out "
        "worlds (the tables above): a squared cost takes an outage day or a rate-limit spell for a level "
        "of its own, where the median of an L1 segment ignores it. The misses are request-based rates on service "
        "objects with a handful of effective requests a day (sampled logs weigh each request by 1 / sample_rate, so a "
        "day of a small object carries little evidence); probe and compat series are found on their day.",
        "",
        f"Exact events (price snapshots, endpoint states) missed on their day: "
        f"{sum(exact_misses(w) for w in [*calibration, *held_out, null])} of "
        f"{sum(w.exact_planted.height for w in [*calibration, *held_out, null])}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small worlds per set (a smoke run, not a measurement)")
    ap.add_argument("--worlds", type=int, default=4, help="calibration worlds (as many held out)")
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path("docs/change-detection.md"))
    args = ap.parse_args(argv)
    n_worlds, n_requests = (1, 20_000) if args.quick else (args.worlds, args.requests)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        worlds = []
        for i in range(2 * n_worlds):
            worlds.append(build_world(1000 + i, n_requests, "random", work))
            print(f"world {i + 1} of {2 * n_worlds + 1} built ({time.time() - t0:.0f} s)", flush=True)
        null = build_world(999, n_requests, "none", work)
        text = report(worlds[:n_worlds], worlds[n_worlds:], null, n_requests, time.time() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(json.dumps({"wrote": str(args.out), "seconds": round(time.time() - t0)}))


if __name__ == "__main__":
    main()
