"""The conversion checks on small hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.checks.conversion import customers as conversion_customers
from tests.kit import T0, customers, estimated, events, messages, orders, run, surveys

# The analysis period of the cart and offer logs: 15 days from T0's day, so that their 7- and 14-day windows fit
# (on a log shorter than a check's window the check is not run: tests/checks/test_windows.py).
FORTNIGHT = (T0.date(), (T0 + pd.Timedelta(days=14)).date())

STEPS = ("product_view", "add_to_cart", "begin_checkout", "purchase")
DAY = 24 * 60  # minutes


def event(session, customer, minutes, event_type, device="desktop", category=None) -> dict:
    return dict(
        session_id=session,
        customer_id=customer,
        minutes=minutes,
        event_type=event_type,
        device=device,
        category=category,
    )


def product_events(rows: list[dict]) -> pd.DataFrame:
    """Events on product pages of one product, from direct visits."""
    return events(rows, page_type="product", channel="direct", product_id="P1")


def order(order_id, customer, minutes, revenue) -> dict:
    return dict(order_id=order_id, customer_id=customer, minutes=minutes, revenue=revenue)


def message(customer, message_type, minutes, category=None, opened=False, clicked=False) -> dict:
    """An e-mail; opened or clicked half an hour after it was sent."""
    later = pd.Timedelta(minutes=30)
    return dict(
        customer_id=customer,
        channel="email",
        message_type=message_type,
        category=category,
        minutes=minutes,
        opened_at=later if (opened or clicked) else None,
        clicked_at=later if clicked else None,
    )


# --- conversion.checkout_funnel --------------------------------------------------------------------


def funnel_sessions(n: int, device: str, bought: int, prefix: str, customer: bool = True) -> list[dict]:
    """n sessions that go up to begin_checkout; the first `bought` of them purchase."""
    rows = []
    for i in range(n):
        s = f"{prefix}{i}"
        c = f"c-{prefix}{i}" if customer else None
        steps = STEPS if i < bought else STEPS[:3]
        rows += [event(s, c, i * 10 + k, e, device) for k, e in enumerate(steps)]
    return rows


@pytest.fixture(scope="module")
def funnel_shop():
    ev = product_events(
        funnel_sessions(40, "desktop", 40, "d")
        + funnel_sessions(40, "mobile", 20, "m")
        # anonymous visitors who reach checkout and never buy: left out, or they would dilute the rates
        + funnel_sessions(40, "desktop", 0, "x", customer=False)
    )
    od = orders([order(f"O{i}", f"c-d{i}", i * 10 + 3, 100.0) for i in range(40)])
    return {"events": ev, "orders": od}


def test_checkout_funnel_finds_the_worst_step_and_device(funnel_shop):
    f = run("conversion.checkout_funnel", overrides=dict(min_sessions=30), **funnel_shop)
    assert f.value == pytest.approx(0.5)  # mobile 50 % against desktop 100 %
    assert f.status == "fail" and f.title.startswith("One step of the purchase")
    assert f.details["worst_step"] == "purchase" and f.details["worst_device"] == "mobile"
    assert f.details["best_device"] == "desktop" and f.details["best_rate"] == pytest.approx(1.0)
    t = f.table.set_index(["device", "step"])
    assert len(f.table) == 8
    assert t.loc[("mobile", "purchase"), "sessions"] == 20
    assert t.loc[("mobile", "purchase"), "step_rate"] == pytest.approx(0.5)
    assert t.loc[("desktop", "add to cart"), "step_rate"] == pytest.approx(1.0)  # anonymous sessions left out
    # 40 mobile checkouts × (85 % of desktop's 100 % − 50 %) lost orders × 100 average order value
    assert estimated(f) == pytest.approx(40 * 0.35 * 0.5 * 100.0)  # half the lost visits won back
    assert "purchase" in f.summary and "mobile" in f.summary


def test_checkout_funnel_passes_when_devices_convert_alike():
    ev = product_events(funnel_sessions(40, "desktop", 30, "d") + funnel_sessions(40, "mobile", 29, "m"))
    f = run("conversion.checkout_funnel", overrides=dict(min_sessions=30), events=ev)
    assert f.value == pytest.approx(29 / 30) and f.status == "pass" and f.at_stake is None


def test_checkout_funnel_is_not_run_without_two_devices_with_enough_visits(funnel_shop):
    f = run("conversion.checkout_funnel", **funnel_shop)
    assert f.status == "not_run" and "at least 300 visits" in f.reason and "40" in f.reason


# --- conversion.customer_research ------------------------------------------------------------------


def survey(customer, minutes, scale="nps", responded=False) -> dict:
    """A survey; answered 9 two hours after it was sent, or never."""
    return dict(
        customer_id=customer,
        minutes=minutes,
        responded_at=pd.Timedelta(hours=2) if responded else None,
        score=9.0 if responded else None,
        scale=scale,
    )


@pytest.fixture(scope="module")
def research_shop():
    end = 500 * DAY  # the last order, which ends the period
    od = orders([order("O-old", "c-old", 0, 50.0)] + [order(f"O{i}", f"c{i}", end - i * DAY, 50.0) for i in range(10)])
    sv = surveys(
        [
            survey("c0", end - 30 * DAY, "csat", responded=True),
            survey("c1", end - 20 * DAY, "csat"),
            survey("c2", end - 10 * DAY, "csat", responded=True),
            survey("c3", end - 40 * DAY, "csat"),
            survey("c4", end - 400 * DAY, "nps", responded=True),  # more than a year ago: not counted
            survey("c-old", end - 50 * DAY, "csat"),
        ]
    )  # no order in the last year
    return {"orders": od, "surveys": sv}


def test_customer_research_counts_active_customers_surveyed_in_the_last_year(research_shop):
    f = run("conversion.customer_research", overrides=dict(min_customers=5), **research_shop)
    assert f.value == pytest.approx(4 / 10)
    assert f.status == "warn"  # between poor (30 %) and good (70 %)
    assert f.details["surveys_sent"] == 5 and f.details["response_rate"] == pytest.approx(2 / 5)
    assert f.details["days_since_last_survey"] == 10
    t = f.table.set_index("scale")
    assert t.loc["csat", "customers"] == 4 and t.loc["csat", "share_of_active"] == pytest.approx(0.4)
    assert t.loc["nps", "surveys"] == 0 and t.loc["nps", "days_since_last"] == 400
    assert "no NPS survey for 400 days" in f.summary
    assert f.at_stake is None


def test_customer_research_is_not_run_on_too_few_active_customers(research_shop):
    f = run("conversion.customer_research", **research_shop)
    assert f.status == "not_run" and "at least 100 customers" in f.reason and "10" in f.reason


# --- conversion.thank_you --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thank_shop():
    od = orders([order(f"O{i}", f"c{i}", i * DAY, 40.0) for i in range(10)] + [order("O-last", "c99", 20 * DAY, 40.0)])
    ms = (
        [message(f"c{i}", "thank_you", i * DAY + 60) for i in range(7)]  # within a day
        + [message("c7", "thank_you", 7 * DAY + 2 * DAY)]  # two days later: too late
        + [message("c8", "promo", 8 * DAY + 60, "shoes")]
    )  # not a thank-you
    return {"orders": od, "messages": messages(ms)}


def test_thank_you_counts_orders_thanked_within_a_day(thank_shop):
    f = run("conversion.thank_you", overrides=dict(min_orders=5), **thank_shop)
    # The order on the period's last day cannot have been thanked yet and is left out.
    assert f.details["orders"] == 10 and f.details["thanked"] == 7
    assert f.details["judged_whole_window"] == 10 and f.details["left_out_window_open"] == 1
    assert f.value == pytest.approx(0.7) and f.status == "fail"
    assert f.table["orders"].sum() == 10 and f.table["thanked"].sum() == 7
    assert f.details["median_hours"] == pytest.approx(1.0)
    assert "7 of 10 orders" in f.summary


def test_thank_you_passes_when_every_order_is_thanked():
    od = orders([order(f"O{i}", f"c{i}", i * DAY, 40.0) for i in range(10)])
    ms = messages([message(f"c{i}", "thank_you", i * DAY + 5) for i in range(10)])
    f = run("conversion.thank_you", overrides=dict(min_orders=5), orders=od, messages=ms)
    assert f.value == pytest.approx(1.0) and f.status == "pass"


def test_thank_you_is_not_run_on_too_few_orders(thank_shop):
    f = run("conversion.thank_you", **thank_shop)
    assert f.status == "not_run" and "at least 50 orders" in f.reason


# --- conversion.relevance --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offer_shop():
    ev = product_events(
        [event("s1", "c1", k, "product_view", category="shoes") for k in range(3)]
        + [
            event("s1", "c1", 5, "product_view", category="books"),
            event("s2", "c2", 0, "product_view", category="books"),
            event("s2", "c2", 1, "product_view", category="books"),
        ]
    )
    ms = (
        [message("c1", "promo", 100 + k, "shoes", clicked=k < 2) for k in range(4)]  # match, 2 clicked
        + [message("c1", "promo", 200 + k, "books", opened=True) for k in range(6)]  # no match, 0 clicked
        + [message("c2", "promo", 300 + k, "books", clicked=k < 1) for k in range(2)]  # match, 1 clicked
        + [message("c3", "promo", 400 + k, "books") for k in range(2)]
    )  # no history
    od = orders(order("O1", "c1", 100 + 30 + 24 * 60 - 10, 90.0))  # within 7 days of the first two clicks
    return {"events": ev, "messages": messages(ms), "orders": od}


def test_relevance_measures_offers_matching_the_most_viewed_category(offer_shop):
    f = run("conversion.relevance", overrides=dict(min_offers=10), **offer_shop, period=FORTNIGHT)
    assert f.value == pytest.approx(6 / 12) and f.status == "warn"
    t = f.table.set_index("offer")
    assert t.loc["matches their interest", "messages"] == 6
    assert t.loc["matches their interest", "click_rate"] == pytest.approx(3 / 6)
    assert t.loc["does not match", "click_rate"] == pytest.approx(0.0)
    assert t.loc["does not match", "click_to_open"] == pytest.approx(0.0)
    assert t.loc["no viewing history", "messages"] == 2
    # (60 % − 50 %) × 12 offers that would match × 50 % more clicks × 2 of 3 clicks followed by an order × 90
    assert estimated(f) == pytest.approx(0.1 * 12 * 0.5 * 0.05 * 90.0)  # 5 % (default) is below 2 / 3 here


def test_relevance_is_not_run_on_too_few_offers(offer_shop):
    f = run("conversion.relevance", **offer_shop, period=FORTNIGHT)
    assert f.status == "not_run" and "at least 200 promotional messages" in f.reason and "12" in f.reason


@pytest.mark.parametrize("by_window", [False, True])
def test_relevance_takes_the_first_category_of_two_viewed_as_often(monkeypatch, by_window):
    """One group-by (DuckDB) or a window ranking (other engines): the same most viewed category, ties included."""
    if by_window:
        monkeypatch.setattr(conversion_customers, "AGGREGATE_BACKENDS", frozenset())
    ev = product_events(
        [event("s1", "c1", k, "product_view", category="shoes") for k in range(2)]
        + [event("s1", "c1", 5 + k, "product_view", category="books") for k in range(2)]
        + [event("s2", "c2", k, "product_view", category=c) for k, c in enumerate(["toys", "shoes", "toys"])]
    )
    ms = [message("c1", "promo", 100 + k, c) for k, c in enumerate(["books", "books", "shoes"])]
    ms += [message("c2", "promo", 110 + k, "toys") for k in range(2)]
    f = run("conversion.relevance", overrides=dict(min_offers=1), events=ev, messages=messages(ms), period=FORTNIGHT)
    t = f.table.set_index("offer")["messages"]
    # books (not shoes) for c1: both book offers match, the shoe offer does not
    assert (t["matches their interest"], t["does not match"]) == (4, 1) and f.value == pytest.approx(4 / 5)


# --- conversion.cart_abandonment -------------------------------------------------------------------


def cart_shop(n_carts: int, n_bought: int, device: str = "mobile", offset: int = 0) -> list[dict]:
    rows = []
    for i in range(n_carts):
        s = f"s{offset + i}"
        rows += [
            dict(session_id=s, minutes=offset + i, event_type="page_view", page_type="product", device=device),
            dict(session_id=s, minutes=offset + i + 0.5, event_type="add_to_cart", page_type="product", device=device),
        ]
        if i < n_bought:
            rows.append(
                dict(session_id=s, minutes=offset + i + 0.7, event_type="purchase", page_type="checkout", device=device)
            )
    return rows


def test_cart_abandonment_counts_carts_not_bought_within_the_window():
    ev = events(cart_shop(10, 2, "mobile") + cart_shop(10, 6, "desktop", offset=100), channel="direct")
    f = run("conversion.cart_abandonment", overrides=dict(min_carts=5), events=ev, period=FORTNIGHT)
    assert f.value == pytest.approx(12 / 20)
    by = f.table.set_index("device")["abandonment"]
    assert by["mobile"] == pytest.approx(0.8) and by["desktop"] == pytest.approx(0.4)
    assert f.details["worst_device"] == "mobile"
    assert f.status == "pass"  # 60 % is under the good control point (65 %)


def test_cart_bought_on_a_later_visit_inside_the_window_is_not_abandoned():
    cart, buy = dict(event_type="add_to_cart", page_type="product"), dict(event_type="purchase", page_type="checkout")
    ev = events(
        [
            dict(cart, session_id="s1", customer_id="c1", days=0),
            dict(buy, session_id="s2", customer_id="c1", days=3),  # 3 days later: recovered
            dict(cart, session_id="s3", customer_id="c2", days=0),
            dict(buy, session_id="s4", customer_id="c2", days=9),
        ],  # 9 days later: too late
        channel="direct",
        device="mobile",
    )
    f = run("conversion.cart_abandonment", overrides=dict(min_carts=1), events=ev, period=FORTNIGHT)
    assert f.details["carts"] == 2 and f.details["abandoned"] == 1
    f14 = run("conversion.cart_abandonment", overrides=dict(min_carts=1, window_days=14), events=ev, period=FORTNIGHT)
    assert f14.details["abandoned"] == 0


def test_cart_abandonment_fails_with_money_at_stake_from_average_order_value():
    ev = events(cart_shop(100, 10), channel="direct")
    od = orders([order(f"O{i}", f"c{i}", i, 80.0) for i in range(10)])
    f = run("conversion.cart_abandonment", events=ev, orders=od, period=FORTNIGHT)
    assert f.value == pytest.approx(0.9) and f.status == "fail" and f.score < 50
    # 90 % against a good rate of 65 %: 25 carts in 100 more than good, at 80 each.
    assert estimated(f) == pytest.approx(0.25 * 100 * 0.0171 * 80.0)  # not every extra cart would be bought
    assert f.title == "Most carts are abandoned"


def test_cart_abandonment_is_not_run_on_too_few_carts():
    f = run("conversion.cart_abandonment", events=events(cart_shop(5, 1), channel="direct"), period=FORTNIGHT)
    assert f.status == "not_run" and "at least 100 carts" in f.reason and "5" in f.reason


# --- conversion.abandoned_cart_recovery ------------------------------------------------------------


def recovery_shop(reminder_delay_min: float | None, n: int, offset: int, bought: int):
    """n known customers who leave a cart; reminded after `reminder_delay_min` (or never); the first `bought`
    order two days later."""
    ev, msg, od = [], [], []
    for i in range(n):
        c, s = f"c{offset + i}", f"s{offset + i}"
        ev += [event(s, c, offset + i, "page_view", "mobile"), event(s, c, offset + i + 1, "add_to_cart", "mobile")]
        if reminder_delay_min is not None:
            msg.append(message(c, "abandoned_cart", offset + i + 1 + reminder_delay_min))
        if i < bought:
            od.append(order(f"O{offset + i}", c, offset + i + 2 * DAY, 50.0))
    return ev, msg, od


def test_reminded_within_24h_share_delay_and_recovery_by_timing():
    e1, m1, o1 = recovery_shop(120, 20, 0, bought=6)  # reminded after 2 h, 30 % recovered
    e2, m2, o2 = recovery_shop(3 * DAY, 20, 1000, bought=2)  # reminded after 3 days
    e3, m3, o3 = recovery_shop(None, 20, 2000, bought=1)  # never reminded
    f = run(
        "conversion.abandoned_cart_recovery",
        period=FORTNIGHT,
        overrides=dict(min_carts=10, min_group=10),
        events=product_events(e1 + e2 + e3),
        messages=messages(m1 + m2 + m3),
        orders=orders(o1 + o2 + o3),
    )
    assert f.value == pytest.approx(20 / 60)
    assert f.status == "fail"
    by = f.table.set_index("reminder")
    assert by.loc["within 4 h", "carts"] == 20 and by.loc["within 4 h", "recovery_rate"] == pytest.approx(0.3)
    assert by.loc["after 24 h", "carts"] == 20 and by.loc["not reminded", "recovery_rate"] == pytest.approx(0.05)
    assert f.details["follow_up_rate"] == 0.0  # nobody opened, nobody got a second reminder
    # 40 carts not reminded within 4 h, uplift 30 % - 5 %, average order value 50.
    assert estimated(f) == pytest.approx(40 * 0.0171 * 50.0)  # Klaviyo's median flow placed-order rate


def test_prompt_reminders_with_follow_up_pass():
    e1, m1, o1 = recovery_shop(60, 40, 0, bought=8)
    follow = [dict(m, minutes=m["minutes"] + DAY) for m in m1]
    f = run(
        "conversion.abandoned_cart_recovery",
        period=FORTNIGHT,
        overrides=dict(min_carts=10),
        events=product_events(e1),
        messages=messages(m1 + follow),
        orders=orders(o1),
    )
    assert f.value == pytest.approx(1.0) and f.status == "pass"
    assert f.details["follow_up_rate"] == pytest.approx(1.0)
    assert f.details["median_delay_hours"] == pytest.approx(1.0)


def test_reminders_sent_at_the_same_first_moment_count_as_opened_when_one_was_opened():
    # 20 carts, each reminded twice at the same minute, one reminder opened; the opened one is listed first for half
    # of them and second for the others, so an answer that followed the order the engine met the rows in would split
    e1, m1, _ = recovery_shop(60, 20, 0, bought=0)
    opened = [dict(m, opened_at=pd.Timedelta(minutes=30)) for m in m1]
    rows = [pair for i, (o, u) in enumerate(zip(opened, m1, strict=True)) for pair in ((o, u) if i % 2 else (u, o))]
    f = run(
        "conversion.abandoned_cart_recovery",
        period=FORTNIGHT,
        overrides=dict(min_carts=10),
        events=product_events(e1),
        messages=messages(rows),
        orders=orders([]),
    )
    assert f.details["reminded"] == 20
    assert f.details["follow_up_rate"] is None  # every first reminder was opened: none left unopened to follow up


def test_a_first_reminder_left_unopened_is_followed_up_by_a_later_one():
    e1, m1, _ = recovery_shop(60, 20, 0, bought=0)
    later = [dict(m, minutes=m["minutes"] + 60, opened_at=pd.Timedelta(minutes=30)) for m in m1]
    f = run(
        "conversion.abandoned_cart_recovery",
        period=FORTNIGHT,
        overrides=dict(min_carts=10),
        events=product_events(e1),
        messages=messages(later + m1),
        orders=orders([]),
    )
    assert f.details["follow_up_rate"] == pytest.approx(1.0)  # the second reminder's opening does not count


def test_cart_recovery_counts_only_opted_in_customers_when_known():
    e1, _m1, _o1 = recovery_shop(None, 30, 0, bought=0)
    cu = customers(
        customer_id=[f"c{i}" for i in range(30)],
        email_opt_in=[i < 12 for i in range(30)],
        days=0,
        acquisition_channel="direct",
    )
    f = run(
        "conversion.abandoned_cart_recovery",
        period=FORTNIGHT,
        overrides=dict(min_carts=5),
        events=product_events(e1),
        messages=messages(message("c29", "abandoned_cart", 0)),  # c29 may not be e-mailed: its cart does not count
        orders=orders(order("O1", "c0", 5, 10.0)),
        customers=cu,
    )
    assert f.details["carts"] == 12 and f.value == 0.0
