"""The generated tables against the contract, consistent with one another and plausible for a shop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lifecycle_audit.contract import PANDAS_DTYPES, TABLES

from .shops import END

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
    priced = pd.merge_asof(
        lines, pr.sort_values("valid_from"), left_on="day", right_on="valid_from", by="product_id", direction="backward"
    )
    assert np.allclose(priced["unit_price"], priced["price"])
    assert ol["order_id"].isin(od["order_id"]).all() and od["order_id"].isin(ol["order_id"]).all()


def test_sessions_are_consistent(tables):
    ev = tables["events"]
    per = ev.groupby("session_id").agg(
        c=("customer_id", "nunique"), a=("anonymous_id", "nunique"), ch=("channel", "nunique"), d=("device", "nunique")
    )
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
    assert (
        ev.loc[ev["customer_id"].isna(), "event_type"]
        .isin(["page_view", "product_view", "add_to_cart", "begin_checkout"])
        .all()
    )
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
    healthy = cu["acquisition_channel"].isna().mean() < 0.2  # untracked_traffic loses 40%
    if healthy:
        assert 0.01 < cu["acquisition_channel"].isna().mean() < 0.08
        assert cu["acquisition_channel"].value_counts(normalize=True).max() < 0.35
    first = ev.drop_duplicates("session_id")
    ratio = first["customer_id"].isna().sum() / first["customer_id"].notna().sum()
    assert 2 <= ratio <= 3.6  # planted: first-time buyers who lapse leave fewer identified visits
    assert 0.5 < (first["device"] == "mobile").mean() < 0.6
    assert 0.33 < (first["page_type"] == "home").mean() < 0.46
    assert 40 < od["revenue"].mean() < 120
    # repeat purchase: second order within 180 days of the first
    o = od.sort_values("order_time")
    first_order = o.groupby("customer_id")["order_time"].min()
    second = o[o["order_time"] > o["customer_id"].map(first_order)].groupby("customer_id")["order_time"].min()
    eligible = first_order[first_order <= END - pd.Timedelta(days=180)]
    repeat = ((second.reindex(eligible.index) - eligible) <= pd.Timedelta(days=180)).mean()
    assert (0.15 if healthy else 0.04) < repeat < 0.45  # no_repeat_purchase: ~0.08
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
