"""conversion.checkout_funnel, customer_research, thank_you and relevance on small hand-built tables
where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.checks import registry
from lifecycle_audit.engine import Tables

T0 = pd.Timestamp("2026-03-02 10:00:00")
STEPS = ("product_view", "add_to_cart", "begin_checkout", "purchase")


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def frame(rows: list[dict], times: tuple[str, ...] = ()) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c in times:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
        elif df[c].dtype == object:
            df[c] = df[c].astype("string")
    return df


def event(session, customer, minutes, event_type, device="desktop", category=None) -> dict:
    return dict(session_id=session, customer_id=customer, anonymous_id=f"a-{session}", event_time=at(minutes),
                event_type=event_type, page_type="product", channel="direct", device=device, product_id="P1",
                category=category)


def events(rows: list[dict]) -> pd.DataFrame:
    return frame(rows, ("event_time",))


def orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (order_id, customer_id, minutes after T0, revenue)."""
    return frame([dict(order_id=o, customer_id=c, order_time=at(m), revenue=float(r)) for o, c, m, r in rows],
                 ("order_time",))


def message(customer, message_type, minutes, category=None, opened=False, clicked=False) -> dict:
    sent = at(minutes)
    later = sent + pd.Timedelta(minutes=30)
    return dict(message_id=f"M{customer}-{minutes}-{message_type}", customer_id=customer, channel="email",
                message_type=message_type, category=category, sent_at=sent,
                opened_at=later if (opened or clicked) else pd.NaT, clicked_at=later if clicked else pd.NaT,
                unsubscribed_at=pd.NaT)


def messages(rows: list[dict]) -> pd.DataFrame:
    df = frame(rows, ("sent_at", "opened_at", "clicked_at", "unsubscribed_at"))
    df["category"] = df["category"].astype("string")
    return df


def run(check_id: str, frames: dict[str, pd.DataFrame], **overrides):
    return registry.run_check(registry.get(check_id), Tables.from_frames(frames), overrides)


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
    ev = events(funnel_sessions(40, "desktop", 40, "d") + funnel_sessions(40, "mobile", 20, "m")
                # anonymous visitors who reach checkout and never buy: left out, or they would dilute the rates
                + funnel_sessions(40, "desktop", 0, "x", customer=False))
    od = orders([(f"O{i}", f"c-d{i}", i * 10 + 3, 100.0) for i in range(40)])
    return {"events": ev, "orders": od}


def test_checkout_funnel_finds_the_worst_step_and_device(funnel_shop):
    f = run("conversion.checkout_funnel", funnel_shop, min_sessions=30)
    assert f.value == pytest.approx(0.5)                      # mobile 50 % against desktop 100 %
    assert f.status == "fail" and f.title.startswith("One step of the purchase")
    assert f.details["worst_step"] == "purchase" and f.details["worst_device"] == "mobile"
    assert f.details["best_device"] == "desktop" and f.details["best_rate"] == pytest.approx(1.0)
    t = f.table.set_index(["device", "step"])
    assert len(f.table) == 8
    assert t.loc[("mobile", "purchase"), "sessions"] == 20
    assert t.loc[("mobile", "purchase"), "step_rate"] == pytest.approx(0.5)
    assert t.loc[("desktop", "add to cart"), "step_rate"] == pytest.approx(1.0)  # anonymous sessions left out
    # 40 mobile checkouts × (85 % of desktop's 100 % − 50 %) lost orders × 100 average order value
    assert f.at_stake == pytest.approx(40 * 0.35 * 100.0)
    assert "purchase" in f.summary and "mobile" in f.summary


def test_checkout_funnel_passes_when_devices_convert_alike():
    ev = events(funnel_sessions(40, "desktop", 30, "d") + funnel_sessions(40, "mobile", 29, "m"))
    f = run("conversion.checkout_funnel", {"events": ev}, min_sessions=30)
    assert f.value == pytest.approx(29 / 30) and f.status == "pass" and f.at_stake is None


def test_checkout_funnel_is_not_run_without_two_devices_with_enough_visits(funnel_shop):
    f = run("conversion.checkout_funnel", funnel_shop)
    assert f.status == "not_run" and "at least 300 visits" in f.reason and "40" in f.reason


# --- conversion.customer_research ------------------------------------------------------------------

DAY = 24 * 60


def survey(customer, minutes, scale="nps", responded=False) -> dict:
    sent = at(minutes)
    return dict(survey_id=f"V{customer}{minutes}", customer_id=customer, sent_at=sent,
                responded_at=sent + pd.Timedelta(hours=2) if responded else pd.NaT,
                score=9.0 if responded else None, scale=scale)


@pytest.fixture(scope="module")
def research_shop():
    end = 500 * DAY  # the last order, which ends the period
    od = orders([("O-old", "c-old", 0, 50.0)] + [(f"O{i}", f"c{i}", end - i * DAY, 50.0) for i in range(10)])
    sv = frame([survey("c0", end - 30 * DAY, "csat", responded=True), survey("c1", end - 20 * DAY, "csat"),
                survey("c2", end - 10 * DAY, "csat", responded=True), survey("c3", end - 40 * DAY, "csat"),
                survey("c4", end - 400 * DAY, "nps", responded=True),     # more than a year ago: not counted
                survey("c-old", end - 50 * DAY, "csat")],                 # no order in the last year
               ("sent_at", "responded_at"))
    return {"orders": od, "surveys": sv}


