"""Scores from declared control points on a log-normal curve, as Lighthouse scores its audits."""

from __future__ import annotations

import math
from statistics import NormalDist

# Lighthouse: the value at `good` (its p10) scores 0.9, the value at `poor` (its median) scores 0.5.
PASS_AT = 0.9
WARN_AT = 0.5
_Z10 = NormalDist().inv_cdf(0.9)  # 1.2816: how many sigmas separate the p10 from the median
_TINY = 1e-12


def _lower_is_better(value: float, good: float, poor: float) -> float:
    """Complementary log-normal CDF through (good, 0.9) and (poor, 0.5); needs 0 < good < poor."""
    if value <= 0:
        return 1.0
    sigma = (math.log(poor) - math.log(good)) / _Z10
    z = (math.log(value) - math.log(poor)) / sigma
    return 1.0 - NormalDist().cdf(z)


def score(value: float, good: float, poor: float, better: str = "lower", bounded: bool = True) -> float:
    """A score in [0, 1] for `value`, where `good` scores 0.9 and `poor` scores 0.5.

    better="lower": smaller values are better (good < poor).
    better="higher": larger values are better (good > poor). A bounded rate (a share in [0, 1])
    is scored on its shortfall 1 - value; an unbounded measure on its reciprocal.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError("cannot score a missing value")
    if better == "lower":
        if not 0 < good < poor:
            raise ValueError(f"lower-is-better control points need 0 < good < poor, got good={good}, poor={poor}")
        return _lower_is_better(value, good, poor)
    if better == "higher":
        if not good > poor:
            raise ValueError(f"higher-is-better control points need good > poor, got good={good}, poor={poor}")
        if bounded:
            if not (0 <= poor < good < 1):
                raise ValueError(f"a bounded rate needs 0 <= poor < good < 1, got good={good}, poor={poor}")
            return _lower_is_better(1.0 - min(value, 1.0), 1.0 - good, 1.0 - poor)
        if poor <= 0:
            raise ValueError(f"an unbounded higher-is-better measure needs poor > 0, got {poor}")
        return _lower_is_better(1.0 / max(value, _TINY), 1.0 / good, 1.0 / poor)
    raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")


def status(score_0_1: float) -> str:
    """pass at 0.9 and above, warn from 0.5, fail below: Lighthouse's bands."""
    if score_0_1 >= PASS_AT:
        return "pass"
    if score_0_1 >= WARN_AT:
        return "warn"
    return "fail"


def weighted_mean(scores: list[tuple[float, float]]) -> float | None:
    """Weighted mean of (score, weight) pairs; None when nothing carries weight."""
    total = sum(w for _, w in scores)
    if total <= 0:
        return None
    return sum(s * w for s, w in scores) / total


def stage_score(scores: list[float | None]) -> int | None:
    """A stage's 0..100 score: the plain mean of its findings' scores (those that have one), rounded; None if none."""
    given = [s for s in scores if s is not None]
    return int(round(sum(given) / len(given))) if given else None


def overall_score(stage_scores: list[float | None]) -> int | None:
    """The run's 0..100 score: the stages' scores (those that have one) averaged with equal weights, rounded."""
    mean = weighted_mean([(s, 1.0) for s in stage_scores if s is not None])
    return None if mean is None else int(round(mean))
