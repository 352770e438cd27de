"""Lift of a campaign over its control group: the statistics behind retention.campaign_incrementality.

Plain functions over counts and arrays, each a documented method:

- `wilson`: the Wilson score interval of one proportion (Wilson 1927).
- `newcombe`: the difference of two proportions with Newcombe's hybrid score interval, his method 10
  (Newcombe 1998, "Interval estimation for the difference between independent proportions: comparison of
  eleven methods", Statistics in Medicine 17:873-890): each proportion's Wilson interval combined by the
  square-and-add rule. It keeps its coverage near 95 % for small counts and rates near 0, where the plain
  Wald interval fails, which is where campaign conversion rates lie.
- `bootstrap_mean_difference`: a seeded percentile bootstrap of the difference of two means (revenue per
  customer), resampling each group on its own (Efron & Tibshirani 1993, ch. 13).
- `sample_ratio_mismatch`: the chi-square goodness-of-fit test of the groups' sizes against the planned split
  (Fabijan et al. 2019, "Diagnosing sample ratio mismatch in online controlled experiments", KDD).
- `standardised_difference`: the standardised mean difference of a pre-period measure between the groups;
  above 0.1 is the usual sign of imbalance (Austin 2009, Statistics in Medicine 28:3083-3107).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import NamedTuple

import numpy as np

Z95 = NormalDist().inv_cdf(0.975)  # 1.959964


class Interval(NamedTuple):
    """An estimate with its confidence interval."""

    estimate: float
    low: float
    high: float

    @property
    def above_zero(self) -> bool:
        """The whole interval lies above zero: a lift distinguishable from none."""
        return self.low > 0

    @property
    def below_zero(self) -> bool:
        """The whole interval lies below zero."""
        return self.high < 0


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval of the proportion successes / n (n > 0)."""
    if n <= 0:
        raise ValueError("a proportion needs n > 0")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """The difference x1/n1 − x2/n2 with Newcombe's hybrid score interval (method 10, no continuity correction)."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high)


def bootstrap_mean_difference(
    treated: np.ndarray, control: np.ndarray, draws: int = 2000, seed: int = 0, level: float = 0.95
) -> Interval:
    """mean(treated) − mean(control) with a seeded percentile bootstrap interval (each group resampled on its own).

    Revenue per customer is mostly zeros: a resample of n values holds Binomial(n, k/n) of the k non-zero ones,
    drawn with replacement among them, which is the same bootstrap without drawing the zeros."""
    rng = np.random.default_rng(seed)
    t, c = np.asarray(treated, float), np.asarray(control, float)
    diffs = _resampled_means(rng, t, draws) - _resampled_means(rng, c, draws)
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return Interval(float(t.mean() - c.mean()), float(low), float(high))


def _resampled_means(rng: np.random.Generator, values: np.ndarray, draws: int) -> np.ndarray:
    """Means of `draws` bootstrap resamples of `values`."""
    n = len(values)
    nonzero = values[values != 0]
    if not len(nonzero):
        return np.zeros(draws)
    k = rng.binomial(n, len(nonzero) / n, draws)
    picked = nonzero[rng.integers(0, len(nonzero), int(k.sum()))]
    return np.bincount(np.repeat(np.arange(draws), k), weights=picked, minlength=draws) / n


def sample_ratio_mismatch(treated: int, control: int, control_share: float) -> float:
    """p-value of the chi-square test that the groups' sizes follow the planned control share.

    Two groups leave the statistic one degree of freedom, whose survival function is erfc(sqrt(x / 2)): the same
    p-value as scipy.stats.chisquare (a test compares them) without importing scipy.stats, about 1 s of CPU in every
    kernel that computes one."""
    n = treated + control
    expected = (n * (1 - control_share), n * control_share)
    statistic = sum((seen - e) ** 2 / e for seen, e in zip((treated, control), expected, strict=True))
    return math.erfc(math.sqrt(statistic / 2))


def standardised_difference(treated: np.ndarray, control: np.ndarray) -> float:
    """(mean treated − mean control) / pooled standard deviation; when both groups are constant, 0 if they are
    equal and ±inf if not."""
    t, c = np.asarray(treated, float), np.asarray(control, float)
    diff = float(t.mean() - c.mean())
    sd = math.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2) if len(t) > 1 and len(c) > 1 else 0.0
    if sd > 0:
        return diff / sd
    return 0.0 if diff == 0 else math.copysign(math.inf, diff)
