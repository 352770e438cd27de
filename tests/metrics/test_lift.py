"""The statistics of campaign lift: published intervals reproduced from their counts, and the tests' behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from lifecycle_audit.metrics import lift

# Newcombe RG (1998). Interval estimation for the difference between independent proportions: comparison of eleven
# methods. Statistics in Medicine 17:873-890, Table II: 95 % intervals for theta = p1 - p2 by method 10 (the hybrid
# score interval, without continuity correction) for six examples (x1/n1 - x2/n2).
NEWCOMBE_TABLE_II_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II_METHOD_10)
def test_newcombe_reproduces_the_published_intervals_of_table_ii(counts, published):
    x1, n1, x2, n2 = counts
    got = lift.newcombe(x1, n1, x2, n2)
    assert got.estimate == pytest.approx(x1 / n1 - x2 / n2)
    assert (round(got.low, 4), round(got.high, 4)) == published


def test_wilson_reproduces_a_published_interval():
    """Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of seven methods.
    Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score): 81/263 -> 0.2553 to 0.3662."""
    w = lift.wilson(81, 263)
    assert (round(w.low, 4), round(w.high, 4)) == (0.2553, 0.3662)


def test_an_interval_says_whether_it_excludes_zero():
    assert lift.newcombe(56, 70, 48, 80).above_zero
    assert lift.newcombe(48, 80, 56, 70).below_zero
    none = lift.newcombe(5, 56, 0, 29)
    assert not none.above_zero and not none.below_zero


def test_bootstrap_is_seeded_and_covers_the_true_difference():
    rng = np.random.default_rng(3)
    treated = np.where(rng.random(4000) < 0.10, 60.0, 0.0)  # mean 6
    control = np.where(rng.random(1000) < 0.05, 60.0, 0.0)  # mean 3
    a = lift.bootstrap_mean_difference(treated, control, seed=11)
    assert a == lift.bootstrap_mean_difference(treated, control, seed=11)
    assert a.estimate == pytest.approx(treated.mean() - control.mean())
    assert a.low < 3.0 < a.high and a.above_zero
    # the plain bootstrap that draws every value gives the same interval within simulation error
    draws = 2000
    plain = [rng.choice(treated, len(treated)).mean() - rng.choice(control, len(control)).mean() for _ in range(draws)]
    lo, hi = np.quantile(plain, [0.025, 0.975])
    assert a.low == pytest.approx(lo, abs=0.25) and a.high == pytest.approx(hi, abs=0.25)


def test_bootstrap_of_groups_that_never_buy_is_zero():
    z = lift.bootstrap_mean_difference(np.zeros(100), np.zeros(50))
    assert z == (0.0, 0.0, 0.0)


def test_sample_ratio_mismatch_flags_a_split_chance_does_not_explain():
    assert lift.sample_ratio_mismatch(9000, 1000, 0.10) == pytest.approx(1.0)
    assert lift.sample_ratio_mismatch(8990, 1010, 0.10) > 0.5
    assert lift.sample_ratio_mismatch(9200, 800, 0.10) < 1e-6  # 800 held out where 1,000 were planned


@pytest.mark.parametrize(
    ("treated", "control", "share"),
    [(9000, 1000, 0.10), (8990, 1010, 0.10), (9200, 800, 0.10), (40, 13, 0.3), (5, 0, 0.5)],
)
def test_sample_ratio_mismatch_is_scipys_chi_square_test(treated, control, share):
    from scipy import stats  # noqa: PLC0415 - only this test compares with scipy

    n = treated + control
    expected = stats.chisquare([treated, control], f_exp=[n * (1 - share), n * share]).pvalue
    assert lift.sample_ratio_mismatch(treated, control, share) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_standardised_difference_of_a_pre_period_measure():
    t = np.r_[np.ones(30), np.zeros(70)]  # 30 % ordered before
    c = np.r_[np.ones(10), np.zeros(90)]  # 10 %
    assert lift.standardised_difference(t, c) == pytest.approx(0.2 / np.sqrt((0.3 * 0.7 + 0.1 * 0.9) / 2), rel=0.02)
    assert lift.standardised_difference(np.zeros(5), np.zeros(5)) == 0.0
    assert lift.standardised_difference(np.zeros(5), np.ones(5)) == -np.inf  # constant groups that differ
