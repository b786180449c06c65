"""marts.routing_recommendations (issue 17): a provider order per model, segment and objective,
learned on a training window under an analyst's constraints and validated on the window after
it. Pure: frames in (the replay's per-application rows, core_routing__application_daily; the
providers' checks; the segments), a frame out.

The policy is a fixed, ordered provider list with fallbacks, replayed as the frozen policies are
(README, Routing methods): a request goes to the first listed provider that fits it and was
available in the previous bucket; when that one is down in the request's own bucket, or none on
the list could take it, the official API serves it (the contract's baseline, the last resort of
every fixed order). Requests the official API cannot serve are excluded on both sides.

Learning (on the training window's rows, replayed exactly under the rule above): the better of
two orders, (1) greedy: starting from an empty list, add the allowed provider whose addition
improves the objective most (cost: the segment's total USD falls most; throughput: the
request-weighted decode tok/s rises most) until none does, ties to the first by name; (2) by
ratio: every allowed provider that beats the official API on the requests it could take, best
ratio first (greedy alone can put a provider that takes everything a little cheaper ahead of one
that takes most of it far cheaper). On a tie the ratio order, which keeps more fallbacks. The
official API, when allowed and not yet listed, closes the list (the fallback a gateway must name).
Allowed: the providers of the model with training requests they fit that pass the constraints
(RecommendParams).

Figures: predicted_change_pct is the learned order against the official API on the training
window's requests (in sample); its interval is a 95 % prediction interval for the change over a
window as long as the test window, if the training days are representative: days resampled
twice (a bootstrap of the training days, then test-window-many days drawn from that resample),
so it carries both the uncertainty of the training estimate and a window's day-to-day noise.
realised_change_pct is the same order replayed on the test window's requests (out of sample)
with the paired day-bootstrap interval of the rest of routing; oracle_change_pct the contract's
oracle on those requests. The variance of estimated cache hits (marts.routing_counterfactual) is
left out of these intervals."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.lib.marts.fixed_order_replay import dense_rows, learn_order, replay_order
from pipeline.lib.regimes import GENERATION_SHARE, LONG_CONTEXT_INPUT_P50, PROMPT_SHARE
from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED

ALL_TRAFFIC = "(all)"  # segment_kind 'model': one order for all of the model's traffic
# quantization classes, best first; `unknown` is below every declared format
QUANT_CLASS = {"bf16": 3, "fp16": 3, "fp8": 2, "int8": 2, "int4": 1, "fp4": 1, "unknown": 0}
QUANT_LABEL = {3: "16-bit", 2: "8-bit", 1: "4-bit", 0: "unknown"}


@dataclass(frozen=True)
class RecommendParams:
    """The analyst's settings. Windows are inclusive UTC days; None: the quarter of the last
    replayed day, its first two months to train, its last month to test."""

    train_start: dt.date | None = None
    train_end: dt.date | None = None
    test_start: dt.date | None = None
    test_end: dt.date | None = None
    # a provider's successful probes over the training window must have a p90 TTFT at most this
    # (ms; None: no cap). 2 s: an interactive caller's usual bound on the wait for a first token
    max_ttft_p90_ms: float | None = 2000.0
    # and at least this share of its probes there must succeed (the replay's availability threshold
    # is 0.9 per bucket; over two months a provider should do better)
    min_probe_success: float = 0.95
    # quality floor: not `fail` on the tool_calls suite (marts.vendor_verification) in any month of
    # the training window, for a segment with tool traffic there
    tool_call_floor: bool = True
    # quality floor: a quantization class (16-bit, 8-bit, 4-bit, unknown) at least the official's
    quantization_floor: bool = True
    # capacity: not a provider whose own logs over the training window show it refusing more the
    # busier it is (marts.provider_capacity's rule, fitted on the training window): the replay
    # assumes every listed provider takes all it is sent, which such a host does not
    capacity_floor: bool = True
    n_boot: int = N_BOOT
    seed: int = SEED


SCHEMA = {
    "model": pl.String,
    "segment": pl.String,
    "segment_kind": pl.String,
    "objective": pl.String,
    "providers": pl.List(pl.String),
    "baseline_provider": pl.String,
    "train_start": pl.Date,
    "train_end": pl.Date,
    "test_start": pl.Date,
    "test_end": pl.Date,
    "requests_train": pl.Float64,
    "requests_test": pl.Float64,
    "requests_covered_share": pl.Float64,
    "predicted_change_pct": pl.Float64,
    "predicted_change_pct_ci_low": pl.Float64,
    "predicted_change_pct_ci_high": pl.Float64,
    "realised_change_pct": pl.Float64,
    "realised_change_pct_ci_low": pl.Float64,
    "realised_change_pct_ci_high": pl.Float64,
    "oracle_change_pct": pl.Float64,
    "max_input_price_usd_per_mtok": pl.Float64,
    "max_output_price_usd_per_mtok": pl.Float64,
    "max_ttft_p90_ms": pl.Float64,
    "min_probe_success": pl.Float64,
    "tool_call_floor": pl.Boolean,
    "quantization_floor": pl.String,
    "capacity_floor": pl.Boolean,
    "providers_excluded": pl.List(pl.String),
}


def default_windows(days: list[dt.date]) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """The quarter of the last day: its first two months (train) and its last month (test)."""
    last = max(days)
    q0 = dt.date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)

    def month_start(d: dt.date, k: int) -> dt.date:
        m = d.month - 1 + k
        return dt.date(d.year + m // 12, m % 12 + 1, 1)

    test_start = month_start(q0, 2)
    return q0, test_start - dt.timedelta(days=1), test_start, month_start(q0, 3) - dt.timedelta(days=1)


def resolve(params: RecommendParams, days: list[dt.date]) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """The four window ends, defaults filled in; ValueError when they do not make two windows."""
    defaults = default_windows(days) if days else (None,) * 4
    ends = tuple(
        given if given is not None else default
        for given, default in zip(
            (params.train_start, params.train_end, params.test_start, params.test_end), defaults, strict=True
        )
    )
    if any(e is None for e in ends):
        raise ValueError("no replayed day to take the windows from: give train and test windows")
    a, b, c, d = ends
    if not (a <= b < c <= d):
        raise ValueError(
            f"the windows must be train_start <= train_end < test_start <= test_end, got {a}..{b} and {c}..{d}"
        )
    return a, b, c, d


def application_regimes(tokens: pl.DataFrame) -> dict[str, str]:
    """application -> token regime over the rows given (core_tokens__daily of the training days,
    every model's requests), by the rule of marts.task_regimes (pipeline/lib/regimes.py): the
    weighted median input tokens (the smallest count whose weighted CDF reaches 1/2) and the
    output share of tokens."""
    if not tokens.height:
        return {}
    sides = (
        tokens.filter(pl.col("side").is_in(["input", "output"]))
        .with_columns(pl.col("application").fill_null("unknown"))
        .group_by("application", "side", "tokens")
        .agg(pl.col("weight").sum())
        .sort("application", "side", "tokens")
    )
    out = {}
    for (app,), g in sides.group_by(["application"], maintain_order=True):
        inp = g.filter(pl.col("side") == "input")
        outp = g.filter(pl.col("side") == "output")
        if not inp.height:
            continue
        cdf = inp["weight"].cum_sum() / inp["weight"].sum()
        median = int(inp["tokens"][int((cdf >= 0.5 - 1e-12).arg_max())])
        tin = float((inp["tokens"] * inp["weight"]).sum())
        tout = float((outp["tokens"] * outp["weight"]).sum()) if outp.height else 0.0
        share = round(tout / (tin + tout), 12) if tin + tout > 0 else None
        if median >= LONG_CONTEXT_INPUT_P50:
            out[app] = "long-context"
        elif share is not None and share >= GENERATION_SHARE:
            out[app] = "generation-heavy"
        elif share is not None and share < PROMPT_SHARE:
            out[app] = "prompt-heavy"
        else:
            out[app] = "balanced"
    return out


def ratio_cis(pairs: list[tuple[np.ndarray, np.ndarray]], n_boot: int, seed: int, horizon: int | None = None):
    """Per (num, den) pair of day sums: sum(num) / sum(den) over the days with requests, and a 95 %
    percentile interval: the paired day bootstrap (horizon None: the days resampled), or the
    prediction interval of a window of `horizon` days (two stages: the days resampled, then
    `horizon` days drawn from that resample). Pairs with the same days share the resamples (the
    same seed gives the same days, as one pair at a time would), computed as one product."""
    out: list = [(None, None, None)] * len(pairs)
    by_days: dict[tuple, list[int]] = {}
    for j, (num, den) in enumerate(pairs):
        have = np.flatnonzero((den != 0) | (num != 0))
        if have.size and den[have].sum() != 0:
            by_days.setdefault(tuple(have), []).append(j)
    alpha = (1 - INTERVAL_LEVEL) / 2
    for days, members in by_days.items():
        n = len(days)
        cols = list(days)
        num = np.stack([pairs[j][0][cols] for j in members], axis=1)
        den = np.stack([pairs[j][1][cols] for j in members], axis=1)
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        if horizon is not None:
            idx = np.take_along_axis(idx, rng.integers(0, n, size=(n_boot, horizon)), axis=1)
        counts = np.bincount((np.arange(n_boot)[:, None] * n + idx).ravel(), minlength=n_boot * n)
        counts = counts.reshape(n_boot, n).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (counts @ num) / (counts @ den)
        finite = np.isfinite(boot)
        if finite.all():
            lo, hi = np.quantile(boot, [alpha, 1 - alpha], axis=0)
        else:  # a resample whose baseline sums to 0: left out, as ratio_of_means_ci does
            boot[~finite] = np.nan
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
        points = num.sum(axis=0) / den.sum(axis=0)
        for k, j in enumerate(members):
            out[j] = (float(points[k]), float(lo[k]), float(hi[k]))
    return out


def _pct(x):
    # 12 decimals: an order that keeps every request at the official API is 0 %, not 2e-14 %
    return None if x is None or not np.isfinite(x) else round(100.0 * (x - 1.0), 12)


def capacity_reasons(fit: pl.DataFrame) -> dict[tuple[str, str], str]:
    """(model, provider) -> why it is not listed, for the capacity-limited rows of a
    provider_capacity frame (pipeline/lib/marts/provider_capacity.py) fitted on the training window."""
    return {
        (r["model"], r["provider"]): (
            f"capacity-limited: rate limits +{r['slope_per_1k']:.2g} per 1,000 requests an hour "
            f"[{r['slope_per_1k_ci_low']:.2g}, {r['slope_per_1k_ci_high']:.2g}]"
        )
        for r in fit.filter(pl.col("capacity_limited")).iter_rows(named=True)
    }


def check_providers(
    checks: pl.DataFrame,
    failing_tools: set[tuple[str, str]],
    params: RecommendParams,
    capacity: dict[tuple[str, str], str] | None = None,
) -> dict[str, dict[str, list[str]]]:
    """model -> provider -> the reasons it may not be listed ([] when it may), tool-call
    verdicts apart (they bind only segments with tool traffic: `tool_fail`). `capacity`: the
    capacity-limited (model, provider) pairs and why (capacity_reasons)."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in checks.iter_rows(named=True):
        why = []
        official = r["provider"] == r["official_provider"]
        # the official API is never held to it: its refusals are retried there (routing_capacity)
        if params.capacity_floor and not official and (r["model"], r["provider"]) in (capacity or {}):
            why.append(capacity[(r["model"], r["provider"])])
        if params.quantization_floor and not official and r["official_quantization"] is not None:
            mine = QUANT_CLASS.get(r["quantization"] or "unknown", 0)
            floor = QUANT_CLASS.get(r["official_quantization"], 0)
            if r["quantization"] is None:
                why.append("no endpoint at the end of training")
            elif mine < floor:
                why.append(f"quantization {r['quantization']} below the official's {r['official_quantization']}")
        if r["probes"] == 0:
            why.append("no latency probes in training")
        else:
            if r["probe_success_rate"] is not None and r["probe_success_rate"] < params.min_probe_success:
                why.append(f"probe success {r['probe_success_rate']:.3f} < {params.min_probe_success:g}")
            if params.max_ttft_p90_ms is not None and (
                r["ttft_p90_ms"] is None or r["ttft_p90_ms"] > params.max_ttft_p90_ms
            ):
                p90 = "none" if r["ttft_p90_ms"] is None else f"{r['ttft_p90_ms']:.0f} ms"
                why.append(f"TTFT p90 {p90} > {params.max_ttft_p90_ms:g} ms")
        if (r["model"], r["provider"]) in failing_tools and not official:
            why.append("tool_fail")
        out.setdefault(r["model"], {})[r["provider"]] = why
    return out


def routing_recommendations(
    rows: pl.DataFrame,
    checks: pl.DataFrame,
    failing_tools: set[tuple[str, str]],
    regimes: dict[str, str],
    windows: tuple[dt.date, dt.date, dt.date, dt.date],
    params: RecommendParams = RecommendParams(),
    capacity: dict[tuple[str, str], str] | None = None,
) -> pl.DataFrame:
    """One row per model, segment and objective with training requests. `rows`: the
    core_routing__application_daily rows of both windows (with `date`); `checks`:
    core_routing__provider_checks; `failing_tools`: (model, provider) failing the tool-call
    floor; `regimes`: application -> token regime (training window); `capacity`: the
    capacity-limited (model, provider) over the training window and why (capacity_reasons)."""
    train_start, train_end, test_start, test_end = windows
    if not rows.height:
        return pl.DataFrame(schema=SCHEMA)
    rows = rows.filter(pl.col("date").is_between(train_start, test_end)).sort(
        "model", "date", "application", "seg_start", "mask", "own_ok_bits", "prev_ok_bits", nulls_last=True
    )
    train_days = [train_start + dt.timedelta(days=i) for i in range((train_end - train_start).days + 1)]
    test_days = [test_start + dt.timedelta(days=i) for i in range((test_end - test_start).days + 1)]
    day_index = {d: i for i, d in enumerate(train_days + test_days)}
    rows = rows.filter(pl.col("date").is_in(list(day_index)))
    n_train, n_days = len(train_days), len(train_days) + len(test_days)
    allowed_by = check_providers(checks, failing_tools, params, capacity)
    officials = dict(zip(checks["model"].to_list(), checks["official_provider"].to_list(), strict=True))
    prices = {
        (r["model"], r["provider"]): (r["input_usd_per_mtok"], r["output_usd_per_mtok"])
        for r in checks.iter_rows(named=True)
    }
    quant_floor = {
        r["model"]: r["official_quantization"] for r in checks.iter_rows(named=True) if r["official_quantization"]
    }
    out, pending = [], []
    for (model,), part in rows.group_by(["model"], maintain_order=True):
        m = dense_rows(part, day_index, officials.get(model))
        is_train = m.date < n_train
        segments = [("model", ALL_TRAFFIC, np.ones(len(m.w), dtype=bool))]
        apps = sorted({a for a in m.app[is_train]})
        segments += [("application", a, m.app == a) for a in apps]
        for regime in sorted({regimes[a] for a in apps if a in regimes}):
            members = [a for a in apps if regimes.get(a) == regime]
            segments.append(("token_regime", regime, np.isin(m.app, members)))
        verdicts = allowed_by.get(model, {})
        for kind, segment, member in segments:
            train_rows = np.flatnonzero(member & is_train)
            test_rows = np.flatnonzero(member & ~is_train)
            if not train_rows.size or not m.w[train_rows].sum() > 0:
                continue
            tools = params.tool_call_floor and m.w_tools[train_rows].sum() > 0
            with_traffic = set(np.array(m.providers)[m.fit[train_rows].any(axis=0)]) if m.providers else set()
            excluded, allowed = [], []
            for p in sorted(set(m.providers)):
                why = [w for w in verdicts.get(p, ["no checks"]) if w != "tool_fail" or tools]
                why = ["tool-call verdict fail" if w == "tool_fail" else w for w in why]
                if p not in with_traffic:
                    why.append("fits no training request")
                if why:
                    excluded.append(f"{p}: {'; '.join(why)}")
                else:
                    allowed.append(p)
            for objective in ("cost", "throughput"):
                order = learn_order(m, train_rows, objective, allowed)
                r_tr, b_tr, _, _ = replay_order(m, train_rows, objective, order, n_days)
                r_te, b_te, o_te, _ = replay_order(m, test_rows, objective, order, n_days)
                pending.append((r_tr[:n_train], b_tr[:n_train], r_te[n_train:], b_te[n_train:]))
                oracle = o_te[n_train:].sum() / b_te[n_train:].sum() if b_te[n_train:].sum() else None
                w_test = float(m.w[test_rows].sum())
                listed = [m.providers.index(p) for p in order if p in m.providers]
                covered = (
                    float(m.w[test_rows][m.fit[test_rows][:, listed].any(axis=1)].sum()) / w_test
                    if w_test > 0 and listed
                    else (0.0 if w_test > 0 else None)
                )
                price = [prices.get((model, p), (None, None)) for p in order]
                ins = [x for x, _ in price if x is not None]
                outs = [y for _, y in price if y is not None]
                out.append(
                    {
                        "model": model,
                        "segment": segment,
                        "segment_kind": kind,
                        "objective": objective,
                        "providers": order,
                        "baseline_provider": m.official,
                        "train_start": train_start,
                        "train_end": train_end,
                        "test_start": test_start,
                        "test_end": test_end,
                        "requests_train": float(m.w[train_rows].sum()),
                        "requests_test": w_test,
                        "requests_covered_share": covered,
                        "oracle_change_pct": _pct(oracle),
                        "max_input_price_usd_per_mtok": max(ins) if ins else None,
                        "max_output_price_usd_per_mtok": max(outs) if outs else None,
                        "max_ttft_p90_ms": params.max_ttft_p90_ms,
                        "min_probe_success": params.min_probe_success,
                        "tool_call_floor": bool(tools),
                        "quantization_floor": (
                            f"{QUANT_LABEL[QUANT_CLASS.get(quant_floor[model], 0)]} ({quant_floor[model]})"
                            if params.quantization_floor and model in quant_floor
                            else None
                        ),
                        "capacity_floor": params.capacity_floor,
                        "providers_excluded": excluded,
                    }
                )
    # the intervals, every row's at once: predicted over the training days, realised over the test days
    predicted = ratio_cis([(a, b) for a, b, _, _ in pending], params.n_boot, params.seed, horizon=len(test_days))
    realised = ratio_cis([(c, d) for _, _, c, d in pending], params.n_boot, params.seed)
    for row, pred, real in zip(out, predicted, realised, strict=True):
        for name, (point, lo, hi) in (("predicted_change_pct", pred), ("realised_change_pct", real)):
            row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = _pct(point), _pct(lo), _pct(hi)
    df = pl.DataFrame(out, schema=SCHEMA) if out else pl.DataFrame(schema=SCHEMA)
    floats = [c for c, t in SCHEMA.items() if t == pl.Float64]
    df = df.with_columns(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in floats)
    kind_order = {"model": 0, "application": 1, "token_regime": 2}
    return df.sort(
        pl.col("model"), pl.col("segment_kind").replace_strict(kind_order, default=3), "segment", "objective"
    )
