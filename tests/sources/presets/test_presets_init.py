"""`init` on a GA4 item-level purchase export, a loyalty-card panel and a campaign file with control groups: the
preset it proposes, and what each preset makes of the file (rows in = used + excluded + rejected, by reason)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import params, paths, sources
from lifecycle_audit.cli import app
from lifecycle_audit.sources.presets import propose
from tests.kit import exports

from . import test_presets


def run(tmp_path, files: dict[str, str | bytes], source: dict, sources: dict | None = None, **extra):
    """test_presets.run, with other sources beside the entry `input` (the customers a campaign file points at)."""
    if not sources:
        return test_presets.run(tmp_path, files, source, **extra)
    return test_presets.run(tmp_path, files, source, sources={"input": source, **sources}, **extra)


def accounted(prepared, export: exports.Export) -> None:
    """The file's accounting is the one its generator planted."""
    (i,) = [i for i in prepared.inputs if i.file.endswith(export.name)]
    assert i.balanced
    assert (i.rows_in, i.rows_used, i.excluded, i.rejected) == (
        export.rows_in,
        export.used,
        export.excluded,
        export.rejected,
    )


def test_ga4_item_level_purchases(tmp_path):
    ga4 = exports.ga4_purchases(users=40)
    prepared, t = run(
        tmp_path,
        {ga4.name: ga4.content},
        {"preset": "ga4_purchases", "file": ga4.name, "options": {"timezone": "Europe/Berlin"}},
        max_rejected_share=0.05,
    )
    accounted(prepared, ga4)
    lines, orders = t["order_lines"], t["orders"]
    assert len(lines) == ga4.used and orders["order_id"].is_unique
    assert "(not set)" not in set(orders["order_id"]) and orders["customer_id"].notna().all()
    merged = lines.assign(v=lines["unit_price"] * lines["quantity"]).groupby("order_id")["v"].sum()
    assert orders.set_index("order_id")["revenue"].to_dict() == pytest.approx(merged.round(2).to_dict())
    assert set(t["customers"]["customer_id"]) == set(orders["customer_id"])


def test_ga4_purchases_keyed_on_user_id_count_guests(tmp_path):
    ga4 = exports.ga4_purchases(users=40)
    prepared, t = run(
        tmp_path,
        {ga4.name: ga4.content},
        {"preset": "ga4_purchases", "file": ga4.name, "options": {"customer_key": "user_id"}},
        max_rejected_share=0.05,
    )
    (i,) = prepared.inputs
    assert i.excluded["no_user"] > ga4.excluded["no_user"] and t["customers"]["customer_id"].str.startswith("U").all()


def test_ga4_purchases_unit_price_derived_from_item_revenue(tmp_path):
    text = (
        "event_date,transaction_id,user_pseudo_id,item_id,item_revenue,quantity\n"
        "20240301,T1,1.1,SKU1,19.80,2\n20240301,T1,1.1,SKU2,5.00,1\n"
    )
    _, t = run(
        tmp_path,
        {"items.csv": text},
        {"preset": "ga4_purchases", "file": "items.csv", "derived": {"price": "item_revenue / quantity"}},
    )
    assert sorted(t["order_lines"]["unit_price"]) == pytest.approx([5.0, 9.9])
    assert t["orders"]["revenue"].tolist() == pytest.approx([24.8])


BIGQUERY_ITEMS = """event_date,ecommerce.transaction_id,user_pseudo_id,items.item_id,items.quantity,items.item_revenue
20240301,T1,1.1,SKU1,2,19.80
20240301,T1,1.1,SKU2,1,5.00
20240302,T2,2.2,SKU1,1,oops
"""


def test_init_reads_bigquery_item_names_and_derives_the_price_from_the_item_revenue(tmp_path, monkeypatch):
    written = init(tmp_path, monkeypatch, {"items.csv": BIGQUERY_ITEMS})
    entry = written["sources"]["items"]
    assert entry["preset"] == "ga4_purchases"
    assert entry["columns"] == {
        "transaction_id": "ecommerce.transaction_id",
        "item_id": "items.item_id",
        "quantity": "items.quantity",
    }
    assert entry["derived"] == {"price": "items.item_revenue / items.quantity"}
    prepared, t = run(tmp_path / "x", {"items.csv": BIGQUERY_ITEMS}, entry, max_rejected_share=0.5)
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.rejected) == (3, 2, {"unreadable_price": 1})
    assert t["orders"]["revenue"].tolist() == pytest.approx([24.8])


