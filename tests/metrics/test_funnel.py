"""How far visits get: the share of all sessions reaching each step of the funnel."""

from __future__ import annotations

import pytest

from lifecycle_audit.metrics import funnel
from tests.kit import events, tables

STEPS = ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase"]


def test_reach_counts_the_sessions_reaching_each_step_out_of_all_sessions():
    rows = []
    # four visits: one stops at the home page, one at the product, one at the cart, one buys
    for i, last in enumerate((1, 2, 3, 5)):
        rows += [
            dict(session_id=f"s{i}", anonymous_id=f"a{i}", event_type=t, minutes=10 * i + k)
            for k, t in enumerate(STEPS[:last])
        ]
    # a visit that adds to cart straight from a list page: it reaches "add to cart" without a product view
    rows.append(dict(session_id="s9", anonymous_id="a9", event_type="add_to_cart", minutes=99))
    out = funnel.reach(tables(events=events(rows)))
    assert list(out["step"]) == ["visit", "product view", "add to cart", "begin checkout", "purchase"]
    assert list(out["sessions"]) == [5, 3, 3, 1, 1]
    assert list(out["share_of_sessions"]) == pytest.approx([1.0, 0.6, 0.6, 0.2, 0.2])
