"""The change-point detector (pipeline/lib/changepoints.py) on series whose changes are known by
construction: a clean step, two steps, a wobble below the minimum effect, short outages, and days
too thin to be points of a series."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from pipeline.lib.changepoints import RULES, binomial_floor, detect, l1_tables, noise_scale, segment

DAYS = [dt.date(2025, 10, 1) + dt.timedelta(days=i) for i in range(92)]
# a deterministic +-1 % day-to-day wobble: the noise every series has
WOBBLE = 1 + 0.01 * np.sin(np.arange(92) * 2.1)


def _ttft(level_by_day: np.ndarray) -> list:
    return detect(DAYS, level_by_day * WOBBLE, np.full(92, 144), RULES["ttft_p50_ms"])


def test_a_clean_step_is_found_on_its_day_with_its_size():
    level = np.where(np.arange(92) < 40, 500.0, 650.0)
    (change,) = _ttft(level)
    assert change.changed_at == DAYS[40]
    # medians of the 14 days each side: the wobble is symmetric enough that both medians sit on it
    before = np.median(500.0 * WOBBLE[26:40])
    after = np.median(650.0 * WOBBLE[40:54])
    assert change.before_value == pytest.approx(before)
    assert change.after_value == pytest.approx(after)
    assert change.change_pct == pytest.approx(100 * (after / before - 1))
    assert change.change_ci_low <= change.change_pct <= change.change_ci_high
    assert (change.days_before, change.days_after) == (14, 14)
    assert (change.samples_before, change.samples_after) == (14 * 144, 14 * 144)
    # 14 days all below 14 days: U = 0, and the normal approximation with continuity correction
    # gives z = (14 * 14 / 2 - 0.5) / sqrt(14 * 14 * 29 / 12)
    z = (98 - 0.5) / math.sqrt(14 * 14 * 29 / 12)
    assert change.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-6)


def test_a_regression_and_its_repair_are_two_changes():
    level = np.full(92, 500.0)
    level[30:60] = 900.0
    changes = _ttft(level)
    assert [c.changed_at for c in changes] == [DAYS[30], DAYS[60]]
    assert changes[0].change_pct > 70 and changes[1].change_pct < -40


def test_a_wobble_below_the_minimum_effect_is_not_news():
    # a real but small step (5 % < the 10 % minimum for latency) on a very quiet series
    level = np.where(np.arange(92) < 40, 500.0, 525.0)
    assert _ttft(level) == []


def test_short_outages_are_not_changes():
    # probe success at 99.7 % but three separate bad days (outages of a few hours)
    rate = np.full(92, 0.997) - 0.002 * (np.arange(92) % 3 == 0)
    rate[[10, 45, 70]] = [0.70, 0.80, 0.91]
    assert detect(DAYS, rate, np.full(92, 144), RULES["probe_success_rate"]) == []


def test_a_lasting_drop_in_success_is_found():
    rate = np.full(92, 0.997) - 0.002 * (np.arange(92) % 3 == 0)
    rate[50:] -= 0.08
    rate[20] = 0.75  # an outage day before it changes nothing
    (change,) = detect(DAYS, rate, np.full(92, 144), RULES["probe_success_rate"])
    assert change.changed_at == DAYS[50]
    assert change.after_value - change.before_value == pytest.approx(-0.08, abs=0.003)


def test_days_with_too_few_requests_are_not_points():
    # three requests a day: rates of 0, 1/3, 2/3 and 1 say nothing, even when they "jump"
    rate = np.where(np.arange(92) < 50, 0.0, 2 / 3)
    assert detect(DAYS, rate, np.full(92, 3), RULES["request_error_rate"]) == []
    # the same jump on 300 requests a day is a change
    (change,) = detect(DAYS, rate * 0.1 + 0.01, np.full(92, 300), RULES["request_error_rate"])
    assert change.changed_at == DAYS[50]


def test_noise_scales():
    # the MAD of differences of a series with one step is the noise's, not the step's
    rng = np.random.default_rng(3)
    y = rng.normal(0, 0.05, 2000)
    y[1000:] += 5
    assert noise_scale(y, 0.0) == pytest.approx(0.05, rel=0.1)
    assert noise_scale(np.zeros(10), 0.01) == 0.01  # floored
    # sampling sd of a rate on the arcsine scale: 1 / (2 sqrt(n)) at the median day size
    assert binomial_floor(np.array([100, 100, 400])) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "method, kind, algo", [("pelt_l1", "l1", "Pelt"), ("pelt_l2", "l2", "Pelt"), ("binseg_l2", "l2", "Binseg")]
)
def test_segmentation_equals_ruptures_with_its_own_costs(method, kind, algo):
    """Our PELT over precomputed cost tables (and Binseg reading them) against ruptures computing
    every cost itself: the same change points, on steps, spikes and ties."""
    import ruptures as rpt

    rng = np.random.default_rng(7)
    cases = []
    for n in (6, 7, 20, 60, 92):
        z = rng.standard_normal(n)
        z[n // 2 :] += 2.0
        z[n // 3] += 8.0
        cases.append(z)
    cases.append(np.round(rng.standard_normal(40), 0))  # many equal values: ties in medians and costs
    cases.append(np.r_[np.zeros(10), np.ones(10) * 3, np.zeros(10)])
    for z in cases:
        for pen in (2.0, 8.0):
            theirs = getattr(rpt, algo)(model=kind, min_size=3, jump=1).fit(z.reshape(-1, 1)).predict(pen=pen)
            ours = segment(z, method, penalty=pen / math.log(z.size), min_days=3)
            assert ours == [b for b in theirs if 0 < b < z.size], (method, z.size, pen)


def test_l1_tables_are_sums_of_absolute_deviations_from_the_median():
    z = np.array([[3.0, 1.0, 4.0, 1.0, 5.0], [0.0, 0.0, 2.0, 2.0, 9.0]])
    t = l1_tables(z)
    for k in range(2):
        for s in range(5):
            for e in range(s + 1, 6):
                w = z[k, s:e]
                assert t[k, s, e] == pytest.approx(np.abs(w - np.median(w)).sum())
    assert t[0, 0, 5] == 7.0  # median 3: 0 + 2 + 1 + 2 + 2


def test_mann_whitney_equals_scipys_asymptotic_test():
    from scipy.stats import mannwhitneyu

    from pipeline.lib.changepoints import mann_whitney_p

    rng = np.random.default_rng(11)
    for n1, n2, ties in ((14, 14, False), (5, 14, True), (9, 3, True), (14, 6, False)):
        a = rng.normal(0, 1, n1)
        b = rng.normal(0.8, 1, n2)
        if ties:  # rates of a few requests: many equal values
            a, b = np.round(a), np.round(b)
        want = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
        assert mann_whitney_p(a, b) == pytest.approx(want, rel=1e-9)
    assert mann_whitney_p(np.zeros(5), np.zeros(7)) == 1.0


def test_a_series_whose_range_is_below_the_minimum_effect_is_not_segmented():
    from pipeline.lib.changepoints import could_change

    quiet = np.array([100.0, 105.0, 109.0] * 4)
    assert not could_change(quiet, RULES["ttft_p50_ms"])  # 9 % < 10 %
    # two outage days alone cannot make a change: a 5-day median never reaches them
    assert not could_change(np.r_[quiet, 500.0, 900.0], RULES["ttft_p50_ms"])
    # three high days could be the evidence of a 5-day median's upper half
    assert could_change(np.r_[quiet, 500.0, 500.0, 500.0], RULES["ttft_p50_ms"])
    assert not could_change(np.array([0.99, 0.985, 1.0] * 4), RULES["probe_success_rate"])  # 1.5 < 2 points
    assert not could_change(np.array([100.0, 200.0] * 4), RULES["ttft_p50_ms"])  # 8 days: no 5 + 5
