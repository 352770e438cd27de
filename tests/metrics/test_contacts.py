"""Contact frequency: customer-weeks by the number of contact messages received that week."""

from __future__ import annotations

import pytest

from lifecycle_audit.metrics import contacts
from tests.kit import messages, tables

WEEK = 7 * 24 * 60  # minutes


def test_weeks_by_band_counts_customer_weeks_and_pools_five_and_more():
    rows = (
        [dict(customer_id="a", minutes=m, message_type="promo") for m in (0, 60)]  # a, week 1: 2 contacts
        + [dict(customer_id="a", minutes=WEEK + m, message_type="newsletter") for m in range(7)]  # week 2: 7
        + [dict(customer_id="b", minutes=m, message_type="promo") for m in (0,)]  # b, week 1: 1 contact
        + [dict(customer_id="b", minutes=m, message_type="transactional") for m in (5, 6, 7)]  # receipts: none
        + [dict(customer_id="c", minutes=2 * WEEK + m, message_type="winback") for m in range(5)]  # c: 5
    )
    out = contacts.weeks_by_band(tables(messages=messages(rows, channel="email")))
    assert list(out["contacts_per_week"]) == ["1", "2", "5+"]
    assert list(out["customer_weeks"]) == [1, 1, 2]
    assert list(out["share"]) == pytest.approx([0.25, 0.25, 0.5])
