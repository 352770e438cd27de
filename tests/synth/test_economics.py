"""The generated shop's P&L: the healthy shop's economics lie in the published ranges (BENCHMARKS.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit import synth
from lifecycle_audit.synth.economics import pnl, show

from .shops import shop


def test_pnl_adds_up_on_a_hand_built_shop():
    t0 = pd.Timestamp("2026-01-01")
    frames = {
        "orders": pd.DataFrame(
            {
                "order_id": ["O1", "O2", "O3"],
                "customer_id": ["C1", "C1", "C2"],
                "order_time": [t0, t0 + pd.Timedelta(days=30), t0 + pd.Timedelta(days=60)],
                "revenue": [50.0, 70.0, 60.0],
            }
        ),
        "events": pd.DataFrame({"session_id": [f"s{i}" for i in range(100)]}),
        "spend": pd.DataFrame({"channel": ["paid_search", "display", "paid_search"], "amount": [20.0, 7.0, 9.0]}),
        "customers": pd.DataFrame({"customer_id": ["C1", "C2", "C3"]}),
    }
    p = pnl(frames)
    assert p["revenue"] == 180.0 and p["orders"] == 3 and p["average_order_value"] == 60.0
    assert p["conversion"] == pytest.approx(0.03) and p["repeat_purchase_rate"] == pytest.approx(0.5)
    assert p["marketing_spend"] == 36.0 and p["spend_share_of_revenue"] == pytest.approx(0.2)
    assert p["spend_paid_search"] == 29.0 and p["buyers"] == 2 and p["customers"] == 3
    assert "20.0%" in show(p)


def test_the_healthy_shop_has_the_economics_of_a_plausible_shop():
    p = pnl(shop("healthy"))
    assert 0.01 <= p["conversion"] <= 0.05  # Littledata: 1.4 % average, top 20 % ≥ 3.2 %
    assert 0.21 <= p["repeat_purchase_rate"] <= 0.36  # Metrilo: 28 % (21–36 % by niche)
    assert 0.05 <= p["spend_share_of_revenue"] <= 0.30
    assert 40 <= p["average_order_value"] <= 120


def test_the_planted_shop_overspends_on_ads_because_it_pays_too_much_and_sells_too_little():
    """Planted: costly acquisition (paid clicks at three times the price) on a shop whose other mistakes cost it
    most of its revenue; conversion and order value still in the published ranges. Without the paid clicks'
    price the same shop would spend about a third of its revenue."""
    p = pnl(shop("planted"))
    assert 0.01 <= p["conversion"] <= 0.05
    assert 40 <= p["average_order_value"] <= 120
    assert 0.6 < p["spend_share_of_revenue"] < 1.3
    cheaper = pnl(shop("healthy", mistakes=[m for m in synth.MISTAKES if m != "costly_acquisition"]))
    assert 0.2 < cheaper["spend_share_of_revenue"] < 0.45
