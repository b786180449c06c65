"""Concentration statistics on closed-form and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.lib.concentration import (
    concentration,
    gini,
    gini_rows,
    hhi,
    lorenz,
    replicate_totals,
    top_k_rows,
    top_k_share,
)


class TestGini:
    def test_equal_shares_is_zero(self):
        assert gini(np.full(7, 3.0)) == pytest.approx(0.0)

    @pytest.mark.parametrize("n", [2, 4, 20])
    def test_one_unit_holding_everything_is_n_minus_1_over_n(self, n):
        x = np.zeros(n)
        x[0] = 10.0
        assert gini(x) == pytest.approx((n - 1) / n)

    def test_small_case_by_hand(self):
        # x = (1, 2, 3): ordered pairs |xi - xj| sum to 2 * (1 + 2 + 1) = 8;
        # n = 3, mean = 2: G = 8 / (2 * 9 * 2) = 2/9
        assert gini(np.array([3.0, 1.0, 2.0])) == pytest.approx(2 / 9)

    def test_scale_invariant(self):
        x = np.array([5.0, 1.0, 9.0, 2.0])
        assert gini(x * 1000) == pytest.approx(gini(x))

    def test_rows_match_the_scalar_on_positive_entries(self):
        rng = np.random.default_rng(1)
        t = rng.exponential(size=(50, 12)) * (rng.random((50, 12)) > 0.3)
        expected = [gini(row[row > 0]) for row in t]
        assert gini_rows(t) == pytest.approx(expected)


class TestShares:
    def test_hhi(self):
        assert hhi(np.array([1.0, 1.0])) == pytest.approx(0.5)
        assert hhi(np.array([3.0, 1.0])) == pytest.approx(0.75**2 + 0.25**2)
        assert hhi(np.array([4.0])) == pytest.approx(1.0)

    def test_top_k(self):
        x = np.array([2.0, 5.0, 3.0])
        assert top_k_share(x, 1) == pytest.approx(0.5)
        assert top_k_share(x, 5) == pytest.approx(1.0)
        assert top_k_rows(np.array([[2.0, 5.0, 3.0, 0.0]]), 2)[0] == pytest.approx(0.8)

    def test_lorenz_points(self):
        units, demand = lorenz(np.array([3.0, 1.0]))
        assert units.tolist() == [0.0, 0.5, 1.0]
        assert demand.tolist() == [0.0, 0.25, 1.0]


class TestIntervals:
    """Intervals that resample the logged requests (pipeline/lib/concentration.py)."""

    @staticmethod
    def log(
        n: int, rng: np.random.Generator, shares: np.ndarray, rates: np.ndarray, rate_p: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """n logged requests: a unit by `shares` (the truth), a sample rate by `rate_p`; the
        units' weighted totals and sums of squared weights."""
        unit = rng.choice(shares.size, size=n, p=shares)
        w = 1 / rates[rng.choice(rates.size, size=n, p=rate_p)]
        return np.bincount(unit, weights=w, minlength=shares.size), np.bincount(
            unit, weights=w * w, minlength=shares.size
        )

    def test_replicates_have_the_units_mean_and_variance(self):
        # 20 requests at rate 0.2 (w = 5): T = 100, V = 500; and 50 at rate 1: T = V = 50
        boot = replicate_totals(np.array([100.0, 50.0]), np.array([500.0, 50.0]), 20_000, np.random.default_rng(1))
        assert boot.mean(axis=0) == pytest.approx([100.0, 50.0], rel=0.01)
        assert boot.var(axis=0) == pytest.approx([500.0, 50.0], rel=0.04)
        assert (boot[:, 0] % 5 == 0).all()  # whole requests of weight 5

    def test_gini_interval_covers_the_truth_despite_the_bias(self):
        # 12 units with unequal shares, 20k requests logged at rates 1, 0.25 and 0.05: the plug-in
        # Gini is biased up at this size; 200 logs of the same world, truth = Gini of the shares
        shares = np.array([30, 20, 12, 9, 7, 6, 5, 4, 3, 2, 1.5, 0.5])
        shares = shares / shares.sum()
        truth = gini(shares), top_k_share(shares, 5)
        rng = np.random.default_rng(5)
        hits = np.zeros(2)
        for b in range(200):
            t, v = self.log(20_000, rng, shares, np.array([1.0, 0.25, 0.05]), np.array([0.6, 0.3, 0.1]))
            c = concentration(t, v, n_boot=400, seed=b)
            hits += (c.gini_ci_low <= truth[0] <= c.gini_ci_high, c.top5_ci_low <= truth[1] <= c.top5_ci_high)
        # 95 % nominal; 200 replications: a 99 % binomial band of about +-4 points
        assert all(0.90 <= h / 200 <= 0.99 for h in hits), hits / 200

    def test_interval_narrows_as_requests_are_added(self):
        shares = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
        widths = []
        for n in (1_000, 10_000, 100_000):
            rng = np.random.default_rng(n)
            w = [
                (lambda c: c.gini_ci_high - c.gini_ci_low)(
                    concentration(
                        *self.log(n, rng, shares, np.array([1.0, 0.1]), np.array([0.5, 0.5])), n_boot=300, seed=s
                    )
                )
                for s in range(3)
            ]
            widths.append(np.mean(w))
        assert widths[0] > widths[1] > widths[2]

    def test_units_without_demand_do_not_count(self):
        c = concentration(np.array([10.0, 10.0, 0.0]), np.array([10.0, 10.0, 0.0]), n_boot=50)
        assert c.n == 2 and c.gini == pytest.approx(0.0) and c.hhi == pytest.approx(0.5)

    def test_seeded(self):
        t, v = np.array([40.0, 25.0, 15.0, 10.0, 6.0, 4.0]), np.array([80.0, 50.0, 30.0, 20.0, 12.0, 8.0])
        assert concentration(t, v, n_boot=200, seed=9) == concentration(t, v, n_boot=200, seed=9)
