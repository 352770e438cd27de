"""Tested campaigns: members with a control group held out at random, and the orders a campaign that works brings
(useless_campaign)."""

from __future__ import annotations

import pandas as pd
import pytest

from lifecycle_audit.metrics import lift

from .measures import measure
from .shops import shop

WINDOW = pd.Timedelta(days=14)


def order_rates(t) -> pd.DataFrame:
    """Per campaign and assignment: members and the share who ordered within 14 days of their assignment."""
    cm, od = t["campaign_members"], t["orders"]
    j = cm.merge(od[["customer_id", "order_time"]], on="customer_id", how="left")
    j["ordered"] = (j["order_time"] >= j["assigned_at"]) & (j["order_time"] < j["assigned_at"] + WINDOW)
    per = j.groupby(["campaign_id", "customer_id", "assignment"])["ordered"].any().reset_index()
    return per.groupby(["campaign_id", "assignment"])["ordered"].agg(["mean", "size"]).unstack()


@measure("useless_campaign", cut=0.02, bad="lower")
def loyalty_campaign_click_to_order(t):
    """Share of the loyalty campaign's recipients who clicked its e-mail and ordered within a day of the click (the
    lift over the control group, the check's measure, is too noisy to separate the shops at 2,000 customers)."""
    ms, od = t["messages"], t["orders"]
    m = ms[ms["campaign_id"] == "CAMP-loyalty-gift"]
    j = m.merge(od[["customer_id", "order_time"]], on="customer_id")
    hit = (j["order_time"] >= j["clicked_at"]) & (j["order_time"] < j["clicked_at"] + pd.Timedelta(days=1))
    return j.loc[hit, "customer_id"].nunique() / m["customer_id"].nunique()


def test_both_shops_test_two_campaigns_with_a_random_control_group(tables):
    cm = tables["campaign_members"]
    assert set(cm["campaign_id"]) == {"CAMP-loyalty-gift", "CAMP-spring-sale"}
    assert not cm.duplicated(["campaign_id", "customer_id"]).any()
    for _, g in cm.groupby("campaign_id"):  # the planned 15 %, within chance
        held = int(g["assignment"].eq("control").sum())
        assert lift.sample_ratio_mismatch(len(g) - held, held, 0.15) > 0.001
    assert (cm["control_share"] == 0.15).all()
    assert (cm.loc[cm["assignment"] == "control", "cost"] == 0).all()
    assert (cm.loc[cm["assignment"] == "treatment", "cost"] > 0).all()
    spring = cm[(cm["campaign_id"] == "CAMP-spring-sale") & (cm["assignment"] == "treatment")]
    assert set(spring["variant"]) == {"A", "B"}
    assert cm.loc[cm["campaign_id"] == "CAMP-loyalty-gift", "variant"].isna().all()


def test_only_the_treated_get_the_campaign_mail(tables):
    cm, ms = tables["campaign_members"], tables["messages"]
    sent = ms[ms["campaign_id"].isin(cm["campaign_id"].unique())]
    got = cm.merge(sent[["campaign_id", "customer_id"]], on=["campaign_id", "customer_id"], how="left", indicator=True)
    mailed = got["_merge"].eq("both")
    assert (mailed == got["assignment"].eq("treatment")).all()


def test_a_campaign_that_works_raises_the_order_rate_and_the_useless_one_does_not():
    planted, healthy = order_rates(shop("planted"))["mean"], order_rates(shop("healthy"))["mean"]
    for rates in (planted, healthy):
        spring = rates.loc["CAMP-spring-sale"]
        assert spring["treatment"] - spring["control"] > 0.05
    assert healthy.loc["CAMP-loyalty-gift", "treatment"] - healthy.loc["CAMP-loyalty-gift", "control"] > 0.05
    assert abs(planted.loc["CAMP-loyalty-gift", "treatment"] - planted.loc["CAMP-loyalty-gift", "control"]) < 0.02


@pytest.mark.parametrize("profile", ["planted", "healthy"])
def test_the_groups_ordered_alike_before_the_send(profile):
    t = shop(profile)
    cm, od = t["campaign_members"], t["orders"]
    j = cm.merge(od[["customer_id", "order_time"]], on="customer_id", how="left")
    j["before"] = (j["order_time"] < j["assigned_at"]) & (j["order_time"] >= j["assigned_at"] - pd.Timedelta(days=90))
    per = j.groupby(["campaign_id", "customer_id", "assignment"])["before"].any().reset_index()
    for _, g in per.groupby("campaign_id"):  # the 99.9 % interval of the difference includes zero
        t, c = g.loc[g["assignment"] == "treatment", "before"], g.loc[g["assignment"] == "control", "before"]
        d = lift.newcombe(int(t.sum()), len(t), int(c.sum()), len(c), z=3.29)
        assert d.low < 0 < d.high
