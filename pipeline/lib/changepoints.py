"""Change points in a service object's daily series (issue 16): when did a provider's copy of a
model get slower, fail more, or call tools worse, by how much, and how sure are we.

A series is one metric of one provider x model, one value per UTC day (marts.service_metric_daily).
`detect` finds its change points in three steps:

1. Segmentation: PELT (as ruptures' Pelt computes it, over precomputed cost tables) over the series in units of its own noise. Latency and
   throughput are compared on a log scale (a regression multiplies them); rates on the arcsine
   square-root scale (binomial noise of the same sd at any rate). The noise is the robust scale
   of day-to-day differences, MAD(diff) / (0.6745 sqrt 2), which a step barely moves, floored at
   a quarter of the metric's minimum effect for latency and throughput (a series that never moves
   must not make a 0.1 % wobble news) and at the binomial sd of a day, 1 / (2 sqrt(n)), for rates. The cost is L1 (each segment summarised by its
   median): an outage day is one outlier, not a segment, and with segments of at least
   MIN_DAYS days a one- or two-day incident cannot form one. The penalty per change point is
   PENALTY x log(days), calibrated on generated worlds with planted shifts
   (pipeline/validate_changes.py, docs/change-detection.md, which also compares PELT-L2 and
   binary segmentation).
2. Evidence: at each boundary, the days of the neighbouring segments, at most WINDOW_DAYS on
   each side: before_value and after_value are their medians, p_value is the two-sided
   Mann-Whitney test of the two sets of days, and the interval of the change in percent is a
   percentile bootstrap of the ratio of the medians, days resampled on each side.
3. Filter: a change is published when p_value < ALPHA and its size reaches the metric's
   minimum effect (relative for latency and throughput, absolute for rates), so a 2 % wobble
   is not news even when it is real.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED, average_ranks

MIN_DAYS = 3  # shortest segment: a one- or two-day incident is not a new level
# days of evidence a published change needs on each side: a launch-day crunch (a new model's
# first days) is not a change of the service it settles into
MIN_EVIDENCE_DAYS = 5
WINDOW_DAYS = 14  # days on each side of a change that give its before / after evidence
PENALTY = 3.0  # x log(days) per change point, in noise units (calibrated: docs/change-detection.md)
ALPHA = 0.01  # significance a published change needs (Mann-Whitney, two-sided)
METHODS = ("pelt_l1", "pelt_l2", "binseg_l2")


@dataclass(frozen=True)
class MetricRule:
    """How a metric's changes are measured: on a log scale (`relative`, the change is a factor)
    or as it is (`absolute`, a rate), and the smallest change worth publishing in that scale
    (a fraction of the level for relative metrics, a difference of rates for absolute ones)."""

    relative: bool
    min_effect: float
    min_day_samples: int  # a day with fewer observations says too little to be a point of the series

    @property
    def noise_floor(self) -> float:
        return self.min_effect / 4


RULES = {
    "ttft_p50_ms": MetricRule(relative=True, min_effect=0.10, min_day_samples=12),
    "decode_tps_p50": MetricRule(relative=True, min_effect=0.10, min_day_samples=12),
    "probe_success_rate": MetricRule(relative=False, min_effect=0.02, min_day_samples=24),
    "request_error_rate": MetricRule(relative=False, min_effect=0.02, min_day_samples=5),
    "rate_limit_rate": MetricRule(relative=False, min_effect=0.02, min_day_samples=5),
    "schema_accuracy": MetricRule(relative=False, min_effect=0.05, min_day_samples=10),
    "tool_call_f1": MetricRule(relative=False, min_effect=0.05, min_day_samples=10),
}


@dataclass(frozen=True)
class Change:
    changed_at: dt.date  # the first day of the new level
    before_value: float
    after_value: float
    change_pct: float | None
    change_ci_low: float | None
    change_ci_high: float | None
    p_value: float
    samples_before: int
    samples_after: int
    days_before: int
    days_after: int


def binomial_floor(samples: np.ndarray) -> float:
    """The day-to-day sd a rate has from sampling alone on the arcsine scale, 1 / (2 sqrt(n)) at the
    series' typical day size n: a series of zeros and ones from a handful of requests is noise,
    whatever its MAD says."""
    return 0.5 / math.sqrt(max(float(np.median(samples)), 1.0)) if samples.size else 0.0


def noise_scale(y: np.ndarray, floor: float) -> float:
    """Robust standard deviation of day-to-day noise: MAD of the first differences over
    0.6745 sqrt(2) (a step is one large difference among many and barely moves it)."""
    if y.size < 3:
        return floor
    d = np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d))))
    return max(mad / (0.6745 * math.sqrt(2)), floor)


def l1_tables(z: np.ndarray) -> np.ndarray:
    """L1 segment costs of m series of one length n at once: out[k, s, e] = the sum of absolute
    deviations of z[k, s:e] from its median (0 for e - s < 2). Windows of length L + 1 are the
    sorted windows of length L with one value inserted (a comparison and two selects, no sort), so
    every series and window length costs a handful of numpy passes: one median per window took
    ~5 ms a 92-day series. With h = floor(L / 2), the cost is the sum of the h largest values
    minus the sum of the h smallest (the median's own terms cancel)."""
    m, n = z.shape
    out = np.zeros((m, n + 1, n + 1))
    windows = z[:, :, None]  # sorted windows of length 1 starting at 0..n-1
    for length in range(2, n + 1):
        prev, added = windows[:, : n - length + 1, :], z[:, length - 1 :]
        pos = (prev < added[..., None]).sum(axis=-1, keepdims=True)
        j = np.arange(length)
        shape = (*prev.shape[:2], 1)
        left = np.concatenate([prev, np.full(shape, np.inf)], axis=-1)
        right = np.concatenate([np.full(shape, -np.inf), prev], axis=-1)
        windows = np.where(j < pos, left, np.where(j == pos, added[..., None], right))
        h = length // 2
        cost = windows[..., length - h :].sum(axis=-1) - windows[..., :h].sum(axis=-1)
        starts = np.arange(n - length + 1)
        out[:, starts, starts + length] = cost
    return out


def l2_table(z: np.ndarray) -> np.ndarray:
    """L2 segment costs of one series: the sum of squared deviations from the segment's mean,
    from cumulative sums."""
    n = z.size
    s1, s2 = np.r_[0.0, np.cumsum(z)], np.r_[0.0, np.cumsum(z * z)]
    length = np.maximum(np.arange(n + 1)[None, :] - np.arange(n + 1)[:, None], 1)
    sums = s1[None, :] - s1[:, None]
    return np.maximum((s2[None, :] - s2[:, None]) - sums * sums / length, 0.0)


def pelt(table: np.ndarray, pen: float, min_size: int) -> list[int]:
    """PELT (Killick et al. 2012) over a table of segment costs, as ruptures' Pelt computes it
    with jump 1: the same candidates in the same order, the first of equal minima, the same
    pruning (a candidate is dropped once its cost exceeds the best by more than the penalty) and
    the same left-to-right sums. Returns the segment ends, the series' length last. ruptures'
    loop builds a dict per candidate and sums it anew: 4 of the 5 s the changelog took at 10M."""
    n = table.shape[0] - 1
    rows = table.tolist()
    best: dict[int, float] = {0: 0.0}
    back: dict[int, int] = {0: 0}
    admissible: list[int] = []
    for end in [*range(min_size, n), n]:
        # a start in (0, min_size) has no partition of its own left side: ruptures skips it
        if end - min_size in best:
            admissible.append(end - min_size)
        costs = [best[t] + (rows[t][end] + pen) for t in admissible]
        low = min(costs)
        i = costs.index(low)
        best[end], back[end] = low, admissible[i]
        admissible = [t for t, c in zip(admissible, costs, strict=True) if c <= low + pen]
    ends, end = [], n
    while end > 0:
        ends.append(end)
        end = back[end]
    return ends[::-1]


def _ruptures_cost(table: np.ndarray):
    """A ruptures cost object reading a precomputed table (binary segmentation)."""
    from ruptures.base import BaseCost

    class CostTable(BaseCost):
        model = "table"
        min_size = 2

        def fit(self, signal: np.ndarray) -> BaseCost:
            self.signal = np.asarray(signal).reshape(-1, 1)  # ruptures reads the length off it
            return self

        def error(self, start: int, end: int) -> float:
            return float(table[start, end])

    return CostTable()


def segment_many(
    series: list[np.ndarray], method: str = "pelt_l1", penalty: float = PENALTY, min_days: int = MIN_DAYS
) -> list[list[int]]:
    """Indices where a new segment starts (0 < b < len(z)), by `method`, for each series in noise
    units. The L1 cost tables of series of one length are computed together."""
    if method not in METHODS:
        raise ValueError(f"unknown change-point method {method!r}: one of {', '.join(METHODS)}")
    tables: dict[int, np.ndarray] = {}
    if method == "pelt_l1":
        lengths = sorted({z.size for z in series if z.size >= 2 * min_days})
        for n in lengths:
            idx = [i for i, z in enumerate(series) if z.size == n]
            for i, t in zip(idx, l1_tables(np.stack([series[i] for i in idx])), strict=True):
                tables[i] = t
    out = []
    for i, z in enumerate(series):
        n = z.size
        if n < 2 * min_days:
            out.append([])
            continue
        pen = penalty * math.log(n)
        if method == "binseg_l2":
            import ruptures as rpt

            algo = rpt.Binseg(custom_cost=_ruptures_cost(l2_table(z)), min_size=min_days, jump=1)
            ends = algo.fit(z.reshape(-1, 1)).predict(pen=pen)
        else:
            ends = pelt(tables[i] if method == "pelt_l1" else l2_table(z), pen, min_days)
        out.append([b for b in ends if 0 < b < n])
    return out


def segment(z: np.ndarray, method: str = "pelt_l1", penalty: float = PENALTY, min_days: int = MIN_DAYS) -> list[int]:
    """Indices where a new segment starts (0 < b < len(z)), by `method` over a series in noise units."""
    return segment_many([np.asarray(z, dtype=float)], method, penalty, min_days)[0]


def _change_pct(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (after / before - 1.0)
    return np.where(np.isfinite(pct), pct, np.nan)


def _bootstrap_pct(before: np.ndarray, after: np.ndarray, rng: np.random.Generator) -> tuple[float, float] | None:
    """Percentile interval of 100 (median(after) / median(before) - 1), days resampled per side."""
    b = np.median(before[rng.integers(0, before.size, (N_BOOT, before.size))], axis=1)
    a = np.median(after[rng.integers(0, after.size, (N_BOOT, after.size))], axis=1)
    pct = _change_pct(b, a)
    if np.isnan(pct).any():  # a resample with a zero level: no finite interval
        return None
    tail = 100 * (1 - INTERVAL_LEVEL) / 2
    lo, hi = np.percentile(pct, [tail, 100 - tail])
    return float(lo), float(hi)


def _evidence(
    values: np.ndarray, samples: np.ndarray, days: list[dt.date], lo: int, b: int, hi: int, rng: np.random.Generator
) -> Change:
    before, after = values[lo:b], values[b:hi]
    bv, av = float(np.median(before)), float(np.median(after))
    pct = _change_pct(np.array(bv), np.array(av))
    ci = _bootstrap_pct(before, after, rng) if bv != 0 else None
    p = mann_whitney_p(before, after)
    return Change(
        changed_at=days[b],
        before_value=bv,
        after_value=av,
        change_pct=None if np.isnan(pct) else float(pct),
        change_ci_low=ci[0] if ci else None,
        change_ci_high=ci[1] if ci else None,
        p_value=p,
        samples_before=int(samples[lo:b].sum()),
        samples_after=int(samples[b:hi].sum()),
        days_before=b - lo,
        days_after=hi - b,
    )


def mann_whitney_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of the Mann-Whitney U test, normal approximation with tie and continuity
    corrections (scipy.stats.mannwhitneyu's asymptotic method; scipy's import alone costs about a
    second a run)."""
    n1, n2 = a.size, b.size
    both = np.concatenate([a, b])
    n = n1 + n2
    u1 = average_ranks(both)[:n1].sum() - n1 * (n1 + 1) / 2
    _, counts = np.unique(both, return_counts=True)
    ties = float((counts**3 - counts).sum())
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:  # every value the same: no evidence of a change
        return 1.0
    u = max(u1, n1 * n2 - u1)
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def could_change(values: np.ndarray, rule: MetricRule) -> bool:
    """Whether two medians of the series, each over at least MIN_EVIDENCE_DAYS days (what a
    published change compares), can differ by the metric's minimum effect. Such a median lies
    between the series' k-th smallest and k-th largest value, k = ceil(MIN_EVIDENCE_DAYS / 2): a
    series whose range between them is smaller (an outage day or two aside) has no publishable
    change and skips the segmentation."""
    k = math.ceil(MIN_EVIDENCE_DAYS / 2)
    if values.size < 2 * MIN_EVIDENCE_DAYS:
        return False
    ordered = np.sort(values)
    lo, hi = float(ordered[k - 1]), float(ordered[-k])
    if rule.relative:
        return lo <= 0 or math.log(hi / lo) >= math.log1p(rule.min_effect)
    return hi - lo >= rule.min_effect


def large_enough(change: Change, rule: MetricRule) -> bool:
    if rule.relative:
        if change.before_value <= 0 or change.after_value <= 0:
            return False
        return abs(math.log(change.after_value / change.before_value)) >= math.log1p(rule.min_effect)
    return abs(change.after_value - change.before_value) >= rule.min_effect


@dataclass
class Series:
    """One daily series made ready to segment: the days it keeps, their values and samples, and
    `z`, the values on the metric's scale in units of their noise (empty: nothing to segment)."""

    days: list[dt.date]
    values: np.ndarray
    samples: np.ndarray
    rule: MetricRule
    z: np.ndarray


def prepare(days: list[dt.date], values: np.ndarray, samples: np.ndarray, rule: MetricRule) -> Series:
    values = np.asarray(values, dtype=float)
    samples = np.asarray(samples, dtype=float)
    keep = np.isfinite(values) & (samples >= rule.min_day_samples) & ((values > 0) if rule.relative else True)
    values, samples = values[keep], samples[keep]
    days = [d for d, k in zip(days, keep, strict=True) if k]
    if not values.size or not could_change(values, rule):
        return Series(days, values, samples, rule, np.zeros(0))
    # scales on which a change is a shift of the same noise everywhere: log for latency and speed
    # (a regression multiplies them), arcsine of the root for rates (binomial noise, whose sd
    # depends on the rate, becomes 1 / (2 sqrt(n)) at any rate)
    if rule.relative:
        y, floor = np.log(values), math.log1p(rule.noise_floor)
    else:
        y, floor = np.arcsin(np.sqrt(np.clip(values, 0.0, 1.0))), binomial_floor(samples)
    return Series(days, values, samples, rule, (y - np.median(y)) / noise_scale(y, floor))


def published(series: Series, bounds: list[int], alpha: float = ALPHA) -> list[Change]:
    """The changes at `bounds` that have the evidence, significance and size to be published."""
    edges = [0, *bounds, series.values.size]
    rng = np.random.default_rng(SEED)
    out = []
    for i, b in enumerate(bounds, start=1):
        lo, hi = max(edges[i - 1], b - WINDOW_DAYS), min(edges[i + 1], b + WINDOW_DAYS)
        change = _evidence(series.values, series.samples, series.days, lo, b, hi, rng)
        enough = min(change.days_before, change.days_after) >= MIN_EVIDENCE_DAYS
        if enough and change.p_value < alpha and large_enough(change, series.rule):
            out.append(change)
    return out


def detect_many(
    series: list[tuple[list[dt.date], np.ndarray, np.ndarray, MetricRule]],
    method: str = "pelt_l1",
    penalty: float = PENALTY,
    alpha: float = ALPHA,
) -> list[list[Change]]:
    """The published change points of each (days ascending, values, samples, rule) series."""
    ready = [prepare(*one) for one in series]
    bounds = segment_many([r.z for r in ready], method, penalty)
    return [published(r, b, alpha) for r, b in zip(ready, bounds, strict=True)]


def detect(
    days: list[dt.date],
    values: np.ndarray,
    samples: np.ndarray,
    rule: MetricRule,
    method: str = "pelt_l1",
    penalty: float = PENALTY,
    alpha: float = ALPHA,
) -> list[Change]:
    """The published change points of one daily series (days ascending, one value each)."""
    return detect_many([(days, values, samples, rule)], method, penalty, alpha)[0]
