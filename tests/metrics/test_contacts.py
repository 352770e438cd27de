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


def test_bands_and_customers_above_a_frequency_count_each_customer_once():
    rows = (
        [dict(customer_id="a", minutes=m, message_type="promo") for m in range(3)]  # a: 3 e-mails in week 1
        + [dict(customer_id="a", minutes=WEEK + m, message_type="promo") for m in range(3)]  # and 3 in week 2
        + [dict(customer_id="b", minutes=m, message_type="promo", channel="sms") for m in range(3)]  # b: 3 sms
        + [dict(customer_id="b", minutes=5, message_type="newsletter")]  # and an e-mail: 4 contacts that week
        + [dict(customer_id="c", minutes=m, message_type="promo") for m in range(2)]  # c: 2 e-mails
        + [dict(customer_id="d", minutes=m, message_type="transactional") for m in range(9)]  # d: receipts only
        + [dict(customer_id=None, minutes=m, message_type="promo") for m in range(6)]  # nobody's: not counted
    )
    t = tables(messages=messages(rows, channel="email"))
    bands = contacts.by_band(t).set_index("band")
    assert bands.loc[3, "customers"] == 1 and bands.loc[3, "customer_weeks"] == 2  # a, twice
    assert bands.loc[4, "customers"] == 1 and bands.loc[4, "messages"] == 1  # b: only its e-mail is a message
    assert bands.loc[2, "customers"] == 1
    assert contacts.customers_above(t, 3) == (2, 3)  # a and b of a, b, c (d got no contact)
    assert contacts.customers_above(t, 4) == (1, 3)
    assert contacts.customers_above(t, 5) == (0, 3)
