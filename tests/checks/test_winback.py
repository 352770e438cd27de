"""The win-back checks on small hand-built tables where the answer is known."""

from __future__ import annotations

import pandas as pd
import pytest
from lifetimes.utils import ConvergenceError
from pandas.testing import assert_series_equal

from lifecycle_audit.checks.winback.common import lapsed_contacts, winbacks
from lifecycle_audit.errors import CheckError
from lifecycle_audit.metrics import churn, lifetime
from tests.kit import customers, estimated, messages, orders, reviews, run, shop, tables

END = pd.Timestamp("2026-10-01")  # the day after the last order of every shop below
AT = END + pd.Timedelta(hours=10)  # rows are dated in days before the end, at 10:00


def buys(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (customer_id, days before the end, revenue)."""
    return orders([dict(customer_id=c, days=-d, revenue=r) for c, d, r in rows], t0=AT)


def sends(rows: list[tuple]) -> pd.DataFrame:
    """Messages from (customer_id, message_type, channel, days before the end, unsubscribed on receipt)."""
    return messages(
        [
            dict(customer_id=c, message_type=t, channel=ch, days=-d, unsubscribed_at=pd.Timedelta(0) if unsub else None)
            for c, t, ch, d, unsub in rows
        ],
        bounced=False,
        t0=AT,
    )


def people(rows: list[tuple]) -> pd.DataFrame:
    """Customers first seen 500 days before the end, from (customer_id, email_opt_in, has_postal_address,
    payment_default)."""
    return customers(
        [dict(customer_id=c, email_opt_in=o, has_postal_address=p, payment_default=d) for c, o, p, d in rows],
        days=-500,
        t0=AT,
    )


def rated(rows: list[tuple]) -> pd.DataFrame:
    """Reviews from (customer_id, days before the end, rating)."""
    return reviews([dict(customer_id=c, days=-d, rating=r) for c, d, r in rows], t0=AT)


# ---------------------------------------------------------------- winback.churn_risk


def churn_shop():
    """30 opted-in repeat customers lapsed 200 days (20 sent a win-back after it), 60 active repeat
    customers (half with 3 orders), 40 one-time buyers; the last order is the day before the end."""
    o, m, c = [], [], []
    for i in range(30):
        cid = f"L{i:02d}"
        o += [(cid, 420 - i, 80.0 + i), (cid, 200, 90.0 + i)]
        c.append((cid, True, True, False))
        if i < 20:
            m.append((cid, "winback", "email", 110, False))
    for i in range(60):
        cid = f"A{i:02d}"
        o += [(cid, 300 - i, 50.0), (cid, 100 - i, 60.0)] + ([(cid, 1 + i % 20, 70.0)] if i % 2 else [])
        c.append((cid, True, True, False))
    for i in range(40):
        cid = f"N{i:02d}"
        o.append((cid, 10 + 9 * i, 40.0))
        c.append((cid, True, True, False))
    return {"orders": buys(o), "messages": sends(m), "customers": people(c)}


THIN = dict(min_buyers=100, min_three_order_customers=5)


@pytest.fixture(scope="module")
def churn_finding():
    return run("winback.churn_risk", overrides=THIN, **churn_shop())


def test_churn_risk_measures_the_share_of_lapsing_repeat_customers_sent_a_winback(churn_finding):
    f = churn_finding
    assert f.value == pytest.approx(20 / 30)
    assert f.status == "warn"  # between poor 0.4 and good 0.8
    assert f.details["lapsed_repeat_customers"] == 30 and f.details["not_contacted"] == 10
    assert f.details["fit_seconds"] >= 0 and set(f.details["model_params"]) >= {"r", "alpha", "a", "b", "p", "q", "v"}


def test_churn_risk_lists_the_uncontacted_customers_as_pseudonyms_with_revenue_at_risk(churn_finding):
    f = churn_finding
    assert len(f.table) == 10
    assert not f.table["customer_id"].str.match(r"^L\d\d$").any()  # never the raw ids
    assert (f.table["p_alive"].between(0, 1)).all() and (f.table["revenue_at_risk"] > 0).all()
    assert estimated(f) == pytest.approx(f.table["revenue_at_risk"].sum() * 0.0171)
    assert "BG/NBD" in f.at_stake_method and "Gamma-Gamma" in f.at_stake_method


def test_churn_risk_is_not_run_below_klaviyos_prerequisites():
    f = run("winback.churn_risk", **churn_shop())
    assert f.status == "not_run"
    assert "at least 500 customers with orders" in f.reason and "found 130" in f.reason


def _converging_from(monkeypatch, smallest: float) -> None:
    """BG/NBD fails to converge below the penalizer `smallest`, as on a real shop whose data it cannot fit."""
    fit = lifetime.fit_bgnbd

    def fit_or_fail(summary, penalizer=0.0):
        if penalizer < smallest:
            raise ConvergenceError("The model did not converge. Try adding a larger penalizer.")
        return fit(summary, penalizer)

    monkeypatch.setattr(lifetime, "fit_bgnbd", fit_or_fail)


def test_churn_risk_retries_with_a_larger_penalizer_and_says_so(monkeypatch):
    _converging_from(monkeypatch, 0.01)
    f = run("winback.churn_risk", overrides=THIN, **churn_shop())
    assert f.ran and f.details["penalizers"] == {"bgnbd": 0.01, "gamma_gamma": 0.001}
    assert "only with a penalizer of 0.01" in f.at_stake_method.render()
    plain = run("winback.churn_risk", overrides={**THIN, "penalizers": [0.01, 0.1]}, **churn_shop())
    assert plain.details["penalizers"]["bgnbd"] == 0.01 and "penalizer" not in plain.at_stake_method.render()


def test_churn_risk_is_not_run_when_no_penalizer_makes_the_model_converge(monkeypatch):
    _converging_from(monkeypatch, 1.0)
    f = run("winback.churn_risk", overrides={**THIN, "penalizers": [0, 0.001, 0.01, 0.1]}, **churn_shop())
    assert f.status == "not_run" and f.score is None
    assert f.reason.render() == (
        "the BG/NBD lifetime model could not be fitted to this shop's orders: it found no stable estimate, even "
        "with the strongest smoothing tried (penalizer 0.1)"
    )


@pytest.mark.parametrize("ladder", [[], [-0.1], ["much"]])
def test_churn_risk_penalizers_are_checked(ladder):
    with pytest.raises(CheckError, match="penalizers"):
        run("winback.churn_risk", overrides={"penalizers": ladder}, **churn_shop())


def test_alive_by_age_counts_every_buyer_once():
    t = tables(**churn_shop())
    view = churn.alive_by_age(t)
    assert list(view["probability_alive"]) == list(churn.ALIVE_BANDS)
    assert int(view[list(churn.AGE_BANDS)].to_numpy().sum()) == 130


# ---------------------------------------------------------------- winback.recontact_cutoff


def cutoff_shop():
    """20 customers with an order 400 days before the end; win-backs at 95 days (10 customers, 4 of whom
    order again within a week) and at 300 days (the other 10, none of whom orders again)."""
    o, m = [], []
    for i in range(20):
        cid = f"C{i:02d}"
        o.append((cid, 400, 50.0))
        if i < 10:
            m.append((cid, "winback", "email", 305))
            if i < 4:
                o.append((cid, 300, 60.0))
        else:
            m.append((cid, "winback", "email", 100))
    o.append(("Z", 1, 10.0))
    return {"orders": buys(o), "messages": sends([(*r, False) for r in m])}


def test_recontact_cutoff_counts_winbacks_beyond_180_days():
    f = run("winback.recontact_cutoff", overrides=dict(min_messages=10), **cutoff_shop())
    assert f.value == pytest.approx(0.5) and f.status == "fail"
    table = f.table.set_index("since_last_order")
    assert table.loc["91–180 days", "messages"] == 10 and table.loc["0–90 days", "messages"] == 0
    assert table.loc["181–365 days", "messages"] == 10
    assert table.loc["91–180 days", "reactivation_rate"] == pytest.approx(0.4)
    assert table.loc["181–365 days", "reactivation_rate"] == 0
    assert f.details["reactivation_before_cutoff"] == pytest.approx(0.4) and f.at_stake is None


def test_recontact_cutoff_needs_enough_winbacks():
    f = run("winback.recontact_cutoff", **cutoff_shop())
    assert f.status == "not_run" and f.reason == "needs at least 50 win-back messages sent after an order; found 20"


# ---------------------------------------------------------------- winback.suppression


def suppression_shop():
    """100 win-backs: 2 to a customer who did not pay, 2 after a 1-star review, 1 before a 2-star review."""
    c = [(f"C{i:02d}", True, True, i == 0) for i in range(97)]
    m = [(f"C{i:02d}", "winback", "email", 50, False) for i in range(97)]
    m += [
        ("C00", "winback", "email", 40, False),
        ("C01", "winback", "email", 30, False),
        ("C02", "winback", "email", 30, False),
    ]
    r = [("C01", 60, 1), ("C02", 20, 2), ("C03", 60, 5)]
    return {"customers": people(c), "messages": sends(m), "reviews": rated(r), "orders": buys([("C00", 200, 10.0)])}


def test_suppression_counts_winbacks_per_1000_to_defaulters_and_bad_reviewers():
    f = run("winback.suppression", **suppression_shop())
    # C00 twice (did not pay), C01 twice after its 1-star review; C02's review came after its messages
    assert f.value == pytest.approx(1000 * 4 / 100) and f.status == "fail"
    assert f.details["to_defaulted"] == 2 and f.details["to_bad_reviewers"] == 2 and f.details["customers"] == 2
    assert len(f.table) == 2 and set(f.table["reason"]) == {"did not pay", "bad review"}
    assert not f.table["customer_id"].isin(["C00", "C01"]).any()


def test_suppression_needs_enough_winbacks():
    f = run("winback.suppression", overrides=dict(min_messages=500), **suppression_shop())
    assert f.status == "not_run" and f.reason == "needs at least 500 win-back messages; found 100"


# ---------------------------------------------------------------- winback.channel_fallback


def fallback_shop():
    """Lapsed 200 days: 10 without opt-in with a postal address (6 sent a postal win-back after the last
    order), 4 opted in but unsubscribed with an address (1 sent by post), 3 reachable by e-mail, 2 without
    opt-in or address; an active customer orders the day before the end."""
    groups = [  # prefix, customers, opt-in, postal address, [(message, sent to the first how many)]
        ("P", 10, False, True, [(("winback", "postal", 100, False), 6)]),
        ("U", 4, True, True, [(("newsletter", "email", 250, True), 4), (("winback", "postal", 100, False), 1)]),
        ("E", 3, True, True, [(("winback", "email", 110, False), 3)]),
        ("X", 2, False, False, []),
    ]
    o, m, c = [], [], []
    for prefix, n, opt_in, postal, sent in groups:
        for i in range(n):
            cid = f"{prefix}{i:02d}"
            o.append((cid, 200, 100.0))
            c.append((cid, opt_in, postal, False))
            m += [(cid, *message) for message, first in sent if i < first]
    o.append(("Z", 1, 100.0))
    c.append(("Z", True, True, False))
    return {"orders": buys(o), "messages": sends(m), "customers": people(c)}


def test_channel_fallback_measures_lapsed_dead_email_customers_tried_on_another_channel():
    f = run("winback.channel_fallback", overrides=dict(min_customers=5), **fallback_shop())
    assert f.value == pytest.approx(7 / 14) and f.status == "warn"
    assert f.details["not_tried"] == 7 and len(f.table) == 7
    assert not f.table["customer_id"].str.match(r"^[PU]\d\d$").any()
    # the postal win-backs brought no order back here, below the published win-back rate: nothing at stake
    assert estimated(f) == 0 and "Klaviyo" in f.at_stake_method


def test_channel_fallback_needs_enough_unreachable_customers():
    f = run("winback.channel_fallback", **fallback_shop())
    assert f.status == "not_run"
    assert f.reason == (
        "needs at least 20 customers whose last order was 100 to 400 days ago, whose e-mail no "
        "longer works and who have another channel; found 14"
    )


# ---------------------------------------------------------------- what the messages say of the lapsed customers


def _tied_shop() -> dict[str, pd.DataFrame]:
    """A generated shop with the awkward rows added: win-backs sent at the very moment of the customer's last
    order (not after it), messages of no type or no time, and lapsed customers the customers table does not list
    or whose opt-in is unknown."""
    frames = shop(customers=1500, seed=11)
    od, ms, cu = frames["orders"], frames["messages"], frames["customers"]
    last = od.dropna(subset=["customer_id"]).groupby("customer_id")["order_time"].max()
    end = churn.end_of(tables(**frames))
    age = (end - last).dt.total_seconds() / 86400
    lapsed = last[(age > 100) & (age <= 400)].sort_index()
    tied = lapsed.index[:40]
    extra = [
        dict(customer_id=c, channel=ch, message_type="winback", sent_at=lapsed[c])
        for i, c in enumerate(tied)
        for ch in (("email", "postal", "sms")[i % 3],)
    ]
    extra += [dict(customer_id=c, channel="postal", message_type=None, sent_at=lapsed[c]) for c in lapsed.index[40:60]]
    extra += [
        dict(customer_id=c, channel="postal", message_type=None, sent_at=lapsed[c] + pd.Timedelta(days=1))
        for c in lapsed.index[60:70]
    ]
    extra += [dict(customer_id=c, channel="sms", message_type="promo", sent_at=None) for c in lapsed.index[70:80]]
    add = pd.DataFrame(extra).reindex(columns=ms.columns)
    add["message_id"] = [f"X{i}" for i in range(len(add))]
    ms = pd.concat([ms, add.astype(ms.dtypes.to_dict())], ignore_index=True)
    cu = cu[~cu["customer_id"].isin(lapsed.index[80:100])].copy()  # lapsed customers the table does not list
    cu.loc[cu["customer_id"].isin(lapsed.index[100:120]), "email_opt_in"] = None
    return {**frames, "messages": ms, "customers": cu}


def contacted_after(last: pd.Series, msgs: pd.DataFrame) -> pd.Series:
    """The reading the checks made message by message: per customer of `last` (customer_id -> last order time),
    was any of `msgs` sent after it?"""
    if last.empty or msgs.empty:
        return pd.Series(False, index=last.index, dtype=bool)
    got = msgs.assign(last=msgs["customer_id"].map(last))
    got = got[got["sent_at"] > got["last"]]
    return pd.Series(last.index.isin(got["customer_id"].unique()), index=last.index)


def test_lapsed_contacts_say_what_the_single_messages_say_with_ties_and_gaps():
    frames = _tied_shop()
    t = tables(**frames)
    lap = churn.lapsed(t, 100, 400)
    said = lapsed_contacts(t, 100, 400).loc[lap.index]
    last = lap["last_order"]
    ms = frames["messages"].dropna(subset=["customer_id"])
    # the reading the checks made message by message
    assert_series_equal(said["last_winback"] > last, contacted_after(last, winbacks(t)), check_names=False)
    assert_series_equal(
        said["last_email_winback"] > last, contacted_after(last, winbacks(t, "email")), check_names=False
    )
    other = ms[ms["channel"].isin(("postal", "sms", "push"))]
    marketing = other[~other["message_type"].isin(("transactional", "thank_you"))]
    assert_series_equal(said["last_other_marketing"] > last, contacted_after(last, marketing), check_names=False)
    email = ms[ms["channel"] == "email"]
    dead = set(email.loc[email["unsubscribed_at"].notna() | email["bounced"].fillna(False).astype(bool), "customer_id"])
    assert list(said["email_dead"]) == [c in dead for c in lap.index]
    used = set(other.loc[other["channel"].isin(("sms", "push")), "customer_id"])
    assert list(said["sms_or_push"]) == [c in used for c in lap.index]
    cu = frames["customers"]
    opted = set(cu.loc[cu["email_opt_in"].fillna(False).astype(bool), "customer_id"])
    assert list(said["opted_in"]) == [c in opted for c in lap.index]
    postal = set(cu.loc[cu["has_postal_address"].fillna(False).astype(bool), "customer_id"])
    assert list(said["postal_address"]) == [c in postal for c in lap.index]
    # the awkward rows are there to be read: a win-back at the moment of the last order is not one after it
    tied = lap.index.intersection(lap.sort_index().index[:40])
    assert not (said.loc[tied, "last_winback"] > last[tied]).all()
    assert (~said["opted_in"]).sum() >= 40  # the 20 unlisted and the 20 of unknown opt-in among them
