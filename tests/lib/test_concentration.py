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


class TestBootstrap:
    @staticmethod
    def world(n_days: int, seed: int = 0) -> np.ndarray:
        # 6 units with fixed expected shares and day-to-day noise
        rng = np.random.default_rng(seed)
        base = np.array([40, 25, 15, 10, 6, 4], dtype=float)
        return base * rng.lognormal(0.0, 0.4, size=(n_days, base.size))

    def test_interval_contains_the_point_estimate(self):
        c = concentration(self.world(60), n_boot=500, seed=3)
        assert c.gini_ci_low <= c.gini <= c.gini_ci_high
        assert c.top5_ci_low <= c.top5_share <= c.top5_ci_high

    def test_interval_narrows_as_days_are_added(self):
        widths = [
            np.mean([
                (lambda c: c.gini_ci_high - c.gini_ci_low)(concentration(self.world(days, seed), n_boot=400, seed=seed))
                for seed in range(5)
            ])
            for days in (15, 60, 240)
        ]
        assert widths[0] > widths[1] > widths[2]

    def test_units_without_demand_do_not_count(self):
        daily = np.array([[5.0, 5.0, 0.0], [5.0, 5.0, 0.0]])
        c = concentration(daily, n_boot=50)
        assert c.n == 2 and c.gini == pytest.approx(0.0) and c.hhi == pytest.approx(0.5)

    def test_seeded(self):
        a = concentration(self.world(30), n_boot=200, seed=9)
        b = concentration(self.world(30), n_boot=200, seed=9)
        assert a == b
