"""Money at stake a client can believe: rates with their sources, a cap at a share of the period's revenue, and
a total that counts the same revenue once."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest

from lifecycle_audit import checks, findings
from lifecycle_audit.checks import Options, cite, cites_rate, rate
from lifecycle_audit.checks.base import KLAVIYO_FLOWS, LITTLEDATA, WORKBOOK
from lifecycle_audit.i18n import Text
from lifecycle_audit.metrics.orders import period_revenue
from tests.kit import T0, estimated, events, orders, run, tables


class _Opts(Options):
    flow: float = rate(0.0171, "median flow placed-order rate", KLAVIYO_FLOWS)
    visit: float = rate(0.014, "conversion", LITTLEDATA, "secondary")
    guess: float = rate(0.2, "no published figure", WORKBOOK, "default")


def test_a_rate_is_an_option_with_its_source_and_the_method_line_names_both():
    o = _Opts(good=0.5, poor=0.2)
    assert set(checks.base.rates(_Opts)) == {"flow", "visit", "guess"}
    assert checks.base.rates(_Opts)["visit"].status == "secondary"
    assert cite(o, "flow").render("en") == f"1.71%, {KLAVIYO_FLOWS}"
    assert "as quoted by a secondary source" in cite(o, "visit").render("en")
    assert "workbook default" in cite(o, "guess").render("en")
    overridden = _Opts(good=0.5, poor=0.2, flow=0.05)
    assert cite(overridden, "flow").render("en") == "5.00%, set for this audit in the params file"
    assert cites_rate(Text("{n} carts × {r}", n=3, r=cite(o, "flow")))
    assert cites_rate(Text("{n} carts × {r}", n=3, r=cite(o, "flow")).to_dict())  # as read from findings.json
    assert not cites_rate(Text("{n} carts × average order value", n=3))


def test_a_rate_outside_zero_to_one_is_refused_by_the_options():
    with pytest.raises(ValueError):
        _Opts(good=0.5, poor=0.2, flow=1.5)


def test_a_client_overrides_a_rate_under_thresholds_like_a_control_point():
    spec = checks.get("conversion.cart_abandonment")
    assert findings.options(spec, {"recovered": 0.05}).recovered == 0.05
    with pytest.raises(Exception, match="recovered"):
        findings.options(spec, {"recovered": 2})


def test_every_estimate_of_money_at_stake_rests_on_a_declared_rate():
    for spec in checks.specs():
        if "at_stake =" in inspect.getsource(spec.fn) or spec.id == "winback.churn_risk":
            assert spec.rates, f"{spec.id} estimates money at stake without a declared rate"
            for r in spec.rates.values():
                assert r.source and r.about and 0 < r.default <= 1, (spec.id, r)


def test_period_revenue_is_the_revenue_of_the_orders_in_the_analysis_period():
    od = orders(
        dict(order_id="O1", customer_id="C1", days=1, revenue=100.0),
        dict(order_id="O2", customer_id="C2", days=40, revenue=50.0),
        dict(order_id="O3", customer_id="C2", days=80, revenue=25.0),
    )
    assert period_revenue(tables(orders=od)) == pytest.approx(175.0)
    t = tables(period=(od["order_time"].min().date(), od["order_time"].iloc[1].date()), orders=od)
    assert period_revenue(t) == pytest.approx(150.0)
    assert period_revenue(tables()) is None


def test_a_finding_is_capped_at_a_share_of_the_periods_revenue_and_says_so():
    amount, method = findings.capped(500.0, Text("{n} carts", n=3), revenue=1000.0)
    assert amount == pytest.approx(200.0)  # 20 % of 1,000
    assert "capped at 20% of the revenue of the period analysed" in method.render("en")
    assert "500" in method.render("en")
    assert findings.capped(150.0, Text("x"), revenue=1000.0) == (150.0, Text("x"))  # below the cap: untouched
    assert findings.capped(150.0, Text("x"), revenue=None) == (150.0, Text("x"))  # no revenue known


def test_a_check_run_caps_its_estimate_and_records_the_periods_revenue():
    # 100 carts, 90 abandoned (good: 65 %), one order of 1,000 €: 25 extra carts × 1.71 % × 1,000 € = 427.50 €
    ev = []
    for i in range(100):
        ev.append(dict(session_id=f"s{i}", event_type="add_to_cart", minutes=i, customer_id=f"c{i}"))
        if i < 10:
            ev.append(dict(session_id=f"s{i}", event_type="purchase", minutes=i + 1, customer_id=f"c{i}"))
    od = orders(dict(order_id="O1", customer_id="c0", minutes=1, revenue=1000.0))
    fortnight = (T0.date(), (T0 + pd.Timedelta(days=14)).date())  # the 7-day window fits the period
    f = run("conversion.cart_abandonment", events=events(*ev), orders=od, period=fortnight)
    assert f.status == "fail" and f.period_revenue == pytest.approx(1000.0)
    assert estimated(f) == pytest.approx(25 * 0.0171 * 1000.0)  # more than 20 % of 1,000 €
    assert f.at_stake == pytest.approx(200.0)
    assert "capped at 20%" in f.at_stake_method.render("en")


def _f(status: str, at: float | None, revenue: float | None = 1000.0) -> dict:
    return {"check_id": "x", "status": status, "at_stake": at, "period_revenue": revenue}


def test_the_total_counts_overlapping_findings_once_and_never_exceeds_the_revenue():
    t = findings.total_at_stake([_f("fail", 200.0), _f("warn", 200.0), _f("pass", 900.0), _f("not_run", None)])
    assert t.findings == 2 and t.plain_sum == pytest.approx(400.0)
    assert t.total == pytest.approx(1000.0 * (1 - 0.8 * 0.8))  # 360: the second claims 20 % of what is left
    assert t.share == pytest.approx(0.36)
    many = findings.total_at_stake([_f("fail", 200.0)] * 30)
    assert many.plain_sum == pytest.approx(6000.0)
    assert many.total < 1000.0
    alone = findings.total_at_stake([_f("fail", 120.0)])
    assert alone.total == pytest.approx(120.0)  # one finding: its own figure
    unknown = findings.total_at_stake([_f("fail", 120.0, None), _f("fail", 30.0, None)])
    assert unknown.revenue is None and unknown.total == pytest.approx(150.0)
    assert findings.total_at_stake([]).total == 0.0
    healthy = findings.total_at_stake([_f("pass", 0.0), _f("pass", None)])  # nothing at stake, revenue known
    assert healthy.total == 0.0 and healthy.revenue == 1000.0 and healthy.share == 0.0
