"""Sessions by channel and by landing page: counts and bounce rates on visits where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.metrics import sessions
from tests.kit import events, shop, tables


def _visits():
    # s1, s2: one page each from search (bounced); s3: two pages from e-mail; s4: one page, channel not recorded
    ev = events(
        session_id=["s1", "s2", "s3", "s3", "s4"],
        anonymous_id=["a1", "a2", "a3", "a3", "a4"],
        channel=["organic_search", "organic_search", "email", "email", None],
        page_type=["home", "product", "product", "cart", None],
        event_type=["page_view", "page_view", "page_view", "add_to_cart", "page_view"],
        minutes=[0, 10, 20, 21, 30],
    )
    return tables(events=ev)


def test_by_channel_counts_sessions_and_bounces_largest_first():
    out = sessions.by_channel(_visits())
    assert list(out["channel"]) == ["organic_search", "email", "unknown"]
    assert list(out["sessions"]) == [2, 1, 1]
    assert list(out["bounce_rate"]) == pytest.approx([1.0, 0.0, 1.0])


def test_by_landing_counts_the_page_type_each_visit_started_on():
    out = sessions.by_landing(_visits()).set_index("landing")
    assert out.loc["product", "sessions"] == 2 and out.loc["product", "bounce_rate"] == pytest.approx(0.5)
    assert out.loc["home", "sessions"] == 1 and out.loc["other", "sessions"] == 1  # not recorded: "other"
    assert out["sessions"].sum() == 4


def _landing_rows():
    # s1: lands on a page with no type, device and channel recorded only later; the next event 45 s after the first.
    # s2: one event. s3: the two first events at the same moment, so the next step comes 0 s after landing.
    ev = events(
        session_id=["s1", "s1", "s1", "s2", "s3", "s3"],
        anonymous_id="a1",
        channel=[None, "email", "email", "paid_search", "email", "email"],
        device=[None, "mobile", "mobile", "desktop", "mobile", "mobile"],
        page_type=[None, "product", "cart", "home", "product", "product"],
        event_type=["page_view", "product_view", "add_to_cart", "page_view", "page_view", "product_view"],
        minutes=[5.0, 5.75, 9.0, 0.0, 1.0, 1.0],
    )
    return tables(events=ev)


@pytest.mark.parametrize("by_window", [False, True], ids=["aggregate", "window"])
def test_a_session_lands_on_its_first_events_page_even_when_that_is_not_recorded(by_window):
    s = sessions.session_rows(_landing_rows(), by_window=by_window).to_pandas().set_index("session_id")
    assert s.loc["s1", ["landing", "channel", "device"]].tolist() == ["other", "unknown", "other"]
    assert s.loc["s1", ["events", "product_views", "carts", "bounced"]].tolist() == [3, 1, 1, False]
    assert s.loc["s1", "seconds_to_next"] == pytest.approx(45.0)
    assert s.loc["s2", "landing"] == "home" and s.loc["s2", "bounced"] and pd.isna(s.loc["s2", "seconds_to_next"])
    assert s.loc["s3", "seconds_to_next"] == 0.0


@pytest.mark.parametrize("by_window", [False, True], ids=["aggregate", "window"])
@pytest.mark.parametrize("reverse", [False, True], ids=["as-listed", "reversed"])
def test_events_at_the_same_first_moment_land_the_session_on_one_row_whatever_their_order(by_window, reverse):
    # Three events open the session at the same moment; the recorded page type sorts before the unrecorded one, so
    # the landing row is the product view: its page, its channel (not recorded: "unknown") and its device, never
    # the e-mail channel of another row. A later event's own values never count.
    rows = dict(
        session_id=["s1"] * 4,
        anonymous_id="a1",
        page_type=[None, "product", "search", "home"],
        channel=["email", None, "paid_search", "email"],
        device=["mobile", "desktop", "tablet", "mobile"],
        event_type=["page_view", "product_view", "page_view", "page_view"],
        minutes=[1.0, 1.0, 1.0, 0.5 + 1.0],
    )
    if reverse:
        rows = {k: v[::-1] if isinstance(v, list) else v for k, v in rows.items()}
    s = sessions.session_rows(tables(events=events(**rows)), by_window=by_window).to_pandas()
    assert s[["landing", "channel", "device"]].iloc[0].tolist() == ["product", "unknown", "desktop"]
    assert s["seconds_to_next"].iloc[0] == 0.0 and s["events"].iloc[0] == 4


def test_the_one_pass_sessions_equal_the_ranked_ones_on_a_generated_shop():
    t = tables(events=shop(customers=300)["events"])
    one_pass = sessions.session_rows(t, by_window=False).order_by("session_id").to_pandas()
    ranked = sessions.session_rows(t, by_window=True).order_by("session_id").to_pandas()
    pd.testing.assert_frame_equal(one_pass, ranked)


@pytest.mark.parametrize("by_window", [False, True], ids=["aggregate", "window"])
def test_the_visitor_and_the_counts_come_from_all_the_sessions_events_not_only_its_landing_row(by_window):
    # s1: the visitor signs in on the second event (the landing row carries no customer id); s2: an anonymous visit;
    # s3: neither id recorded, so the session id stands for the visitor.
    ev = events(
        session_id=["s1", "s1", "s1", "s2", "s3"],
        customer_id=[None, "C1", "C1", None, None],
        anonymous_id=["a1", "a1", "a1", "a2", None],
        event_type=["page_view", "sign_up", "add_to_cart", "page_view", "page_view"],
        minutes=[0.0, 2.0, 3.0, 0.0, 0.0],
    )
    s = sessions.session_rows(tables(events=ev), by_window=by_window).to_pandas().set_index("session_id")
    assert s.loc["s1", ["customer_id", "visitor", "events", "sign_ups", "carts"]].tolist() == ["C1", "C1", 3, 1, 1]
    start = s.loc["s1", "started_at"]
    assert s.loc["s1", "seconds_to_next"] == pytest.approx(120.0)
    assert s.loc["s1", "known_at"] - start == pd.Timedelta("2min")
    assert s.loc["s1", "cart_at"] - start == pd.Timedelta("3min")
    assert s.loc["s1", "ended_at"] - start == pd.Timedelta("3min") and pd.isna(s.loc["s1", "checkout_at"])
    assert pd.isna(s.loc["s2", "customer_id"]) and s.loc["s2", "visitor"] == "a2"
    assert s.loc["s3", "visitor"] == "s3" and s.loc["s3", "bounced"]
