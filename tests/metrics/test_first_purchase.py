"""First visits: each customer's first event, read from the sessions, as grouping the events gives it."""

from __future__ import annotations

import pandas as pd

from lifecycle_audit.engine import Tables
from lifecycle_audit.metrics import first_purchase
from tests.kit import customers, events, shop, tables


def _first_events_from_events(t) -> pd.DataFrame:
    ev = t["events"]
    fe = ev.filter(ev.customer_id.notnull()).group_by("customer_id").aggregate(first_event=ev.event_time.min())
    return fe.to_pandas().set_index("customer_id")["first_event"]


def _first_visits(t) -> pd.DataFrame:
    return first_purchase.first_visits(t).to_pandas().set_index("customer_id").sort_index()


def test_first_visits_take_the_first_event_with_the_customer_id_not_the_visits_start():
    ev = events(
        [
            # c1's visit begins anonymous; the customer id appears with the sign-up two hours in
            dict(session_id="s1", anonymous_id="a1", event_type="page_view", hours=0),
            dict(session_id="s1", customer_id="c1", anonymous_id="a1", event_type="sign_up", hours=2),
            dict(session_id="s2", customer_id="c1", event_type="page_view", days=3),
            # c2: created after the first visit, which counts
            dict(session_id="s3", customer_id="c2", event_type="page_view", days=1),
        ]
    )
    cu = customers(customer_id=["c1", "c2", "c3"], days=[5, 4, 2], email_opt_in=[True, False, None])
    fv = _first_visits(tables(events=ev, customers=cu))
    t0 = events([dict(minutes=0)])["event_time"].iloc[0]
    assert dict(fv["first_visit"]) == {
        "c1": t0 + pd.Timedelta(hours=2),
        "c2": t0 + pd.Timedelta(days=1),
        "c3": t0 + pd.Timedelta(days=2),  # no events: the customer's creation
    }


def test_first_visits_from_the_sessions_equal_those_grouped_from_the_events_on_a_generated_shop():
    frames = shop(customers=600, seed=5)
    # every other customer created a day after they arrived (as a shop that records the account's creation): their
    # first visit is then their first event
    cu = frames["customers"]
    cu.loc[::2, "first_seen_at"] = cu.loc[::2, "first_seen_at"] + pd.Timedelta(days=1)
    t = Tables.from_frames(frames)
    fv = _first_visits(t)
    fe = _first_events_from_events(t)
    cu = frames["customers"].set_index("customer_id")["first_seen_at"]
    expected = pd.concat([cu, fe.reindex(cu.index)], axis=1).min(axis=1).dropna().sort_index()
    assert len(fe) > 100 and (fe.reindex(fv.index) < cu.reindex(fv.index)).any()  # the events matter here
    pd.testing.assert_series_equal(
        fv["first_visit"], expected, check_names=False, check_dtype=False, check_index_type=False
    )
