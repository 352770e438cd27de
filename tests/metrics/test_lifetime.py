"""The lifetime model reproduces the published BG/NBD estimates on the CDNOW 1/10 sample."""

from pathlib import Path

import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.utils import ConvergenceError

from lifecycle_audit.metrics import lifetime

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
CALIBRATION_END = "1997-09-30"  # 39 weeks after 1997-01-01

needs_cdnow = pytest.mark.skipif(
    not CDNOW.exists() and __import__("os").environ.get("CI") is None,
    reason=f"the CDNOW data is not at {CDNOW} (it is in CI)",
)


def sample_transactions() -> pd.DataFrame:
    df = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "value"],
        dtype={"date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": df["customer_id"].astype(str),
            "order_time": pd.to_datetime(df["date"], format="%Y%m%d"),
            "revenue": df["value"].astype(float),
        }
    )


@needs_cdnow
def test_summary_from_transactions_matches_the_published_calibration_summary():
    ours = lifetime.rfm_summary(sample_transactions(), CALIBRATION_END)
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary.csv")
    assert len(ours) == len(ref) == 2357
    assert ours["frequency"].sum() == ref["frequency"].sum()
    assert sorted(ours["frequency"]) == sorted(ref["frequency"])
    assert ours["T"].sort_values().to_numpy() == pytest.approx(ref["T"].sort_values().to_numpy(), abs=0.01)
    assert ours["recency"].sort_values().to_numpy() == pytest.approx(ref["recency"].sort_values().to_numpy(), abs=0.01)


@needs_cdnow
def test_bgnbd_reproduces_the_published_estimates_within_one_percent():
    model = lifetime.fit_bgnbd(lifetime.rfm_summary(sample_transactions(), CALIBRATION_END))
    for name, value in PUBLISHED.items():
        assert getattr(model, name) == pytest.approx(value, rel=0.01), name


def test_a_customer_who_stopped_buying_is_less_likely_alive():
    summary = pd.DataFrame(
        {"frequency": [10.0, 10.0, 0.0], "recency": [50.0, 10.0, 0.0], "T": [52.0, 52.0, 52.0]},
        index=["recent", "lapsed", "one-off"],
    )
    model = lifetime.BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, _fitter=_fitter(0.243, 4.414, 0.793, 2.426))
    p = model.p_alive(summary)
    assert p["recent"] > 0.9 and p["lapsed"] < 0.2 and p["one-off"] == 1.0
    e = model.expected_purchases(summary, 52)
    assert e["recent"] > e["lapsed"]


def test_rfm_summary_counts_days_and_ignores_orders_after_the_end():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b"],
            "order_time": pd.to_datetime(
                ["2026-01-01 09:00", "2026-01-01 18:00", "2026-01-15 00:00", "2026-03-01 00:00", "2026-01-08 00:00"]
            ),
            "revenue": [10.0, 5.0, 30.0, 99.0, 20.0],
        }
    )
    s = lifetime.rfm_summary(orders, "2026-01-29")
    assert s.loc["a", "frequency"] == 1 and s.loc["a", "recency"] == 2.0 and s.loc["a", "T"] == 4.0
    assert s.loc["a", "monetary_value"] == 30.0
    assert s.loc["b", "frequency"] == 0 and s.loc["b", "monetary_value"] == 0.0


def _fitter(r, alpha, a, b):
    m = BetaGeoFitter()
    m.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
    return m


# ---------------------------------------------------------------- the penalizer ladder

# Fifty customers with the same history: the unpenalized BG/NBD likelihood has no maximum (ConvergenceError).
SAME_HISTORY = pd.DataFrame({"frequency": [3.0] * 50, "recency": [10.0] * 50, "T": [10.0] * 50})
# Every customer first bought on the last day: nothing to learn from, at any penalizer.
ALL_NEW = pd.DataFrame({"frequency": [0.0] * 50, "recency": [0.0] * 50, "T": [0.0] * 50})


def test_a_fit_that_does_not_converge_unpenalized_converges_on_the_next_rung(capsys):
    with pytest.raises(ConvergenceError):
        lifetime.fit_bgnbd(SAME_HISTORY, penalizer=0.0)
    capsys.readouterr()  # lifetimes prints the optimiser's state when it fails
    model = lifetime.fit_bgnbd_ladder(SAME_HISTORY, (0.0, 0.001, 0.01))
    assert model.penalizer == 0.001 and model.r > 0 and model.alpha > 0
    assert capsys.readouterr().out == ""  # the ladder keeps that printout out of the notebook (and the page)


def test_a_fit_that_never_converges_fails_with_a_plain_reason():
    with pytest.raises(lifetime.FitFailed) as failed:
        lifetime.fit_bgnbd_ladder(ALL_NEW)
    assert failed.value.text.render() == (
        "the BG/NBD lifetime model could not be fitted to this shop's orders: it found no stable estimate, even "
        "with the strongest smoothing tried (penalizer 0.1)"
    )


def test_the_gamma_gamma_fit_climbs_the_same_ladder_and_needs_repeat_customers():
    spend = pd.DataFrame({"frequency": [2.0] * 40, "monetary_value": [50.0] * 40})
    assert lifetime.fit_gamma_gamma_ladder(spend, (0.0, 0.01)).penalizer == 0.01
    with pytest.raises(lifetime.FitFailed, match="Gamma-Gamma"):
        lifetime.fit_gamma_gamma_ladder(spend, (0.0,))
    one_repeat = pd.DataFrame({"frequency": [2.0, 0.0], "monetary_value": [50.0, 0.0]})
    with pytest.raises(lifetime.FitFailed) as failed:
        lifetime.fit_gamma_gamma_ladder(one_repeat)
    assert "at least 2 customers who bought again" in failed.value.text.render()
