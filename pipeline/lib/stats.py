"""Small statistics shared by the marts: rank correlation with a bootstrap interval."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# The settings every interval of the marts is computed with, stated once; marts.run_parameters
# publishes them beside the figures.
INTERVAL_LEVEL = 0.95
N_BOOT = 1000  # bootstrap resamples
SEED = 0  # of every bootstrap: the same drop gives the same intervals


@lru_cache(maxsize=64)
def resample_indices(seed: int, n_units: int, n_boot: int = N_BOOT) -> np.ndarray:
    """The units each of n_boot resamples draws, with replacement: what
    default_rng(seed).integers(0, n_units, (n_boot, n_units)) gives, drawn once per size (a run
    bootstraps thousands of groups over a few sizes: 92 days, 30 or 31). Read-only."""
    idx = np.random.default_rng(seed).integers(0, n_units, size=(n_boot, n_units))
    idx.flags.writeable = False
    return idx


@lru_cache(maxsize=8)
def _standard_normals(seed: int, n: int) -> np.ndarray:
    """default_rng([seed, 1]).normal(0, s, n) is s times these, bit for bit."""
    z = np.random.default_rng([seed, 1]).standard_normal(n)
    z.flags.writeable = False
    return z


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis, ties sharing their average rank (scipy's
    rankdata(method="average"), without importing scipy: that import alone costs a second)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    n = x.shape[-1]
    pos = np.broadcast_to(np.arange(1, n + 1, dtype=float), x.shape)
    # a tie group spans [first, last] positions: its rank is their mean
    new_group = np.concatenate([np.ones(x.shape[:-1] + (1,), bool), xs[..., 1:] != xs[..., :-1]], axis=-1)
    group_id = np.cumsum(new_group, axis=-1) - 1
    flat = group_id + (np.arange(int(np.prod(x.shape[:-1]))).reshape(x.shape[:-1] + (1,)) * n)
    sums = np.bincount(flat.ravel(), weights=pos.ravel(), minlength=flat.size)
    counts = np.bincount(flat.ravel(), minlength=flat.size)
    avg = (sums / np.maximum(counts, 1))[flat]
    ranks = np.empty_like(avg)
    np.put_along_axis(ranks, order, avg, axis=-1)
    return ranks


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of every row pair (x[b], y[b]): Pearson's r of average ranks."""
    rx, ry = average_ranks(x), average_ranks(y)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))


def spearman_ci(
    x: np.ndarray, y: np.ndarray, n_boot: int = N_BOOT, seed: int = SEED, level: float = INTERVAL_LEVEL
) -> tuple[float, float, float]:
    """rho and its percentile bootstrap interval, resampling the units (pairs) with replacement.
    NaN where there are fewer than 3 units; resamples with no spread in x or y are dropped."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3:
        return float("nan"), float("nan"), float("nan")
    rho = float(spearman_rows(x[None, :], y[None, :])[0])
    idx = resample_indices(seed, x.size, n_boot)
    boot = spearman_rows(x[idx], y[idx])
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(boot, [alpha, 1 - alpha])
    return rho, float(lo), float(hi)


def ratio_of_means_ci(
    num: np.ndarray,
    den: np.ndarray,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    level: float = INTERVAL_LEVEL,
    extra_var: float = 0.0,
) -> tuple[float, float, float]:
    """mean(num) / mean(den) over paired units, and its percentile bootstrap interval resampling
    the units (the same units on both sides). NaN with no units or a zero denominator.
    `extra_var`: the variance of an error the units do not show (the ratio's, e.g. from values
    imputed within each unit), added to every resample as an independent normal draw, so the
    interval is that of the sum of both errors; a non-finite one leaves the interval unknown."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if num.size == 0 or den.mean() == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(num.mean() / den.mean())
    idx = resample_indices(seed, num.size, n_boot)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    if extra_var:
        if not np.isfinite(extra_var) or extra_var < 0:
            return point, float("nan"), float("nan")
        # its own stream: the resampled units are the same with or without it
        boot = boot + np.sqrt(extra_var) * _standard_normals(seed, boot.size)
    boot = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha]) if boot.size else (float("nan"), float("nan"))
    return point, float(lo), float(hi)