def test_customer_research_counts_active_customers_surveyed_in_the_last_year(research_shop):
    f = run("conversion.customer_research", research_shop, min_customers=5)
    assert f.value == pytest.approx(4 / 10)
    assert f.status == "warn"              # between poor (30 %) and good (70 %)
    assert f.details["surveys_sent"] == 5 and f.details["response_rate"] == pytest.approx(2 / 5)
    assert f.details["days_since_last_survey"] == 10
    t = f.table.set_index("scale")
    assert t.loc["csat", "customers"] == 4 and t.loc["csat", "share_of_active"] == pytest.approx(0.4)
    assert t.loc["nps", "surveys"] == 0 and t.loc["nps", "days_since_last"] == 400
    assert "no NPS survey for 400 days" in f.summary
    assert f.at_stake is None


def test_customer_research_is_not_run_on_too_few_active_customers(research_shop):
    f = run("conversion.customer_research", research_shop)
    assert f.status == "not_run" and "at least 100 customers" in f.reason and "10" in f.reason


# --- conversion.thank_you --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def thank_shop():
    od = orders([(f"O{i}", f"c{i}", i * DAY, 40.0) for i in range(10)] + [("O-last", "c99", 20 * DAY, 40.0)])
    ms = ([message(f"c{i}", "thank_you", i * DAY + 60) for i in range(7)]          # within a day
          + [message("c7", "thank_you", 7 * DAY + 2 * DAY)]                        # two days later: too late
          + [message("c8", "promo", 8 * DAY + 60, "shoes")])                       # not a thank-you
    return {"orders": od, "messages": messages(ms)}


def test_thank_you_counts_orders_thanked_within_a_day(thank_shop):
    f = run("conversion.thank_you", thank_shop, min_orders=5)
    # The order on the period's last day cannot have been thanked yet and is left out.
    assert f.details["orders"] == 10 and f.details["thanked"] == 7
    assert f.value == pytest.approx(0.7) and f.status == "fail"
    assert f.table["orders"].sum() == 10 and f.table["thanked"].sum() == 7
    assert f.details["median_hours"] == pytest.approx(1.0)
    assert "7 of 10 orders" in f.summary


def test_thank_you_passes_when_every_order_is_thanked():
    od = orders([(f"O{i}", f"c{i}", i * DAY, 40.0) for i in range(10)])
    ms = messages([message(f"c{i}", "thank_you", i * DAY + 5) for i in range(10)])
    f = run("conversion.thank_you", {"orders": od, "messages": ms}, min_orders=5)
    assert f.value == pytest.approx(1.0) and f.status == "pass"


def test_thank_you_is_not_run_on_too_few_orders(thank_shop):
    f = run("conversion.thank_you", thank_shop)
    assert f.status == "not_run" and "at least 50 orders" in f.reason


# --- conversion.relevance --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def offer_shop():
    ev = events([event("s1", "c1", k, "product_view", category="shoes") for k in range(3)]
                + [event("s1", "c1", 5, "product_view", category="books"),
                   event("s2", "c2", 0, "product_view", category="books"),
                   event("s2", "c2", 1, "product_view", category="books")])
    ms = ([message("c1", "promo", 100 + k, "shoes", clicked=k < 2) for k in range(4)]      # match, 2 clicked
          + [message("c1", "promo", 200 + k, "books", opened=True) for k in range(6)]      # no match, 0 clicked
          + [message("c2", "promo", 300 + k, "books", clicked=k < 1) for k in range(2)]    # match, 1 clicked
          + [message("c3", "promo", 400 + k, "books") for k in range(2)])                  # no history
    od = orders([("O1", "c1", 100 + 30 + 24 * 60 - 10, 90.0)])  # within 7 days of the first two clicks
    return {"events": ev, "messages": messages(ms), "orders": od}


def test_relevance_measures_offers_matching_the_most_viewed_category(offer_shop):
    f = run("conversion.relevance", offer_shop, min_offers=10)
    assert f.value == pytest.approx(6 / 12) and f.status == "warn"
    t = f.table.set_index("offer")
    assert t.loc["matches their interest", "messages"] == 6
    assert t.loc["matches their interest", "click_rate"] == pytest.approx(3 / 6)
    assert t.loc["does not match", "click_rate"] == pytest.approx(0.0)
    assert t.loc["does not match", "click_to_open"] == pytest.approx(0.0)
    assert t.loc["no viewing history", "messages"] == 2
    # (60 % − 50 %) × 12 offers that would match × 50 % more clicks × 2 of 3 clicks followed by an order × 90
    assert f.at_stake == pytest.approx(0.1 * 12 * 0.5 * (2 / 3) * 90.0)


def test_relevance_is_not_run_on_too_few_offers(offer_shop):
    f = run("conversion.relevance", offer_shop)
    assert f.status == "not_run" and "at least 200 promotional messages" in f.reason and "12" in f.reason
