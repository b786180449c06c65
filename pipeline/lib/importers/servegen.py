"""ServeGen (alibaba/ServeGen: per-client workload of Alibaba Cloud Model Studio / Bailian;
see ../shared/data/real/servegen/SOURCE.md) -> sampled contract requests, plus the models and
endpoints rows they need to pass staging.

ServeGen publishes no requests: per client (`chunk-<i>`) and 10-minute window it gives a mean
request rate (`chunk-<i>-trace.csv`: timestamp, rate, cv, pattern, shape, scale; no header),
and for a few clients the token-length distributions per 6-hour window
(`chunk-<i>-dataset.json`: PMFs of input_tokens, output_tokens and reason_ratio).
`import_servegen` expands them into sampled requests. It accepts the ServeGen folder, its
`data/`, a category or pool folder, or single trace files (`chunk-*-trace.csv`, found
recursively); the pool is the trace's folder (`deepseek-r1`), the category its parent (`reason`).

Sampling (deterministic under `seed`; numpy PCG64 seeded with (seed, crc32 of
`<category>/<pool>/chunk-<i>`), so a client's requests do not depend on which other files are
imported):

- sample_rate s (parameter, default 0.01) is the probability that a request of the published
  rate is written. Window w of a client (start t_w, rate r_w req/s, WINDOW_S = 600 s) gets
  N_w ~ Poisson(r_w * 600 * s) requests, each with weight 1 / s, so the weighted count
  estimates r_w * 600 without bias and a client's total written count is Poisson with mean
  s * 600 * sum_w r_w (the tests check every client within 4 sigma of that). The expected
  number written is reported as `requests_expected`: with the default rate, 1,383,669 published
  requests of the 73 deepseek-r1 clients over their one day (144 windows from 00:00 of day 0)
  give 13,836.7 expected rows (13,699 written with seed 0). m-small covers 14 days (2,016
  windows), mm-image one day.
- arrival times: uniform within the window (a Poisson process at the window's rate). The
  window's fitted inter-arrival pattern (cv, Gamma / Weibull) is not reproduced: independent
  thinning at a small s makes any renewal process nearly Poisson, so at the default rate little
  is lost; burstiness below 10 minutes is not represented. cv and pattern are kept as extras.
- ts = EPOCH + t_w + offset; EPOCH is the parameter `epoch`, default
  trace_common.DEFAULT_EPOCH (2025-03-01 00:00 UTC, a placeholder: ServeGen has relative days).
- lengths: input_tokens, output_tokens and reason_ratio are drawn independently from the PMFs of
  the client's dataset window that starts latest at or before t_w (the first one for earlier
  windows). Windows with empty PMFs (`{}`: in the public files exactly the 6-h spans in which
  the client sent no request) are skipped, so a request always draws from a window with data.
  The source gives only these marginals, so any input / output correlation is lost. Clients
  with their own dataset.json use it (`servegen_lengths` = `client`); the others, when
  `pool_lengths_fallback` is true (default), use the pool's mixture: the PMFs of the pool's clients with a
  dataset.json (all of them in the trace's folder), weighted per dataset window by each client's
  published requests in that window (`servegen_lengths` = `pool`). A client of a pool with no
  dataset.json at all (mm-image and m-small in the public subset) cannot be given token counts,
  which the contract requires: its active windows are reported, not written.

One request row:

    request_id     `servegen-<pool>-chunk-<i>-<line>-<k>`: <line> the window's 1-based line in
                   the trace file (zero-padded to 6), <k> the request's rank in the window (5)
    application    the category (`reason`, `multimodal`, `language`)
    client_id      `<pool>/chunk-<i>` (ServeGen's anonymised client)
    model          deepseek-r1 -> `deepseek-r1` (family / developer / official_provider
                   `deepseek`, released 2025-01-20); another pool -> `servegen-<pool>` (family
                   `servegen-<category>`, developer `unknown`, official_provider `alibaba`, release
                   date = the date of its first written request): ServeGen anonymises its
                   language models by size tier and names no multimodal model.
    provider       PROVIDER = `alibaba` (Model Studio / Bailian). For deepseek-r1 the official
                   provider is `deepseek`, which has no endpoint in this drop: the warehouse
                   check official_providers_have_endpoints WARNs, truthfully.
    status ok, sample_rate s; endpoint of deepseek-r1 supports_reasoning true.

Extra columns: `servegen_lengths`, `servegen_reason_ratio` (the drawn share of output tokens that
are reasoning tokens, null without a reason_ratio PMF), `servegen_window_rate`,
`servegen_window_cv`, `servegen_window_pattern`, `trace_file` (`<category>/<pool>/<file>`),
`trace_line`.

Accounting is per window (a trace line): each is expanded (N_w requests written, possibly 0; a
window with rate 0 is expanded into none) or reported with file and line: a line without 6
fields (malformed_row), timestamp or rate missing or not a number, a negative rate, an active
window without token lengths. rows_read = windows_expanded + rows_reported (so the CLI's
"rows read" counts windows, and its requests line the sampled requests). A dataset.json that
cannot be parsed is a file-level issue, and its client falls back to the pool's lengths.

The length distributions are read in servegen_lengths.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.lib.importers import ImportIssue, ImportReport, reason_expr
from pipeline.lib.importers import trace_common as tc
from pipeline.lib.importers.servegen_lengths import (
    LENGTH_FIELDS,
    N_FIELDS,
    WINDOW_S,
    Lengths,
    dataset_path,
    load_lengths,
    pool_lengths,
)

FORMAT = "servegen"
OUT_NAME = "servegen"
PROVIDER = "alibaba"
DEFAULT_SAMPLE_RATE = 0.01
# pool -> (model, family, developer, release_date, official_provider, reasoning)
KNOWN_POOLS = {"deepseek-r1": ("deepseek-r1", "deepseek", "deepseek", dt.date(2025, 1, 20), "deepseek", True)}
EXTRAS = {
    "servegen_lengths": pl.String,
    "servegen_reason_ratio": pl.Float64,
    "servegen_window_rate": pl.Float64,
    "servegen_window_cv": pl.String,
    "servegen_window_pattern": pl.String,
    "trace_file": pl.String,
    "trace_line": pl.Int64,
}


@dataclass
class ServeGenReport(ImportReport):
    windows_expanded: int = 0  # trace lines expanded into requests (rate 0 -> none)
    requests_expected: float = 0.0  # sum over expanded windows of rate * WINDOW_S * sample_rate


def pool_model(category: str, pool: str) -> tuple[str, tuple]:
    """(model id, models-row facts (family, developer, release_date, official_provider))."""
    if pool in KNOWN_POOLS:
        model, family, developer, release, official, _ = KNOWN_POOLS[pool]
        return model, (family, developer, release, official)
    return f"servegen-{pool}", (f"servegen-{category}", "unknown", None, PROVIDER)


def map_windows(paths: list[Path], with_lengths: set[str]) -> pl.DataFrame:
    """The windows of trace files, read in one scan: `_path`, line, t, rate, cv, pattern and
    `_reason` (null: expanded). `with_lengths`: str(path) of the files whose client has lengths."""
    fields = pl.col("raw").str.split(",")
    ok = fields.list.len() == N_FIELDS
    t, rate, cv, pattern = (tc.field(fields, i) for i in range(4))
    rules = [
        (~ok, f"malformed_row: {N_FIELDS} fields expected (timestamp, rate, cv, pattern, shape, scale)"),
        *tc.number_rules("timestamp", t, ok, whole_number=False),
        *tc.number_rules("rate", rate, ok, whole_number=False),
        (ok & tc.is_number(rate) & (tc.num(rate) < 0), "out_of_range: rate is negative"),
        (
            ok & tc.is_number(rate) & (tc.num(rate) > 0) & ~pl.col("_path").is_in(sorted(with_lengths)),
            "missing: token lengths (no dataset.json for this client, none in its pool: cannot write requests)",
        ),
    ]
    lf = tc.scan_lines_many(paths).select(
        "_path",
        "line",
        tc.num(t).alias("t"),
        tc.num(rate).alias("rate"),
        pl.when(tc.present(cv)).then(cv).alias("cv"),
        pl.when(tc.present(pattern)).then(pattern).alias("pattern"),
        reason_expr(rules).alias("_reason"),
    )
    return tc.collect(lf)


def _read_windows(report: ServeGenReport, paths: list[Path], with_lengths: set[str]) -> dict[str, pl.DataFrame]:
    """str(path) -> its windows; all files in one scan, or file by file (reporting the
    unreadable ones) when the joint scan fails."""
    empty = {str(p): None for p in paths}
    try:
        df = map_windows(paths, with_lengths)
        return {**empty, **{k[0]: v for k, v in df.partition_by("_path", as_dict=True).items()}}
    except (OSError, UnicodeError, pl.exceptions.PolarsError):
        out = {}
        for p in paths:
            out[str(p)] = tc.read_or_report(report, p, lambda q: map_windows([q], with_lengths))
        return out


def expand(
    windows: pl.DataFrame, lengths: Lengths, rng: np.random.Generator, sample_rate: float
) -> dict[str, np.ndarray]:
    """Sampled requests of the expanded windows (numpy columns, window then time order)."""
    t = windows["t"].to_numpy()
    lam = windows["rate"].to_numpy() * WINDOW_S * sample_rate
    counts = rng.poisson(lam)
    total = int(counts.sum())
    win = np.repeat(np.arange(len(t)), counts)
    offset = rng.uniform(0.0, WINDOW_S, total)
    order = np.lexsort((offset, win))
    win, offset = win[order], offset[order]
    rank = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    j = lengths.index(t)[win]
    drawn = {f: np.full(total, np.nan) for f in LENGTH_FIELDS}
    for jj in np.unique(j):
        mask = j == jj
        for f in LENGTH_FIELDS:
            pmf = lengths.pmfs[jj].get(f)
            if pmf is not None:
                drawn[f][mask] = rng.choice(pmf[0], size=int(mask.sum()), p=pmf[1])
    return {"win": win, "offset": offset, "rank": rank, **drawn}


class LengthSources:
    """The token lengths of each trace's client: its own dataset.json (parsed once; an unusable
    one is a file-level issue), else with `fallback` its pool's mixture (computed once a pool)."""

    def __init__(self, report: ImportReport, fallback: bool):
        self.report, self.fallback = report, fallback
        self.own: dict[Path, Lengths | None] = {}  # dataset.json path -> parsed (None: unusable)
        self.pools: dict[Path, Lengths | None] = {}  # pool folder -> mixture

    def client(self, ds: Path) -> Lengths | None:
        if ds not in self.own:
            try:
                self.own[ds] = load_lengths(ds)
            except tc.FileIssue as exc:
                self.report.issues.append(ImportIssue(str(ds), None, str(exc)))
                self.own[ds] = None
        return self.own[ds]

    def pool(self, folder: Path) -> Lengths | None:
        if folder not in self.pools:
            clients = {}
            for ds in sorted(folder.glob("chunk-*-dataset.json")):
                trace = ds.with_name(ds.name.replace("-dataset.json", "-trace.csv"))
                if (lg := self.client(ds)) is not None and trace.is_file():
                    clients[trace] = lg
            self.pools[folder] = pool_lengths(clients)
        return self.pools[folder]

    def of(self, trace: Path) -> tuple[Lengths | None, str | None]:
        """(lengths, servegen_lengths: client or pool) of a trace file's client."""
        ds = dataset_path(trace)
        lengths, source = (self.client(ds), "client") if ds.is_file() else (None, None)
        if lengths is None and self.fallback:
            lengths, source = self.pool(trace.parent), "pool"
        return lengths, source


