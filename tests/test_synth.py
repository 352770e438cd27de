"""Tests of the demo shop generator: the contract, plausibility and the planted mistakes."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from lifecycle_audit import synth
from lifecycle_audit.contract import PANDAS_DTYPES, TABLES

SIZE = 2000
END = pd.Timestamp("2026-09-30")


@lru_cache(maxsize=None)
def shop(profile="planted", mistakes=None, customers=SIZE, seed=7):
    return synth.generate(customers=customers, seed=seed, profile=profile,
                          mistakes=None if mistakes is None else list(mistakes))


@pytest.fixture(params=["planted", "healthy"])
def tables(request):
    return shop(request.param)


# --------------------------------------------------------------------------------------------
# The measures an audit would take, written independently of the generator


def sessions(events: pd.DataFrame) -> pd.DataFrame:
    ev = events.sort_values(["session_id", "event_time"], kind="stable")
    s = ev.groupby("session_id").agg(n=("event_type", "size"), landing=("page_type", "first"),
                                     first_type=("event_type", "first"))
    s["bounce"] = (s["n"] == 1) & (s["first_type"] == "page_view")
    return s


def home_measures(events):
    """Bounce of home-page landings, of other landings, and the home next-step share."""
    s = sessions(events)
    home = s[s["landing"] == "home"]
    other = s[s["landing"].isin(["landing", "category", "product", "content"])]
    return home["bounce"].mean(), other["bounce"].mean(), (home["n"] > 1).mean()


def carts(events, days=7):
    """One row per session with an add_to_cart; abandoned = no purchase by that visitor within
    `days` days after the (first) add_to_cart."""
    ev = events.assign(visitor=events["customer_id"].fillna(events["anonymous_id"]))
    c = (ev[ev["event_type"] == "add_to_cart"].groupby("session_id")
         .agg(t=("event_time", "min"), visitor=("visitor", "first"),
              customer_id=("customer_id", "first"), device=("device", "first"))
         .reset_index().sort_values("t"))
    buys = ev.loc[ev["event_type"] == "purchase", ["visitor", "event_time"]].sort_values("event_time")
    c = pd.merge_asof(c, buys.rename(columns={"event_time": "bought_at"}), left_on="t",
                      right_on="bought_at", by="visitor", direction="forward",
                      tolerance=pd.Timedelta(days=days))
    return c.assign(abandoned=c["bought_at"].isna())


def reminder_measures(t):
    """Of abandoned carts by opted-in customers: share reminded within 24 h, share reminded at
    all within 7 days, share of reminded carts that got a second reminder."""
    c = carts(t["events"])
    opted = t["customers"].set_index("customer_id")["email_opt_in"]
    ab = c[c["abandoned"] & c["customer_id"].notna()]
    ab = ab[ab["customer_id"].map(opted).fillna(False).astype(bool)].sort_values("t")
    rem = t["messages"].loc[t["messages"]["message_type"] == "abandoned_cart", ["customer_id", "sent_at"]]
    rem = rem.sort_values("sent_at")
    first = pd.merge_asof(ab, rem.rename(columns={"sent_at": "r1"}), left_on="t", right_on="r1",
                          by="customer_id", direction="forward", tolerance=pd.Timedelta(days=7))
    delay = first["r1"] - first["t"]
    reminded = first.dropna(subset=["r1"])
    reminded = reminded.assign(after=reminded["r1"] + pd.Timedelta(seconds=1)).sort_values("after")
    second = pd.merge_asof(reminded, rem.rename(columns={"sent_at": "r2"}), left_on="after", right_on="r2",
                           by="customer_id", direction="forward", tolerance=pd.Timedelta(hours=36))
    return ((delay <= pd.Timedelta(hours=24)).mean(), first["r1"].notna().mean(),
            second["r2"].notna().mean() if len(second) else 0.0)


def unsubscribe_rate(messages):
    email = messages[messages["channel"] == "email"]
    return email["unsubscribed_at"].notna().mean()


def unsubscribe_by_weekly_contacts(messages):
    """Unsubscribe rate per marketing e-mail by the customer's marketing e-mails that week."""
    m = messages[(messages["channel"] == "email") & messages["message_type"].isin(["promo", "newsletter"])]
    m = m.assign(week=m["sent_at"].dt.to_period("W"))
    contacts = m.groupby(["customer_id", "week"])["message_id"].transform("size").clip(upper=4)
    return m["unsubscribed_at"].notna().groupby(contacts).mean()


# --------------------------------------------------------------------------------------------
# The contract


def test_every_table_with_contract_columns_and_dtypes(tables):
    assert set(tables) == set(TABLES)
    for name, tbl in TABLES.items():
        df = tables[name]
        assert list(df.columns) == list(tbl.column_names), name
        assert len(df) > 0, name
        for col in tbl.columns:
            assert str(df[col.name].dtype) == PANDAS_DTYPES[col.kind], (name, col.name, df[col.name].dtype)


def test_keys_unique(tables):
    for name, tbl in TABLES.items():
        if tbl.key:
            assert not tables[name].duplicated(list(tbl.key)).any(), name
    assert not tables["order_lines"].duplicated(["order_id", "product_id"]).any()


def test_references_resolve(tables):
    for name, tbl in TABLES.items():
        for col in tbl.columns:
            if col.references:
                target, target_col = col.references.split(".")
                values = tables[name][col.name].dropna()
                assert values.isin(tables[target][target_col]).all(), (name, col.name)


