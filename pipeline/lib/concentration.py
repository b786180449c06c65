"""Demand concentration: shares, top-k, Gini, HHI, Lorenz curves, and bootstrap intervals
that resample days (data contract, section 3).

Pure numpy. The statistics take a vector of unit demands as given; which units count (the
contract: units with demand > 0 in the period) is decided by the callers, and the
bootstrap applies the same rule to every resample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Above this, sums of demands (n units x up to 92 days) could overflow a double: the demands are
# divided by a power of two first. Shares, Gini and HHI do not change with the scale, and a
# power of two divides exactly, so ordinary data (far below) is never touched.
_SCALE_ABOVE = 2.0**900


def scaled(x: np.ndarray) -> np.ndarray:
    """x as floats, divided by a power of two near its largest finite value when that is above
    _SCALE_ABOVE (1e308 demands would overflow the sums to inf); else as it is."""
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    if top <= _SCALE_ABOVE:
        return x
    return x / 2.0 ** min(float(np.floor(np.log2(top))), 1023.0)  # log2 of 1.8e308 rounds up to 1024


def gini(x: np.ndarray) -> float:
    """Population Gini G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)) of the values given.

    Uses sum_i sum_j |x_i - x_j| = 2 sum_i (2i - n - 1) x_(i) over the ascending order, so
    it is O(n log n). 0 for equal values, (n - 1) / n when one of n units holds everything.
    """
    x = np.sort(scaled(x))
    n = x.size
    total = x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * total))


def top_k_share(x: np.ndarray, k: int) -> float:
    x = scaled(x)
    total = x.sum()
    return float(np.sort(x)[::-1][:k].sum() / total) if total > 0 else float("nan")


def hhi(x: np.ndarray) -> float:
    """Herfindahl-Hirschman index: the sum of squared shares (1/n for n equal units, 1 for one)."""
    x = scaled(x)
    total = x.sum()
    return float(np.sum((x / total) ** 2)) if total > 0 else float("nan")


def lorenz(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of the Lorenz curve, from (0, 0) to (1, 1): cumulative share of units (poorest
    first) against cumulative share of demand."""
    x = np.sort(scaled(x))
    n = x.size
    units = np.arange(0, n + 1) / n
    demand = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    return units, demand


def gini_rows(t: np.ndarray) -> np.ndarray:
    """Gini of every row of `t`, each over its own positive entries (vectorised)."""
    t = np.sort(np.asarray(t, dtype=float), axis=1)
    n_pos = (t > 0).sum(axis=1)
    zeros = t.shape[1] - n_pos
    i = np.arange(1, t.shape[1] + 1)[None, :] - zeros[:, None]  # rank among the positives
    total = t.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.sum((2 * i - n_pos[:, None] - 1) * t, axis=1) / (n_pos * total)
    return np.where(n_pos > 0, g, np.nan)


def top_k_rows(t: np.ndarray, k: int) -> np.ndarray:
    t = np.sort(np.asarray(t, dtype=float), axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return t[:, :k].sum(axis=1) / t.sum(axis=1)


@dataclass(frozen=True)
class Concentration:
    n: int
    top1_share: float
    top5_share: float
    gini: float
    hhi: float
    gini_ci_low: float
    gini_ci_high: float
    top5_ci_low: float
    top5_ci_high: float


def concentration(daily: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Concentration:
    """Concentration of the demand in `daily` (days x units), with percentile bootstrap
    intervals that resample whole days with replacement.

    Days are the resampling unit because demand is correlated within a day (one client's
    burst, one outage); resampling requests would understate the uncertainty.
    """
    daily = scaled(daily)
    totals = daily.sum(axis=0)
    x = totals[totals > 0]
    n_days = daily.shape[0]
    rng = np.random.default_rng(seed)
    # counts[b, d]: how often day d is drawn in resample b; totals of a resample = counts @ daily
    counts = rng.multinomial(n_days, np.full(n_days, 1.0 / n_days), size=n_boot)
    boot = counts @ daily
    alpha = (1 - level) / 2
    g_lo, g_hi = np.nanquantile(gini_rows(boot), [alpha, 1 - alpha])
    t_lo, t_hi = np.nanquantile(top_k_rows(boot, 5), [alpha, 1 - alpha])
    return Concentration(
        n=int(x.size),
        top1_share=top_k_share(x, 1),
        top5_share=top_k_share(x, 5),
        gini=gini(x),
        hhi=hhi(x),
        gini_ci_low=float(g_lo),
        gini_ci_high=float(g_hi),
        top5_ci_low=float(t_lo),
        top5_ci_high=float(t_hi),
    )