def client_of(trace: Path) -> tuple[str, str, str]:
    """(category, pool, chunk) of a trace file: `reason/deepseek-r1/chunk-1-trace.csv`."""
    return trace.parent.parent.name, trace.parent.name, trace.name.removesuffix("-trace.csv").removesuffix(".csv")


def account(report: ServeGenReport, windows: pl.DataFrame, path: Path, sample_rate: float) -> pl.DataFrame:
    """Count a trace file's windows, report the ones that cannot be expanded; -> the others."""
    report.rows_read += windows.height
    report.issues += tc.issues_of(windows, str(path))
    good = windows.filter(pl.col("_reason").is_null())
    report.windows_expanded += good.height
    report.requests_expected += float(good["rate"].sum() or 0) * WINDOW_S * sample_rate
    return good


def sample_client(
    path: Path, good: pl.DataFrame, lengths: Lengths, source: str, seed: int, sample_rate: float
) -> pl.DataFrame | None:
    """The sampled requests of one client's expanded windows (columns for requests_table), or
    None when none is drawn."""
    category, pool, chunk = client_of(path)
    rng = np.random.default_rng([seed, zlib.crc32(f"{category}/{pool}/{chunk}".encode())])
    d = expand(good, lengths, rng, sample_rate)
    n = len(d["win"])
    if n == 0:
        return None
    model, _ = pool_model(category, pool)
    w = good.select(pl.all().gather(d["win"]))
    return pl.DataFrame(
        {
            "line": w["line"],
            "t": w["t"],
            "rate": w["rate"],
            "cv": w["cv"],
            "pattern": w["pattern"],
            "offset": d["offset"],
            "rank": d["rank"],
            "inp": d["input_tokens"],
            "outp": d["output_tokens"],
            "ratio": d["reason_ratio"],
            "id_prefix": pl.repeat(f"servegen-{pool}-{chunk}-", n, eager=True, dtype=pl.String),
            "application": pl.repeat(category, n, eager=True, dtype=pl.String),
            "client_id": pl.repeat(f"{pool}/{chunk}", n, eager=True, dtype=pl.String),
            "model": pl.repeat(model, n, eager=True, dtype=pl.String),
            "servegen_lengths": pl.repeat(source, n, eager=True, dtype=pl.String),
            "trace_file": pl.repeat(f"{category}/{pool}/{path.name}", n, eager=True, dtype=pl.String),
        }
    )


