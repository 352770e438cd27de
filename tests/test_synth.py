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
    assert 0.15 < repeat < 0.45
    email = ms[ms["channel"] == "email"]
    marketing = email[email["message_type"].isin(["promo", "newsletter"])]
    assert 0.18 < marketing["opened_at"].notna().mean() < 0.4
    assert 0.015 < marketing["clicked_at"].notna().mean() < 0.05
    # every order is thanked within the hour
    thanks = ms[ms["message_type"] == "thank_you"]
    assert len(thanks) >= 0.99 * len(od)
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
    for other in (bad_other, good_other):
        assert 0.34 < other < 0.44
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