def test_loyalty_panel_with_day_numbers(tmp_path):
    panel = exports.loyalty_panel(cards=30)
    source = {"preset": "loyalty_panel", "file": panel.name, "options": {"day_one": "2024-01-01"}}
    prepared, t = run(tmp_path, {panel.name: panel.content}, source)
    accounted(prepared, panel)
    orders = t["orders"]
    assert orders["order_time"].min() >= pd.Timestamp("2024-01-01 08:00") and orders["order_time"].max() < pd.Timestamp(
        "2025-01-01"
    )
    assert set(t["customers"]["customer_id"]) == set(panel.cards)
    assert (orders["discount"] >= 0).all() and orders["discount"].max() > 0
    assert t["customers"]["loyalty_member_since"].isna().all()  # the panel does not say when a card was issued


def test_init_asks_for_the_date_of_day_one_of_a_day_numbered_panel(tmp_path, monkeypatch):
    panel = exports.loyalty_panel(cards=5)
    written = init(tmp_path, monkeypatch, {panel.name: panel.content})
    entry = written["sources"]["transaction_data"]
    assert entry["preset"] == "loyalty_panel" and entry["options"] == {"day_one": None} and "columns" not in entry
    text = (tmp_path / "params" / "shop.yaml").read_text(encoding="utf-8")
    assert re.search(r"day_one: null  # DECIDE: DAY counts days \(from \d+ to \d+\); the date of day 1", text)
    assert "#   date_format: null" in text and ": on" not in text  # the defaults shown as YAML


def test_loyalty_panel_without_day_one_rejects_every_row_and_says_why(tmp_path):
    panel = exports.loyalty_panel(cards=5)
    with pytest.raises(Exception, match=r"day number needs options\.day_one"):
        run(tmp_path, {panel.name: panel.content}, {"preset": "loyalty_panel", "file": panel.name})


RETAILER = """Kartennummer;Bon-Nr;Datum;Filiale;Artikel;Menge;Umsatz;Kunde seit
K-1;B1;05.03.2024;12;4711;2;3,98;01.06.2019
K-1;B1;05.03.2024;12;4712;1;1,49;01.06.2019
K-2;B2;06.03.2024;12;4711;1;1,99;15.02.2024
;B3;06.03.2024;12;4711;1;1,99;
"""


def test_loyalty_panel_under_a_retailers_own_names_is_proposed_and_reads(tmp_path, monkeypatch):
    written = init(tmp_path, monkeypatch, {"bons.csv": RETAILER})
    entry = written["sources"]["bons"]
    assert entry["preset"] == "loyalty_panel" and "options" not in entry  # real dates: nothing to decide
    assert entry["columns"] == {
        "card_id": "Kartennummer",
        "basket_id": "Bon-Nr",
        "day": "Datum",
        "store_id": "Filiale",
        "product_id": "Artikel",
        "quantity": "Menge",
        "amount": "Umsatz",
        "member_since": "Kunde seit",
    }
    prepared, t = run(tmp_path / "x", {"bons.csv": RETAILER}, entry)
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (4, 3, {"no_card": 1})
    since = t["customers"].set_index("customer_id")["loyalty_member_since"].astype(str).to_dict()
    assert since == {"K-1": "2019-06-01", "K-2": "2024-02-15"}


def test_campaign_file_with_a_german_control_flag(tmp_path, monkeypatch):
    panel = exports.loyalty_panel(cards=30)
    campaigns = exports.campaign_file(panel.cards)
    written = init(tmp_path, monkeypatch, {campaigns.name: campaigns.content})
    entry = written["sources"]["kampagnen_kontrollgruppen"]
    assert entry["preset"] == "campaign_groups"
    assert entry["values"] == {"group": {"ja": "control", "nein": "treatment"}}
    files = {campaigns.name: campaigns.content, panel.name: panel.content}
    prepared, t = run(
        tmp_path / "x",
        files,
        entry,
        sources={"p": {"preset": "loyalty_panel", "file": panel.name, "options": {"day_one": "2024-01-01"}}},
    )
    accounted(prepared, campaigns)
    m = t["campaign_members"]
    assert (
        set(m["assignment"]) == {"treatment", "control"} and m[["campaign_id", "customer_id"]].value_counts().max() == 1
    )
    assert set(m["campaign_id"]) == {"Frühjahrscoupon", "Herbstcoupon"}
    assert m.loc[m["assignment"] == "control", "variant"].isna().all()