def requests_table(frames: list[pl.DataFrame], epoch: dt.datetime, sample_rate: float) -> pl.DataFrame:
    """The clients' sampled requests as contract requests with the extras (see the docstring)."""
    if not frames:
        return tc.empty_requests(EXTRAS)
    return (
        pl.concat(frames)
        .select(
            pl.concat_str(
                "id_prefix",
                pl.col("line").cast(pl.String).str.zfill(6),
                pl.lit("-"),
                pl.col("rank").cast(pl.String).str.zfill(5),
            ).alias("request_id"),
            tc.seconds_after(epoch, pl.col("t") + pl.col("offset")).alias("ts"),
            "application",
            "client_id",
            "model",
            pl.lit(PROVIDER).alias("provider"),
            pl.col("inp").round().cast(pl.Int64).alias("input_tokens"),
            pl.col("outp").round().cast(pl.Int64).alias("output_tokens"),
            pl.lit("ok").alias("status"),
            pl.lit(None, dtype=pl.String).alias("error_type"),
            pl.lit(None, dtype=pl.Float64).alias("latency_ms"),
            pl.lit(sample_rate, dtype=pl.Float64).alias("sample_rate"),
            "servegen_lengths",
            pl.col("ratio").fill_nan(None).alias("servegen_reason_ratio"),
            pl.col("rate").alias("servegen_window_rate"),
            pl.col("cv").alias("servegen_window_cv"),
            pl.col("pattern").alias("servegen_window_pattern"),
            "trace_file",
            pl.col("line").alias("trace_line"),
        )
        .pipe(tc.requests_frame, EXTRAS)
    )