def test_vocabularies_nulls_and_minimums(tables):
    for name, tbl in TABLES.items():
        df = tables[name]
        for col in tbl.columns:
            if col.allowed:
                assert df[col.name].dropna().isin(col.allowed).all(), (name, col.name)
            if not col.nullable:
                assert df[col.name].notna().all(), (name, col.name)
            if col.min_value is not None:
                assert (df[col.name].dropna() >= col.min_value).all(), (name, col.name)


def test_history_covers_the_period(tables):
    start = END + pd.Timedelta(days=1) - pd.DateOffset(months=15)
    time_cols = {n: t.time_column for n, t in TABLES.items() if t.time_column}
    for name, col in time_cols.items():
        assert tables[name][col].max() < END + pd.Timedelta(days=1), name
    assert tables["events"]["event_time"].min() >= start
    assert tables["customers"]["first_seen_at"].min() < start + pd.Timedelta(days=7)
    for name in ("events", "orders", "messages"):
        col = time_cols[name]
        assert tables[name][col].max() - tables[name][col].min() >= pd.Timedelta(days=365), name
    months = tables["orders"]["order_time"].dt.to_period("M").nunique()
    assert months == 15


def test_ids_look_like_ids(tables):
    assert tables["customers"]["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert tables["orders"]["order_id"].str.fullmatch(r"O\d{7}").all()
    assert tables["events"]["session_id"].str.fullmatch(r"S\d{8}").all()
    assert tables["messages"]["message_id"].str.fullmatch(r"M\d{9}").all()
    assert tables["prices"]["product_id"].str.fullmatch(r"P\d{4}").all()


# --------------------------------------------------------------------------------------------
# Consistency between tables


def test_every_order_is_a_purchase_event_of_its_customer(tables):
    ev, od = tables["events"], tables["orders"]
    buys = ev.loc[ev["event_type"] == "purchase", ["customer_id", "event_time"]]
    assert buys["customer_id"].notna().all()
    assert len(buys) == len(od)
    merged = od.merge(buys, left_on=["customer_id", "order_time"], right_on=["customer_id", "event_time"])
    assert len(merged) == len(od)


def test_revenue_is_lines_at_list_price_minus_discount(tables):
    od, ol, pr = tables["orders"], tables["order_lines"], tables["prices"]
    value = (ol["unit_price"] * ol["quantity"]).groupby(ol["order_id"]).sum()
    got = od.set_index("order_id")
    assert np.allclose(value.reindex(got.index) - got["discount"], got["revenue"], atol=0.011)
    assert (got["currency"] == "EUR").all()
    lines = ol.merge(od[["order_id", "order_time"]], on="order_id").sort_values("order_time")
    lines["day"] = lines["order_time"].dt.normalize()
    priced = pd.merge_asof(lines, pr.sort_values("valid_from"), left_on="day", right_on="valid_from",
                           by="product_id", direction="backward")
    assert np.allclose(priced["unit_price"], priced["price"])
    assert ol["order_id"].isin(od["order_id"]).all() and od["order_id"].isin(ol["order_id"]).all()


def test_sessions_are_consistent(tables):
    ev = tables["events"]
    per = ev.groupby("session_id").agg(c=("customer_id", "nunique"), a=("anonymous_id", "nunique"),
                                       ch=("channel", "nunique"), d=("device", "nunique"))
    assert (per["c"] <= 1).all() and (per["ch"] <= 1).all()
    assert (per["a"] == 1).all() and (per["d"] == 1).all()
    # events of a session follow one another within minutes, in the stored order
    t = ev["event_time"]
    same = ev["session_id"].eq(ev["session_id"].shift())
    gaps = (t - t.shift())[same]
    assert (gaps > pd.Timedelta(0)).all() and (gaps < pd.Timedelta(minutes=30)).all()
    # products on product views and add-to-cart events, nowhere else
    has_product = ev["product_id"].notna()
    assert (has_product == ev["event_type"].isin(["product_view", "add_to_cart"])).all()
    # anonymous visitors never buy; each customer signs up or buys in the first visit
    assert ev.loc[ev["customer_id"].isna(), "event_type"].isin(["page_view", "product_view", "add_to_cart",
                                                               "begin_checkout"]).all()
    known = ev["customer_id"].dropna().unique()
    assert set(known) <= set(tables["customers"]["customer_id"])
    signed = ev.loc[ev["event_type"] == "sign_up", "customer_id"].nunique()
    assert signed > 0.7 * len(tables["customers"])


def test_first_seen_is_the_first_visit(tables):
    ev, cu = tables["events"], tables["customers"]
    first = ev.groupby("customer_id")["event_time"].min()
    seen = cu.set_index("customer_id")["first_seen_at"]
    assert (first.reindex(seen.index) == seen).all()


def test_referrals(tables):
    rf, cu = tables["referrals"], tables["customers"]
    channel = cu.set_index("customer_id")["acquisition_channel"]
    assert (channel.reindex(rf["referred_customer_id"]) == "referral").all()
    assert (rf["referrer_id"] != rf["referred_customer_id"]).all()
    seen = cu.set_index("customer_id")["first_seen_at"]
    assert (seen.reindex(rf["referrer_id"]).to_numpy() < rf["created_at"].to_numpy()).all()


def test_no_marketing_after_unsubscribe(tables):
    ms = tables["messages"]
    quit_at = ms.groupby("customer_id")["unsubscribed_at"].min().dropna()
    marketing = ms[ms["message_type"].isin(["promo", "newsletter"]) & (ms["channel"] == "email")]
    later = marketing["sent_at"] > marketing["customer_id"].map(quit_at)
    assert not later.any()


def test_message_times_in_order(tables):
    ms = tables["messages"]
    assert (ms["opened_at"].dropna() >= ms.loc[ms["opened_at"].notna(), "sent_at"]).all()
    clicked = ms["clicked_at"].notna()
    assert ms.loc[clicked, "opened_at"].notna().all()
    assert (ms.loc[clicked, "clicked_at"] >= ms.loc[clicked, "opened_at"]).all()
    assert (ms.loc[ms["bounced"].fillna(False), "opened_at"].isna()).all()
    assert ms.loc[ms["channel"] != "email", "opened_at"].isna().all()
    tk = tables["tickets"]
    ok = tk["first_response_at"].notna()
    assert (tk.loc[ok, "first_response_at"] >= tk.loc[ok, "opened_at"]).all()
    ok = tk["resolved_at"].notna()
    assert (tk.loc[ok, "resolved_at"] >= tk.loc[ok, "first_response_at"]).all()


def test_plausible_shop(tables):
    cu, ev, od, ms = tables["customers"], tables["events"], tables["orders"], tables["messages"]
    assert 0.65 < cu["email_opt_in"].mean() < 0.75
    assert 0.80 < cu["has_postal_address"].mean() < 0.92
    assert 0.002 < cu["payment_default"].mean() < 0.03
    healthy = cu["acquisition_channel"].isna().mean() < 0.2     # untracked_traffic loses 40%
    if healthy:
        assert 0.01 < cu["acquisition_channel"].isna().mean() < 0.08
        assert cu["acquisition_channel"].value_counts(normalize=True).max() < 0.35
    first = ev.drop_duplicates("session_id")
    ratio = first["customer_id"].isna().sum() / first["customer_id"].notna().sum()
    assert 2 <= ratio <= 3.2
    assert 0.5 < (first["device"] == "mobile").mean() < 0.6
    assert 0.33 < (first["page_type"] == "home").mean() < 0.46
    assert 40 < od["revenue"].mean() < 120
    # repeat purchase: second order within 180 days of the first
    o = od.sort_values("order_time")
    first_order = o.groupby("customer_id")["order_time"].min()
    second = o[o["order_time"] > o["customer_id"].map(first_order)].groupby("customer_id")["order_time"].min()
    eligible = first_order[first_order <= END - pd.Timedelta(days=180)]
    repeat = ((second.reindex(eligible.index) - eligible) <= pd.Timedelta(days=180)).mean()
    assert (0.15 if healthy else 0.04) < repeat < 0.45        # no_repeat_purchase: ~0.08
    email = ms[ms["channel"] == "email"]
    marketing = email[email["message_type"].isin(["promo", "newsletter"])]
    assert 0.18 < marketing["opened_at"].notna().mean() < 0.4
    assert 0.015 < marketing["clicked_at"].notna().mean() < 0.05
    # every order is thanked within the hour
    thanks = ms[ms["message_type"] == "thank_you"]
    assert len(thanks) >= (0.99 if healthy else 0.05) * len(od)
    assert set(tables["spend"]["channel"]) == {"paid_search", "paid_social", "display", "affiliate"}
    assert tables["surveys"]["score"].dropna().between(0, 10).all()
    assert tables["reviews"]["rating"].between(1, 5).all()


# --------------------------------------------------------------------------------------------
# Determinism and arguments


def test_same_seed_same_tables_other_seed_other_tables():
    a = synth.generate(customers=600, seed=11)
    b = synth.generate(customers=600, seed=11)
    c = synth.generate(customers=600, seed=12)
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["orders"].equals(c["orders"])
    assert not a["events"].equals(c["events"])


def test_no_mistakes_is_the_healthy_shop():
    a = synth.generate(customers=400, seed=3, mistakes=[])
    b = synth.generate(customers=400, seed=3, profile="healthy")
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_unknown_mistake_or_profile():
    with pytest.raises(ValueError, match="weak_homepage"):
        synth.generate(customers=200, mistakes=["weak_homepage", "slow_checkout"])
    with pytest.raises(ValueError, match="healthy"):
        synth.generate(customers=200, profile="broken")


def test_other_end_and_months():
    t = synth.generate(customers=300, seed=5, end="2025-12-31", months=12)
    ev = t["events"]["event_time"]
    assert ev.max() < pd.Timestamp("2026-01-01") and ev.min() >= pd.Timestamp("2025-01-01")


def test_write_shop(tmp_path):
    t = synth.generate(customers=200, seed=1)
    paths = synth.write_shop(t, tmp_path / "shop")
    assert set(paths) == set(TABLES)
    for name, path in paths.items():
        assert path == tmp_path / "shop" / f"{name}.parquet"
        back = pd.read_parquet(path)
        assert list(back.columns) == list(t[name].columns) and len(back) == len(t[name])


# --------------------------------------------------------------------------------------------
# The planted mistakes, measured as an audit would


def test_weak_homepage():
    bad_home, bad_other, bad_next = home_measures(shop("planted")["events"])
    good_home, good_other, good_next = home_measures(shop("healthy")["events"])
    assert 0.68 < bad_home < 0.82 and bad_next < 0.32
    assert 0.24 < good_home < 0.36 and good_next > 0.64
    assert good_home <= good_other + 0.02
    assert 0.34 < good_other < 0.44
    assert 0.34 < bad_other < 0.60          # mismatched_landing_pages: paid landings bounce
    # home visitors of the planted shop buy less
    bad, good = shop("planted")["events"], shop("healthy")["events"]
    assert home_purchase_rate(bad) < 0.75 * home_purchase_rate(good)
    # and hesitate longer before their first action
    assert first_action_seconds(bad) > 2 * first_action_seconds(good)


def home_purchase_rate(events):
    s = sessions(events)
    home = s.index[s["landing"] == "home"]
    return events.loc[events["event_type"] == "purchase", "session_id"].isin(home).sum() / len(home)


def first_action_seconds(events):
    """Median seconds from a home landing to the next event."""
    ev = events.sort_values(["session_id", "event_time"], kind="stable")
    nxt = ev.groupby("session_id")["event_time"].shift(-1)
    first = ~ev["session_id"].duplicated() & (ev["page_type"] == "home") & nxt.notna()
    return (nxt[first] - ev.loc[first, "event_time"]).dt.total_seconds().median()


def test_unreminded_carts():
    bad, good = carts(shop("planted")["events"]), carts(shop("healthy")["events"])
    assert 0.78 < bad["abandoned"].mean() < 0.88
    assert 0.52 < good["abandoned"].mean() < 0.64
    by_device = bad.groupby("device")["abandoned"].mean()
    assert by_device["mobile"] > by_device["desktop"]
    bad_24h, bad_any, bad_second = reminder_measures(shop("planted"))
    good_24h, _, good_second = reminder_measures(shop("healthy"))
    assert bad_24h < 0.02 and 0.06 < bad_any < 0.22 and bad_second < 0.06   # no follow-ups, only other carts
    assert good_24h > 0.85 and good_second > 0.3


def test_reminders_bring_carts_back():
    """Carts left by opted-in customers (reminded) are bought later far more often than carts of
    customers who cannot be e-mailed (never reminded)."""
    t = shop("healthy")
    ev = t["events"]
    c = carts(ev)
    in_session = set(ev.loc[ev["event_type"] == "purchase", "session_id"])
    c = c[c["customer_id"].notna() & ~c["session_id"].isin(in_session)]
    opted = c["customer_id"].map(t["customers"].set_index("customer_id")["email_opt_in"]).astype(bool)
    back = c["bought_at"].notna()
    assert back[opted].mean() > back[~opted].mean() + 0.07
    # the recovered cart is bought in a later visit that lands on the cart
    landings = ev[~ev["session_id"].duplicated()]
    assert (landings["page_type"] == "cart").sum() > 0


def test_over_contacting():
    bad, good = shop("planted")["messages"], shop("healthy")["messages"]
    assert unsubscribe_rate(bad) >= 0.006
    assert unsubscribe_rate(good) <= 0.0025
    curve = unsubscribe_by_weekly_contacts(bad)
    assert curve[4] > 5 * curve[1]
    assert curve.index.max() == 4 and unsubscribe_by_weekly_contacts(good).index.max() <= 2
    # the heavily contacted are 15-20% of the opted-in customers
    m = bad[bad["message_type"].isin(["promo", "newsletter"])]
    weekly = m.groupby(["customer_id", m["sent_at"].dt.to_period("W")]).size()
    heavy = weekly[weekly >= 4].index.get_level_values(0).nunique()
    opted = shop("planted")["customers"]["email_opt_in"].sum()
    assert 0.13 < heavy / opted < 0.23
    assert bad["complained_at"].notna().mean() > 2 * good["complained_at"].notna().mean()


MEASURES = {
    "weak_homepage": lambda t: home_measures(t["events"])[0],
    "unreminded_carts": lambda t: carts(t["events"])["abandoned"].mean(),
    "over_contacting": lambda t: unsubscribe_rate(t["messages"]),
}
GOOD = {"weak_homepage": (0.24, 0.36), "unreminded_carts": (0.52, 0.64), "over_contacting": (0, 0.0025)}
BAD = {"weak_homepage": (0.68, 0.82), "unreminded_carts": (0.78, 0.88), "over_contacting": (0.006, 0.03)}


@pytest.mark.parametrize("mistake", synth.MISTAKES)
def test_each_mistake_alone_moves_only_its_own_measure(mistake):
    t = shop("healthy", mistakes=(mistake,))
    for name, measure in MEASURES.items():
        low, high = (BAD if name == mistake else GOOD)[name]
        assert low <= measure(t) <= high, (mistake, name, measure(t))
    if mistake != "unreminded_carts":
        assert reminder_measures(t)[0] > 0.85


# --------------------------------------------------------------------------------------------
# The catalogue's other mistakes: one plain measure each, as a check would take it


PAID_CHANNELS = ["paid_search", "paid_social", "display", "affiliate"]
EARNED = ["organic_search", "organic_social", "referral"]


def _end(t):
    return t["events"]["event_time"].max().normalize() + pd.Timedelta(days=1)


def first_sessions(events):
    return events.drop_duplicates("session_id")


def untracked_share(t):
    """Share of sessions with no channel."""
    return first_sessions(t["events"])["channel"].isna().mean()


def top_channel_share(t):
    """Largest share of new customers (known first touch) from one channel."""
    return t["customers"]["acquisition_channel"].value_counts(normalize=True).max()


def value_per_acquisition_cost(t):
    """Revenue in the first 365 days of customers acquired through paid channels, per euro of
    paid spend per such customer (whole period)."""
    cu, od = t["customers"], t["orders"]
    paid = cu[cu["acquisition_channel"].isin(PAID_CHANNELS)]
    cac = t["spend"]["amount"].sum() / len(paid)
    o = od.merge(paid[["customer_id", "first_seen_at"]], on="customer_id")
    value = o.loc[o["order_time"] < o["first_seen_at"] + pd.Timedelta(days=365), "revenue"].sum() / len(paid)
    return value / cac


def earned_share(t):
    """Share of new customers (known first touch) from organic search, organic social, referral."""
    ch = t["customers"]["acquisition_channel"].dropna()
    return ch.isin(EARNED).mean()


def paid_landing_bounce(t):
    """Bounce of paid-channel sessions landing off the home page."""
    ev = t["events"]
    s = sessions(ev).join(first_sessions(ev).set_index("session_id")["channel"])
    paid = s[s["channel"].isin(PAID_CHANNELS) & (s["landing"] != "home")]
    return paid["bounce"].mean()


def demand_after_price_rise(t, days=60):
    """Units sold in the `days` after each price rise over the `days` before, relative to the
    same ratio for all units (the shop's trend)."""
    pr = t["prices"].sort_values(["product_id", "valid_from"])
    pr = pr.assign(prev=pr.groupby("product_id")["price"].shift())
    rises = pr[pr["prev"].notna() & (pr["price"] > pr["prev"])]
    lines = t["order_lines"].merge(t["orders"][["order_id", "order_time"]], on="order_id")
    w = pd.Timedelta(days=days)
    start, end = t["events"]["event_time"].min(), t["events"]["event_time"].max()
    rises = rises[(rises["valid_from"] - w >= start) & (rises["valid_from"] + w <= end)]
    m = lines.merge(rises[["product_id", "valid_from"]], on="product_id")
    after = ((m["order_time"] >= m["valid_from"]) & (m["order_time"] < m["valid_from"] + w))
    before = ((m["order_time"] < m["valid_from"]) & (m["order_time"] >= m["valid_from"] - w))
    own = (m["quantity"] * after).sum() / max((m["quantity"] * before).sum(), 1)
    tt = lines["order_time"].to_numpy()
    vf = rises["valid_from"].to_numpy()
    q = lines["quantity"].to_numpy().astype(float)
    trend_a = sum(q[(tt >= v) & (tt < v + w)].sum() for v in vf)
    trend_b = sum(q[(tt < v) & (tt >= v - w)].sum() for v in vf)
    return own / (trend_a / trend_b)


def welcome_in_step(t):
    """Of opted-in customers whose first order came 7 or more days after their first visit: the
    share with a welcome e-mail in the 21 days before that order."""
    cu, od, ms = t["customers"], t["orders"], t["messages"]
    first = od.groupby("customer_id")["order_time"].min().rename("first_order")
    c = cu[cu["email_opt_in"].fillna(False)].set_index("customer_id").join(first, how="inner")
    c = c[c["first_order"] >= c["first_seen_at"] + pd.Timedelta(days=7)]
    w = ms.loc[ms["message_type"] == "welcome", ["customer_id", "sent_at"]].merge(
        c["first_order"].reset_index(), on="customer_id")
    hit = w[(w["sent_at"] < w["first_order"]) & (w["sent_at"] >= w["first_order"] - pd.Timedelta(days=21))]
    return c.index.isin(hit["customer_id"]).mean()


def lead_signups(t):
    """Sessions begun by an unidentified visitor (first event without customer_id) and without a
    purchase; returns them and the customer ids of those with a sign_up (the leads)."""
    ev = t["events"]
    anon_start = first_sessions(ev).loc[lambda f: f["customer_id"].isna(), "session_id"]
    e = ev[ev["session_id"].isin(anon_start)]
    non_buying = anon_start[~anon_start.isin(e.loc[e["event_type"] == "purchase", "session_id"])]
    signed = e[(e["event_type"] == "sign_up") & e["session_id"].isin(non_buying)]
    return non_buying, signed["customer_id"].unique()


def lead_signup_rate(t):
    """Sign-up rate of non-buying visitors: of sessions begun anonymously without a purchase,
    the share with a sign_up."""
    non_buying, leads = lead_signups(t)
    signed = t["events"].loc[t["events"]["event_type"] == "sign_up", "session_id"]
    return non_buying.isin(signed).mean()


def lead_first_order_rates(t, days=60):
    """First-order rate within `days` of the sign-up of the leads (first_seen_at = sign-up),
    with an incentive (a welcome message of a campaign ending in "-offer") and without."""
    _, leads = lead_signups(t)
    cu = t["customers"].set_index("customer_id").loc[leads]
    cu = cu[cu["first_seen_at"] < _end(t) - pd.Timedelta(days=days)]
    first = t["orders"].groupby("customer_id")["order_time"].min().reindex(cu.index)
    ordered = first < cu["first_seen_at"] + pd.Timedelta(days=days)
    ms = t["messages"]
    offer = ms.loc[(ms["message_type"] == "welcome") & ms["campaign_id"].str.endswith("-offer"), "customer_id"]
    inc = cu.index.isin(offer)
    return (ordered[inc].mean() if inc.any() else np.nan), (ordered[~inc].mean() if (~inc).any() else np.nan)


def first_orders_by_category(t):
    """Each customer's first order with its first product category: the category of the order's
    line of the highest value (unit_price * quantity; ties by product_id)."""
    od, ol = t["orders"], t["order_lines"]
    first = od.sort_values(["order_time", "order_id"]).drop_duplicates("customer_id")
    lines = ol[ol["order_id"].isin(first["order_id"])].assign(value=ol["unit_price"] * ol["quantity"])
    top = lines.sort_values(["value", "product_id"], ascending=[False, True]).drop_duplicates("order_id")
    return first.merge(top[["order_id", "category"]], on="order_id")


def first_category_value_ratio(t, days=180):
    """Revenue in the `days` from the first order (included) per customer whose first order is
    `days` or more before the end: customers of the most common first category over all others."""
    f = first_orders_by_category(t)
    f = f[f["order_time"] < _end(t) - pd.Timedelta(days=days)]
    od = t["orders"].merge(f[["customer_id", "order_time"]].rename(columns={"order_time": "first"}),
                           on="customer_id")
    value = od[od["order_time"] < od["first"] + pd.Timedelta(days=days)].groupby("customer_id")["revenue"].sum()
    f = f.assign(value=f["customer_id"].map(value))
    common = f["category"].value_counts().idxmax()
    return f.loc[f["category"] == common, "value"].mean() / f.loc[f["category"] != common, "value"].mean()


def cross_sell_rate(t):
    """Customers with 2+ orders: share whose later orders include a category not in the first."""
    o = t["orders"].sort_values(["order_time", "order_id"])
    o = o.assign(rank=o.groupby("customer_id").cumcount())
    lines = t["order_lines"].merge(o[["order_id", "customer_id", "rank"]], on="order_id")
    first = lines.loc[lines["rank"] == 0, ["customer_id", "category"]].drop_duplicates().assign(seen=True)
    later = lines[lines["rank"] > 0].merge(first, on=["customer_id", "category"], how="left")
    new = later.loc[later["seen"].isna(), "customer_id"].unique()
    return pd.Index(later["customer_id"].unique()).isin(new).mean()


def payment_rate(t, device):
    """Sessions of known customers on `device`: share of those that begin checkout that purchase."""
    ev = t["events"]
    m = ev[(ev["device"] == device) & ev["customer_id"].notna()]
    co = m.loc[m["event_type"] == "begin_checkout", "session_id"].unique()
    buy = m.loc[m["event_type"] == "purchase", "session_id"].unique()
    return pd.Index(co).isin(buy).mean()


def mobile_payment_gap(t):
    """The checkout-to-purchase step on mobile relative to desktop (1: as good)."""
    return payment_rate(t, "mobile") / payment_rate(t, "desktop")


def surveyed_active_share(t):
    """Customers with an order in the last 365 days who were sent a survey in that time."""
    end = _end(t)
    year = end - pd.Timedelta(days=365)
    active = t["orders"].loc[t["orders"]["order_time"] >= year, "customer_id"].unique()
    sv = t["surveys"]
    asked = sv.loc[sv["sent_at"] >= year, "customer_id"].unique()
    return pd.Index(active).isin(asked).mean()


def thanked_share(t):
    """Share of orders followed by a thank-you within a day."""
    od, ms = t["orders"], t["messages"]
    th = ms.loc[ms["message_type"] == "thank_you", ["customer_id", "sent_at"]].sort_values("sent_at")
    o = pd.merge_asof(od.sort_values("order_time"), th, left_on="order_time", right_on="sent_at",
                      by="customer_id", direction="forward", tolerance=pd.Timedelta(days=1))
    return o["sent_at"].notna().mean()


def matching_offer_share(t):
    """Share of promos whose category is the customer's most viewed category."""
    ev, ms = t["events"], t["messages"]
    views = ev[(ev["event_type"] == "product_view") & ev["customer_id"].notna()]
    top = (views.groupby(["customer_id", "category"]).size().sort_values(ascending=False)
           .reset_index().drop_duplicates("customer_id").set_index("customer_id")["category"])
    pr = ms[(ms["message_type"] == "promo") & ms["category"].notna()]
    return (pr["category"] == pr["customer_id"].map(top)).mean()


def uncontacted_after_order(t, days=30):
    """Orders of opted-in customers (older than `days`): share with no promo or newsletter in
    the `days` after the order."""
    end = _end(t)
    cu, od, ms = t["customers"], t["orders"], t["messages"]
    opted = cu.loc[cu["email_opt_in"].fillna(False), "customer_id"]
    o = od[od["customer_id"].isin(opted) & (od["order_time"] < end - pd.Timedelta(days=days))]
    mk = ms.loc[ms["message_type"].isin(["promo", "newsletter"]), ["customer_id", "sent_at"]].sort_values("sent_at")
    m = pd.merge_asof(o.sort_values("order_time"), mk, left_on="order_time", right_on="sent_at",
                      by="customer_id", direction="forward", tolerance=pd.Timedelta(days=days))
    return m["sent_at"].isna().mean()


def second_order_rate(t, days=180):
    end = _end(t)
    o = t["orders"].sort_values("order_time")
    first = o.groupby("customer_id")["order_time"].min()
    later = o[o["order_time"] > o["customer_id"].map(first)].groupby("customer_id")["order_time"].min()
    eligible = first[first <= end - pd.Timedelta(days=days)]
    return ((later.reindex(eligible.index) - eligible) <= pd.Timedelta(days=days)).mean()


def onboarded_share(t, days=7):
    """Share of first orders followed by an onboarding message within `days`."""
    od, ms = t["orders"], t["messages"]
    first = od.sort_values("order_time").drop_duplicates("customer_id")
    ob = ms.loc[ms["message_type"] == "onboarding", ["customer_id", "sent_at"]].sort_values("sent_at")
    m = pd.merge_asof(first.sort_values("order_time"), ob, left_on="order_time", right_on="sent_at",
                      by="customer_id", direction="forward", tolerance=pd.Timedelta(days=days))
    end = _end(t)
    return m.loc[m["order_time"] < end - pd.Timedelta(days=days), "sent_at"].notna().mean()


def median_first_response_hours(t):
    tk = t["tickets"]
    return ((tk["first_response_at"] - tk["opened_at"]).dt.total_seconds() / 3600).median()


def detractors_followed_up(t, days=3):
    """NPS responses 0-6: share followed by a support ticket (a call-back) within `days`."""
    sv = t["surveys"]
    d = sv[(sv["scale"] == "nps") & (sv["score"] <= 6)].dropna(subset=["responded_at"])
    contact = t["tickets"][["customer_id", "opened_at"]].rename(columns={"opened_at": "at"}).sort_values("at")
    m = pd.merge_asof(d.sort_values("responded_at"), contact, left_on="responded_at", right_on="at",
                      by="customer_id", direction="forward", tolerance=pd.Timedelta(days=days))
    return m["at"].notna().mean()


def unrecognised_loyal_share(t):
    """Customers with 3+ orders who are not loyalty members."""
    k = t["orders"].groupby("customer_id").size()
    loyal = k[k >= 3].index
    member = t["customers"].set_index("customer_id")["loyalty_member_since"]
    return member.reindex(loyal).isna().mean()


def referrer_share(t):
    """Distinct referrers per customer with an order."""
    return t["referrals"]["referrer_id"].nunique() / t["orders"]["customer_id"].nunique()


def reviews_per_order(t, days=30):
    end = _end(t)
    od = t["orders"]
    old = od[od["order_time"] < end - pd.Timedelta(days=days)]
    return t["reviews"]["order_id"].isin(old["order_id"]).sum() / len(old)


def lapsed(t, lo=100, hi=400):
    """Customers whose last order is `lo` to `hi` days before the end: id -> last order time."""
    end = _end(t)
    last = t["orders"].groupby("customer_id")["order_time"].max()
    return last[(last < end - pd.Timedelta(days=lo)) & (last >= end - pd.Timedelta(days=hi))]


def repeat_lapsed_winback_share(t):
    """Lapsed, e-mail opted-in customers with 2+ orders: share sent a win-back after their last order."""
    last = lapsed(t)
    k = t["orders"].groupby("customer_id").size()
    opted = t["customers"].set_index("customer_id")["email_opt_in"].fillna(False)
    last = last[(k.reindex(last.index) >= 2) & opted.reindex(last.index).to_numpy()]
    wb = t["messages"]
    wb = wb[wb["message_type"] == "winback"]
    got = wb[wb["sent_at"] > wb["customer_id"].map(last)]["customer_id"].unique()
    return last.index.isin(got).mean()


def late_winback_share(t, days=180):
    """Win-back messages sent more than `days` after the customer's previous order."""
    wb = t["messages"].loc[t["messages"]["message_type"] == "winback", ["customer_id", "sent_at"]]
    od = t["orders"][["customer_id", "order_time"]].sort_values("order_time")
    m = pd.merge_asof(wb.sort_values("sent_at"), od, left_on="sent_at", right_on="order_time",
                      by="customer_id", direction="backward")
    return ((m["sent_at"] - m["order_time"]) > pd.Timedelta(days=days)).mean()


def winback_to_suppressed(t):
    """Win-back messages per 1000 sent to customers who defaulted or left a review of 1-2 stars."""
    cu, rv, ms = t["customers"], t["reviews"], t["messages"]
    bad = set(cu.loc[cu["payment_default"].fillna(False), "customer_id"]) | set(rv.loc[rv["rating"] <= 2, "customer_id"])
    wb = ms[ms["message_type"] == "winback"]
    return 1000 * wb["customer_id"].isin(bad).mean()


def postal_fallback_share(t):
    """Lapsed customers without e-mail opt-in but with a postal address: share sent a message by post."""
    last = lapsed(t)
    cu = t["customers"].set_index("customer_id").reindex(last.index)
    target = cu[~cu["email_opt_in"].fillna(False) & cu["has_postal_address"].fillna(False)].index
    ms = t["messages"]
    post = ms.loc[ms["channel"] == "postal", "customer_id"].unique()
    return target.isin(post).mean()


# Each measure, and the side of its cut point that is bad: (measure, cut, bad when higher).
CATALOGUE_MEASURES = {
    "weak_homepage": (lambda t: home_measures(t["events"])[0], 0.5, True),
    "unreminded_carts": (lambda t: carts(t["events"])["abandoned"].mean(), 0.7, True),
    "over_contacting": (lambda t: unsubscribe_rate(t["messages"]), 0.004, True),
    "untracked_traffic": (untracked_share, 0.15, True),
    "one_channel": (top_channel_share, 0.45, True),
    "costly_acquisition": (value_per_acquisition_cost, 1.6, False),
    "no_earned_reach": (earned_share, 0.2, False),
    "mismatched_landing_pages": (paid_landing_bounce, 0.55, True),
    "price_rise_churn": (lambda t: demand_after_price_rise(t, 90), 0.7, False),
    "welcome_out_of_step": (welcome_in_step, 0.45, False),
    "no_lead_capture": (lead_signup_rate, 0.005, False),
    "broken_checkout_step": (mobile_payment_gap, 0.75, False),
    "no_customer_research": (surveyed_active_share, 0.5, False),
    "no_thank_you": (thanked_share, 0.8, False),
    "irrelevant_offers": (matching_offer_share, 0.5, False),
    "no_post_purchase_contact": (uncontacted_after_order, 0.3, True),
    "no_repeat_purchase": (second_order_rate, 0.19, False),
    "no_onboarding": (onboarded_share, 0.5, False),
    "slow_support": (median_first_response_hours, 8.0, True),
    "unheard_detractors": (detractors_followed_up, 0.5, False),
    "weak_first_product": (first_category_value_ratio, 0.6, False),
    "unrecognised_loyal": (unrecognised_loyal_share, 0.4, True),
    "no_referral_program": (referrer_share, 0.05, False),
    "no_review_requests": (reviews_per_order, 0.06, False),
    "unnoticed_churn": (repeat_lapsed_winback_share, 0.5, False),
    "endless_winback": (late_winback_share, 0.1, True),
    "no_suppression": (winback_to_suppressed, 5.0, True),
    "no_channel_fallback": (postal_fallback_share, 0.5, False),
}
ALONE_SIZE = 2000


def _bad(name, value):
    _, cut, higher = CATALOGUE_MEASURES[name]
    return value > cut if higher else value < cut


def test_every_mistake_has_a_measure():
    assert set(CATALOGUE_MEASURES) == set(synth.MISTAKES)


@pytest.fixture(scope="module")
def healthy_measures():
    t = shop("healthy", customers=ALONE_SIZE)
    return {name: m(t) for name, (m, _, _) in CATALOGUE_MEASURES.items()}


def test_healthy_shop_is_good_on_every_measure(healthy_measures):
    bad = {k: v for k, v in healthy_measures.items() if _bad(k, v)}
    assert not bad


def test_planted_shop_is_bad_on_every_measure():
    t = shop("planted", customers=ALONE_SIZE)
    good = {name: m(t) for name, (m, _, _) in CATALOGUE_MEASURES.items() if not _bad(name, m(t))}
    assert not good


@pytest.mark.parametrize("mistake", [m for m in synth.MISTAKES if m not in MEASURES])
def test_each_catalogue_mistake_alone_moves_only_its_own_measure(mistake):
    t = shop("healthy", mistakes=(mistake,), customers=ALONE_SIZE)
    for name, (measure, _, _) in CATALOGUE_MEASURES.items():
        value = measure(t)
        assert _bad(name, value) == (name == mistake), (mistake, name, value)


def test_lead_capture():
    """Healthy: about 1% of anonymous non-buying sessions sign up, and the sign-ups who get a
    first-order code buy far more often; planted: no anonymous visitor signs up."""
    good, bad = shop("healthy"), shop("planted")
    assert 0.008 < lead_signup_rate(good) < 0.016 and lead_signup_rate(bad) < 0.002
    with_code, without = lead_first_order_rates(good)
    assert with_code > 0.15 and with_code > 2 * without
    assert len(lead_signups(bad)[1]) == 0
    # the sign-up visit starts anonymous; first_seen_at is the sign_up, the code is used
    ev = good["events"]
    signup = ev[ev["event_type"] == "sign_up"]
    firsts = first_sessions(ev).set_index("session_id")["customer_id"]
    leads = signup[firsts.reindex(signup["session_id"]).isna().to_numpy()]
    seen = good["customers"].set_index("customer_id")["first_seen_at"]
    assert (seen.reindex(leads["customer_id"]).to_numpy() == leads["event_time"].to_numpy()).all()
    # the code: a discount on every first order within 30 days of an "-offer" welcome
    ms = good["messages"]
    offer = ms.loc[(ms["message_type"] == "welcome") & ms["campaign_id"].str.endswith("-offer"), "customer_id"]
    assert set(offer) <= set(leads["customer_id"])
    od = good["orders"].sort_values("order_time").drop_duplicates("customer_id")
    od = od[od["customer_id"].isin(offer)]
    soon = od["order_time"] <= od["customer_id"].map(seen) + pd.Timedelta(days=30)
    assert soon.sum() > 20 and (od.loc[soon, "discount"] > 0).all()


def test_weak_first_product():
    """Planted: paid ads start most customers on a cheap category whose buyers lapse, and
    nobody buys outside their category; healthy: first categories are worth alike, and half the
    repeat customers buy another category."""
    good, bad = shop("healthy"), shop("planted")
    assert first_orders_by_category(bad)["category"].value_counts().idxmax() == "beauty"
    assert first_orders_by_category(good)["category"].value_counts().idxmax() == "apparel"
    assert first_category_value_ratio(bad) < 0.5 < 0.75 < first_category_value_ratio(good)
    assert cross_sell_rate(bad) < 0.25 < 0.45 < cross_sell_rate(good)
    # the door-opener comes through paid channels
    f = first_orders_by_category(bad).merge(bad["customers"][["customer_id", "acquisition_channel"]])
    f = f[f["acquisition_channel"].notna()]
    paid = f["acquisition_channel"].isin(PAID_CHANNELS)
    assert (f.loc[paid, "category"] == "beauty").mean() > 2 * (f.loc[~paid, "category"] == "beauty").mean()