def test_a_campaign_file_without_a_date_asks_for_the_send_day(tmp_path, monkeypatch):
    text = "Kunde,Aktion,Holdout\nK1,Sommer,x\nK2,Sommer,\nK3,Sommer,-\n"
    written = init(tmp_path, monkeypatch, {"sommer.csv": text})
    entry = written["sources"]["sommer"]
    assert entry["preset"] == "campaign_groups" and entry["constants"] == {"assigned_at": None}
    assert entry["values"] == {"group": {"x": "control", "-": "treatment"}}
    assert entry["options"] == {"empty_group": "treatment"}  # only the held-out are marked
    assert "DECIDE: the file has no date" in (tmp_path / "params" / "shop.yaml").read_text(encoding="utf-8")
    entry["constants"]["assigned_at"] = "2024-06-01"  # the consultant's answer
    customers = "customer_id,first_seen_at,acquisition_channel\nK1,2024-01-01,\nK2,2024-01-01,\nK3,2024-01-01,\n"
    prepared, t = run(
        tmp_path / "x",
        {"sommer.csv": text, "customers.csv": customers},
        entry,
        sources={"customers": {"file": "customers.csv"}},
        max_rejected_share=0.5,
    )
    (i,) = [i for i in prepared.inputs if i.file == "sommer.csv"]
    assert (i.rows_in, i.rows_used, i.rejected) == (3, 3, {})
    m = t["campaign_members"]
    assert m.set_index("customer_id")["assignment"].to_dict() == {"K1": "control", "K2": "treatment", "K3": "treatment"}
    assert set(m["assigned_at"].astype(str)) == {"2024-06-01"}


@pytest.mark.parametrize(
    ("column", "values", "mapped", "open_"),
    [
        ("Kontrollgruppe", ["ja", "nein"], {"ja": "control", "nein": "treatment"}, []),
        ("mailed", ["yes", "no"], {"yes": "treatment", "no": "control"}, []),
        ("Gruppe", ["Holdout", "Test"], {"Holdout": "control", "Test": "treatment"}, []),
        ("Gruppe", ["ja", "nein", "Welle 2"], {}, ["ja", "nein", "Welle 2"]),  # a yes/no flag of what? asked
    ],
)
def test_group_values_are_read_by_what_the_column_flags(column, values, mapped, open_):
    assert propose.group_values(column, values) == (mapped, open_)


def test_campaign_groups_reject_unknown_and_conflicting_groups(tmp_path):
    text = (
        "campaign_id,customer_id,group,assigned_at\nC1,K1,control,2024-03-01\nC1,K2,Welle 2,2024-03-01\n"
        "C1,K3,control,2024-03-01\nC1,K3,treatment,2024-03-01\nC1,K4,mailed,2024-03-01\nC1,K4,mailed,2024-03-01\nC1,K5,,2024-03-01\n"
    )
    customers = "customer_id,first_seen_at,acquisition_channel\n" + "".join(f"K{k},2024-01-01,\n" for k in range(1, 6))
    prepared, t = run(
        tmp_path,
        {"c.csv": text, "customers.csv": customers},
        {"preset": "campaign_groups", "file": "c.csv"},
        sources={"customers": {"file": "customers.csv"}},
        max_rejected_share=0.9,
    )
    (i,) = [i for i in prepared.inputs if i.file == "c.csv"]
    assert (i.rows_used, i.excluded, i.rejected) == (
        2,
        {"repeated_member": 1},
        {"unknown_group": 2, "conflicting_groups": 2},  # Welle 2, and an empty group
    )
    assert t["campaign_members"].set_index("customer_id")["assignment"].to_dict() == {
        "K1": "control",
        "K4": "treatment",
    }


def test_campaign_groups_options_map_onto_assignments_only(tmp_path):
    p = params.from_dict(
        {
            "client": "a",
            "data_dir": str(tmp_path),
            "sources": {"c": {"preset": "campaign_groups", "file": "c.csv", "options": {"groups": {"x": "held"}}}},
        },
        "a.yaml",
    )
    with pytest.raises(Exception, match="a group is treatment or control"):
        sources.check_params(p)


def test_the_ga4_purchase_export_is_told_from_the_ga4_event_export(tmp_path, monkeypatch):
    ga4 = exports.ga4_purchases(users=20)
    written = init(tmp_path, monkeypatch, {ga4.name: ga4.content})
    assert written["sources"]["ga4_purchases"]["preset"] == "ga4_purchases"


def init(tmp_path, monkeypatch, files: dict[str, str | bytes]) -> dict:
    """`lifecycle-audit init` on a folder of those files: the params it wrote, as YAML."""
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    (tmp_path / "params").mkdir()
    folder = tmp_path / "exports"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    result = CliRunner().invoke(app, ["init", "shop", "--from", str(folder)])
    assert result.exit_code == 0, result.output
    return yaml.safe_load((tmp_path / "params" / "shop.yaml").read_text(encoding="utf-8"))
