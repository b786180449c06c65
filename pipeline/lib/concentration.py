"""Demand concentration: shares, top-k, Gini, HHI, Lorenz curves, and their intervals (data
contract, section 3).

Pure numpy. The statistics take a vector of unit demands as given; which units count (the
contract: units with demand > 0 in the period) is decided by the callers, and the
bootstrap applies the same rule to every resample.

Intervals (issue 14) resample the logged requests, as the sample design drew them: a unit's
weighted total T = sum of w over its logged requests (w = 1 / sample_rate) with V = sum of w^2.
A replicate redraws each logged request Poisson(1) times; the unit's replicate total is taken
as (V / T) x Poisson(T^2 / V), the same mean and variance as that redraw with one effective
weight (exact when the unit's requests share a sample rate; Kish's effective sample size
T^2 / V). Days stay as they are, so a trend (a successor taking over) is not read as noise, as
resampling whole days did. The plug-in Gini and top-k share are biased upward at small samples
(noise spreads the units apart), and a percentile interval shifts the same way; the interval
is instead centred on the bias-corrected estimate 2 x estimate - mean(replicates), +-1.96
replicate standard deviations. Coverage measured on generated worlds is in
docs/methods-validation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from pipeline.lib.stats import INTERVAL_LEVEL, N_BOOT, SEED

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


def replicate_totals(totals: np.ndarray, squares: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """n_boot x units replicate totals: (V / T) x Poisson(T^2 / V) per unit (see the module
    docstring); a unit with V = 0 keeps its total; a unit whose V is not a finite float (demand
    near 1e308) gives NaN replicates, hence no interval."""
    t, v = np.asarray(totals, dtype=float), np.asarray(squares, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scale, n_eff = v / t, t * t / v
    sampled = v != 0  # NaN too: not a zero
    # a sum of squares past the float range (or made NaN by it): no interval
    usable = np.isfinite(v) & np.isfinite(scale) & np.isfinite(n_eff) & (n_eff < 2**62)
    lam = np.where(sampled & usable, n_eff, 0.0)
    draws = rng.poisson(lam[None, :], size=(n_boot, t.size)) * np.where(sampled & usable, scale, 0.0)[None, :]
    out = np.where(sampled[None, :], draws, t[None, :])
    return np.where((usable | ~sampled)[None, :], out, np.nan)


def bias_corrected_interval(point: float, replicates: np.ndarray, level: float = INTERVAL_LEVEL) -> tuple[float, float]:
    """2 x point - mean(replicates) +- z x sd(replicates), clipped to [0, 1] (shares and Gini)."""
    r = replicates[np.isfinite(replicates)]
    if r.size < 2 or not np.isfinite(point):
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    centre, sd = 2 * point - float(r.mean()), float(r.std(ddof=1))
    return float(np.clip(centre - z * sd, 0.0, 1.0)), float(np.clip(centre + z * sd, 0.0, 1.0))


def concentration(
    totals: np.ndarray, squares: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED, level: float = INTERVAL_LEVEL
) -> Concentration:
    """Concentration of the units' weighted demand `totals` (sum of w per unit) with intervals
    for Gini and top-5 from replicates of the logged requests (`squares`: sum of w^2 per unit,
    for tokens sum of (w x tokens)^2)."""
    raw, squares = np.asarray(totals, dtype=float), np.asarray(squares, dtype=float)
    totals = scaled(raw)
    keep = totals > 0
    # the squares scale with the totals' power of two, squared (1 for ordinary data)
    factor = float(totals[keep][0] / raw[keep][0]) if keep.any() else 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        x, v = totals[keep], squares[keep] * factor * factor  # in two steps: factor**2 may underflow to 0
    boot = replicate_totals(x, v, n_boot, np.random.default_rng(seed))
    g, t5 = gini(x), top_k_share(x, 5)
    g_lo, g_hi = bias_corrected_interval(g, gini_rows(boot), level)
    t_lo, t_hi = bias_corrected_interval(t5, top_k_rows(boot, 5), level)
    return Concentration(
        n=int(x.size),
        top1_share=top_k_share(x, 1),
        top5_share=t5,
        gini=g,
        hhi=hhi(x),
        gini_ci_low=g_lo,
        gini_ci_high=g_hi,
        top5_ci_low=t_lo,
        top5_ci_high=t_hi,
    )