def import_servegen(
    paths: list[Path],
    out: Path,
    *,
    sample_rate: float = DEFAULT_SAMPLE_RATE,
    seed: int = 0,
    epoch: dt.datetime = tc.DEFAULT_EPOCH,
    pool_lengths_fallback: bool = True,
) -> ServeGenReport:
    """Write out/{models,endpoints,requests}/servegen.parquet and the report; see the module
    docstring. Deterministic for given files, sample_rate, seed and epoch."""
    tc.check_sample_rate(sample_rate)
    report = ServeGenReport(FORMAT, Path(out))
    files = tc.find_files(paths, "chunk-*-trace.csv", "ServeGen trace", recursive=True)
    sources = LengthSources(report, pool_lengths_fallback)
    plan = [(path, *sources.of(path)) for path in files]
    windows_of = _read_windows(report, files, {str(p) for p, lg, _ in plan if lg is not None})
    frames, models = [], {}
    for path, lengths, source in plan:
        windows = windows_of[str(path)]
        if windows is None:  # unreadable (reported) or without a single line
            continue
        good = account(report, windows, path, sample_rate)
        if lengths is None or good.height == 0:
            continue
        frame = sample_client(path, good, lengths, source, seed, sample_rate)
        if frame is not None:
            frames.append(frame)
            model, facts = pool_model(*client_of(path)[:2])
            models[model] = facts
    reasoning = [m for p, (m, *_rest, r) in KNOWN_POOLS.items() if r]
    tc.write_requests_drop(report, OUT_NAME, requests_table(frames, epoch, sample_rate), models, reasoning)
    assert report.rows_read == report.windows_expanded + report.rows_reported
    return report
