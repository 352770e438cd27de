"""Scores from control points: the Lighthouse log-normal curve and its bands."""

import math

import pytest

from lifecycle_audit import scoring


def test_control_points_score_ninety_and_fifty():
    assert scoring.score(0.65, 0.65, 0.75) == pytest.approx(0.9)
    assert scoring.score(0.75, 0.65, 0.75) == pytest.approx(0.5)


def test_lower_is_better_is_monotonic_and_bounded():
    values = [0.0, 0.1, 0.5, 0.65, 0.7, 0.75, 0.9, 1.0, 5.0]
    scores = [scoring.score(v, 0.65, 0.75) for v in values]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0 and all(0 <= s <= 1 for s in scores)


def test_higher_is_better_rate_scores_its_shortfall():
    assert scoring.score(0.75, 0.75, 0.40, better="higher") == pytest.approx(0.9)
    assert scoring.score(0.40, 0.75, 0.40, better="higher") == pytest.approx(0.5)
    assert scoring.score(1.0, 0.75, 0.40, better="higher") == 1.0
    assert scoring.status(scoring.score(0.0, 0.75, 0.40, better="higher")) == "fail"


def test_unbounded_higher_is_better_uses_the_reciprocal():
    assert scoring.score(4.0, 4.0, 2.0, better="higher", bounded=False) == pytest.approx(0.9)
    assert scoring.score(2.0, 4.0, 2.0, better="higher", bounded=False) == pytest.approx(0.5)


@pytest.mark.parametrize("good, poor, better", [(0.8, 0.6, "lower"), (0.4, 0.7, "higher"), (0.0, 0.5, "lower")])
def test_inconsistent_control_points_are_refused(good, poor, better):
    with pytest.raises(ValueError):
        scoring.score(0.5, good, poor, better)


def test_bands_and_weighted_mean():
    assert [scoring.status(s) for s in (0.95, 0.9, 0.89, 0.5, 0.49)] == ["pass", "pass", "warn", "warn", "fail"]
    assert scoring.weighted_mean([(1.0, 1), (0.0, 3)]) == pytest.approx(0.25)
    assert scoring.weighted_mean([]) is None
    with pytest.raises(ValueError):
        scoring.score(math.nan, 0.1, 0.2)


def test_stage_score_is_the_rounded_mean_of_the_scores_given():
    assert scoring.stage_score([23, 71, 94]) == 63
    assert scoring.stage_score([40, None, 61]) == 50  # 50.5 rounds to even
    assert scoring.stage_score([None, None]) is None
    assert scoring.stage_score([]) is None


def test_overall_score_weighs_every_scored_stage_alike():
    assert scoring.overall_score([40, 60]) == 50
    assert scoring.overall_score([100, None, 81]) == 90  # 90.5 rounds to even
    assert scoring.overall_score([None]) is None
    assert scoring.overall_score([]) is None
