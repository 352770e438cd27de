"""Presets on small fixtures in each export's exact format, and the reading layer's quirks.

Every test checks the accounting: for every input file, rows in = used + excluded + rejected.
"""

from __future__ import annotations

import hashlib
import io
import re

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import params, paths, sources
from lifecycle_audit.cli import app
from lifecycle_audit.errors import ParamsError, SourceError
from lifecycle_audit.sources import presets


def run(tmp_path, files: dict[str, str | bytes], source: dict, **extra):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    before = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in files}
    p = params.from_dict({"client": "acme", "data_dir": str(tmp_path), "sources": {"input": source}, **extra})
    prepared = sources.prepare(p)
    after = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in files}
    assert before == after, "a client file was modified"
    for i in prepared.inputs:
        assert i.balanced, i
    frames = {t: pd.read_parquet(prepared.path(t)) for t in prepared.usable}
    return prepared, frames


ONLINE_RETAIL = """Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085,United Kingdom
489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085,United Kingdom
489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085,United Kingdom
489435,22350,CAT BOWL ,12,2009-12-01 07:46:00,2.55,13086,France
489435,POST,POSTAGE,1,2009-12-01 07:46:00,18.00,13086,France
C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321,Australia
489436,21523,DOORMAT,10,2009-12-01 09:06:00,0.00,13078,United Kingdom
489437,21524,DOORMAT,2,2009-12-01 09:08:00,5.95,,United Kingdom
A506401,B,Adjust bad debt,1,2010-04-29 13:36:00,-53594.36,,United Kingdom
489438,21525,DOORMAT,two,2009-12-01 09:10:00,5.95,13078,United Kingdom
"""


def test_transaction_lines_online_retail_format(tmp_path):
    prepared, t = run(
        tmp_path,
        {"lines.csv": ONLINE_RETAIL},
        {"preset": "transaction_lines", "file": "lines.csv"},
        max_rejected_share=0.2,
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used) == (10, 3)
    assert i.excluded == {
        "duplicate_line": 1,
        "non_product": 1,
        "cancellation": 1,
        "zero_or_negative_price": 1,
        "no_customer_id": 1,
        "bad_debt_adjustment": 1,
    }
    assert i.rejected == {"unreadable_quantity": 1}
    bad = next(r for r in i.reasons if r["reason"] == "unreadable_quantity")
    assert bad["examples"] == [10] and bad["values"] == ["two"]
    assert sorted(t["orders"]["order_id"]) == ["489434", "489435"]
    assert t["orders"].set_index("order_id").loc["489434", "revenue"] == pytest.approx(12 * 6.95 + 12 * 6.75)
    assert len(t["order_lines"]) == 3 and set(t["customers"]["customer_id"]) == {"13085", "13086"}


def test_transaction_lines_guest_lines_kept_when_asked(tmp_path):
    prepared, t = run(
        tmp_path,
        {"lines.csv": ONLINE_RETAIL},
        {"preset": "transaction_lines", "file": "lines.csv", "options": {"guest_lines": "keep"}},
        max_rejected_share=0.2,
    )
    assert "no_customer_id" not in prepared.inputs[0].excluded
    assert t["orders"]["customer_id"].isna().sum() == 1


def test_rejected_share_counts_bad_data_not_exclusions(tmp_path):
    with pytest.raises(SourceError, match="rejected as bad data"):
        run(tmp_path, {"lines.csv": ONLINE_RETAIL}, {"preset": "transaction_lines", "file": "lines.csv"})


def test_customer_transactions_cdnow_format(tmp_path):
    text = (
        " customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n"
        " 00002 19970112  1   12.00\r\n 00002 19970112  1   12.00\r\n 00003 19970102  2    0.00\r\n"
    )
    prepared, t = run(
        tmp_path, {"CDNOW_master.txt": text}, {"preset": "customer_transactions", "file": "CDNOW_master.txt"}
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (4, 3, {"zero_value": 1})
    assert len(t["orders"]) == 3 and t["customers"]["customer_id"].tolist() == ["00001", "00002"]


GA4 = """event_date,event_timestamp,event_name,user_pseudo_id,user_id,ga_session_id,traffic_source_source,traffic_source_medium,device_category,page_location,item_id,item_category
20240105,1704448800000000,session_start,111.222,,1704448800,google,organic,mobile,https://shop.example/,,
20240105,1704448801000000,page_view,111.222,,1704448800,google,organic,mobile,https://shop.example/,,
20240105,1704448830000000,view_item,111.222,,1704448800,google,organic,mobile,https://shop.example/products/mug,SKU1,Mugs
20240105,1704448860000000,add_to_cart,111.222,,1704448800,google,organic,mobile,https://shop.example/cart,SKU1,Mugs
20240105,1704448890000000,begin_checkout,111.222,U9,1704448800,facebook,cpc,desktop,https://shop.example/checkout?step=1,,
20240105,1704448900000000,purchase,111.222,U9,1704448800,(direct),(none),tablet,https://shop.example/checkout/thanks,,
20240105,notatime,page_view,333.444,,1704448999,newsletter,email,desktop,https://shop.example/blog/x,,
"""


def test_ga4_flattened_export(tmp_path):
    prepared, t = run(
        tmp_path,
        {"ga4.csv": GA4},
        {"preset": "ga4_events", "file": "ga4.csv", "options": {"timezone": "Europe/Berlin"}},
        max_rejected_share=0.2,
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded, i.rejected) == (7, 5, {"other_event": 1}, {"unreadable_timestamp": 1})
    ev = t["events"]
    assert ev["event_type"].tolist() == ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase"]
    assert ev["page_type"].tolist() == ["home", "product", "cart", "checkout", "checkout"]
    assert ev["channel"].tolist() == ["organic_search"] * 3 + ["paid_social", "direct"]
    assert ev["session_id"].nunique() == 1
    assert str(ev["event_time"].iloc[0]) == "2024-01-05 11:00:01"  # 10:00:01 UTC in Berlin


SHOPIFY = """Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Country,Cancelled at
#1001,anna@example.com,paid,2024-01-05 10:00:00 +0100,fulfilled,EUR,30.00,4.90,5.70,34.90,,0.00,2024-01-05 10:00:00 +0100,1,Mug,10.00,MUG-1,DE,
#1001,,,,,,,,,,,,,2,Plate,10.00,PLATE-1,,
#1002,ben@example.com,paid,2024-01-06 11:00:00 +0100,fulfilled,EUR,10.00,4.90,1.90,14.90,WELCOME,2.00,2024-01-06 11:00:00 +0100,1,Mug,10.00,MUG-1,AT,
#1003,anna@example.com,voided,,,EUR,10.00,0,0,10.00,,0.00,2024-01-07 09:00:00 +0100,1,Mug,10.00,MUG-1,DE,2024-01-07 10:00:00 +0100
"""


def test_shopify_orders_export_pseudonymises_emails(tmp_path):
    prepared, t = run(
        tmp_path, {"orders_export.csv": SHOPIFY}, {"preset": "shopify_orders", "file": "orders_export.csv"}
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (4, 3, {"cancelled_order": 1})
    assert t["orders"]["order_id"].tolist() == ["#1001", "#1002"]
    assert len(t["order_lines"]) == 3 and len(t["customers"]) == 2
    stored = b"".join((prepared.folder / f).read_bytes() for f in ("orders.parquet", "customers.parquet"))
    assert b"@example.com" not in stored and b"anna" not in stored


MAILCHIMP = """Email Address,Campaign,Action,Timestamp
anna@example.com,January Sale,sent,2024-01-10 08:00:00
anna@example.com,January Sale,open,2024-01-10 09:00:00
anna@example.com,January Sale,click,2024-01-10 09:01:00
ben@example.com,January Sale,sent,2024-01-10 08:00:00
ben@example.com,January Sale,unsubscribe,2024-01-11 08:00:00
ben@example.com,January Sale,forward,2024-01-11 08:05:00
"""


def test_email_activity_mailchimp(tmp_path):
    prepared, t = run(
        tmp_path,
        {"activity.csv": MAILCHIMP},
        {"preset": "email_activity", "file": "activity.csv", "options": {"message_types": {"sale": "promo"}}},
    )
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (6, 5, {"other_event": 1})
    m = t["messages"].sort_values("opened_at")
    assert len(m) == 2 and set(m["message_type"]) == {"promo"}
    assert m["opened_at"].notna().sum() == 1 and m["unsubscribed_at"].notna().sum() == 1
    assert not m["customer_id"].str.contains("@").any()


def test_email_activity_klaviyo_names(tmp_path):
    klaviyo = (
        "Email,Campaign Name,Event,Timestamp\nanna@example.com,Welcome 1,Received Email,2024-01-10T08:00:00Z\n"
        "anna@example.com,Welcome 1,Opened Email,2024-01-10T08:30:00Z\n"
    )
    prepared, t = run(
        tmp_path,
        {"k.csv": klaviyo},
        {
            "preset": "email_activity",
            "file": "k.csv",
            "columns": {"email": "Email", "campaign": "Campaign Name", "event": "Event"},
            "options": {"message_type": "welcome"},
        },
    )
    assert prepared.inputs[0].rows_used == 2 and t["messages"]["opened_at"].notna().all()


ZENDESK = """Id,Requester email,Requester external id,Status,Created at,Solved at,First reply time in minutes,Group stations,Satisfaction Score
101,anna@example.com,,solved,2024-01-10 08:00:00,2024-01-10 12:00:00,30,2,Good
102,ben@example.com,C7,solved,2024-01-11 08:00:00,2024-01-12 08:00:00,90,1,Bad
103,carl@example.com,,deleted,2024-01-12 08:00:00,,,1,Unoffered
"""


def test_helpdesk_tickets_zendesk(tmp_path):
    prepared, t = run(tmp_path, {"tickets.csv": ZENDESK}, {"preset": "helpdesk_tickets", "file": "tickets.csv"})
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (3, 2, {"deleted": 1})
    tk = t["tickets"].set_index("ticket_id")
    assert tk.loc["102", "customer_id"] == "C7" and tk.loc["101", "handoffs"] == 1
    assert tk["csat"].tolist() == [1.0, 0.0]
    assert str(tk.loc["101", "first_response_at"]) == "2024-01-10 08:30:00"


def test_unknown_preset_option_is_an_error(tmp_path):
    p = params.from_dict(
        {
            "client": "a",
            "data_dir": str(tmp_path),
            "sources": {"x": {"preset": "transaction_lines", "file": "a.csv", "options": {"guest_line": "keep"}}},
        },
        "a.yaml",
    )
    with pytest.raises(ParamsError, match=r"^a\.yaml: sources\.x: preset transaction_lines: options\.guest_line"):
        sources.check_params(p)
    with pytest.raises(ParamsError, match="guest_line"):
        sources.check_sources(p)
    with pytest.raises(ParamsError, match="guest_line"):
        sources.prepare(p)


def test_a_table_from_two_sources_is_an_error(tmp_path):
    p = params.from_dict(
        {
            "client": "a",
            "data_dir": str(tmp_path),
            "sources": {"orders": {"file": "o.csv"}, "x": {"preset": "transaction_lines", "file": "a.csv"}},
        },
        "a.yaml",
    )
    with pytest.raises(
        ParamsError,
        match=re.escape(
            "a.yaml: sources.x: the orders table comes from both sources.orders and "
            "sources.x; restrict one of them with `tables:`"
        ),
    ):
        sources.check_params(p)
    p = params.from_dict(
        {
            "client": "a",
            "data_dir": str(tmp_path),
            "sources": {
                "orders": {"file": "o.csv"},
                "x": {"preset": "transaction_lines", "file": "a.csv", "tables": ["customers", "order_lines"]},
            },
        },
        "a.yaml",
    )
    sources.check_params(p)
    assert sources.table_sources(p) == {"orders": "orders", "customers": "x", "order_lines": "x"}


# --- quirks of the reading layer ----------------------------------------------------------------

ORDERS_HEADER = "order_id;customer_id;order_time;revenue\n"


def plain(tmp_path, files, source, table="orders"):
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    p = params.from_dict(
        {"client": "acme", "data_dir": str(tmp_path), "sources": {table: source}, "max_rejected_share": 0.5}
    )
    prepared = sources.check_sources(p)
    for i in prepared.inputs:
        assert i.balanced, i
    df, load = sources.load_table(p, table)
    return df, load, prepared


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_encodings_are_detected(tmp_path, encoding):
    text = "order_id,customer_id,order_time,revenue\nA1,Müller,2025-01-01,10\nA2,Brontë,2025-01-02,5\n"
    df, _load, _ = plain(tmp_path, {"orders.csv": text.encode(encoding)}, {"file": "orders.csv"})
    assert df["customer_id"].tolist() == ["Müller", "Brontë"]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_delimiters_are_detected(tmp_path, sep):
    text = f"order_id{sep}customer_id{sep}order_time{sep}revenue\nA1{sep}C1{sep}2025-01-01{sep}10\n"
    df, _, _ = plain(tmp_path, {"orders.csv": text}, {"file": "orders.csv"})
    assert df["revenue"].tolist() == [10.0]


def test_german_excel_export_decimal_comma_thousands_and_dotted_dates(tmp_path):
    text = ORDERS_HEADER + "A1;C1;31.01.2025 14:05;1.234,56\nA2;C1;01.02.2025 09:00;12,50\n"
    df, load, _ = plain(tmp_path, {"orders.csv": text.encode("cp1252")}, {"file": "orders.csv"})
    assert df["revenue"].tolist() == [1234.56, 12.5]
    assert df["order_time"].astype(str).tolist() == ["2025-01-31 14:05:00", "2025-02-01 09:00:00"]
    assert any("decimal comma" in n for n in load.notes)


def test_quoted_newlines_blank_trailing_rows_and_repeated_headers(tmp_path):
    text = (
        'order_id,customer_id,order_time,revenue\nA1,"C1\nsecond line",2025-01-01,10\n'
        "order_id,customer_id,order_time,revenue\nA2,C2,2025-01-02,5\n,,,\n,,,\n"
    )
    df, load, prepared = plain(tmp_path, {"orders.csv": text}, {"file": "orders.csv"})
    assert df["order_id"].tolist() == ["A1", "A2"]
    assert load.rejected == {"blank_row": 2, "repeated_header": 1}
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded) == (5, 2, {"blank_row": 2, "repeated_header": 1})


def test_excel_serial_dates(tmp_path):
    text = "order_id,customer_id,order_time,revenue\nA1,C1,45292.5,10\nA2,C1,45293,5\n"
    df, load, _ = plain(tmp_path, {"orders.csv": text}, {"file": "orders.csv"})
    assert df["order_time"].astype(str).tolist() == ["2024-01-01 12:00:00", "2024-01-02 00:00:00"]
    assert any("Excel serial" in n for n in load.notes)


def test_excel_sheets_folder_of_monthly_files_value_maps_constants_derived(tmp_path):
    jan = pd.DataFrame(
        {
            "Bestellung": ["A1", "A2"],
            "Kunde": ["C1", "C2"],
            "Datum": ["2025-01-03", "2025-01-04"],
            "Menge": [2, 1],
            "Preis": [5.0, 7.5],
        }
    )
    feb = pd.DataFrame({"Bestellung": ["A3"], "Kunde": ["C1"], "Datum": ["2025-02-01"], "Menge": [3], "Preis": [2.0]})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf) as xl:
        jan.to_excel(xl, sheet_name="Jan", index=False)
        feb.to_excel(xl, sheet_name="Feb", index=False)
    files = {"monthly/2025-01.csv": jan.to_csv(index=False), "monthly/2025-02.csv": feb.to_csv(index=False)}
    source = {
        "file": "monthly",
        "columns": {"order_id": "Bestellung", "customer_id": "Kunde", "order_time": "Datum"},
        "derived": {"revenue": "Menge * Preis"},
        "constants": {"currency": "EUR"},
    }
    df, _load, prepared = plain(tmp_path, files, source)
    assert df["revenue"].tolist() == [10.0, 7.5, 6.0] and set(df["currency"]) == {"EUR"}
    assert [i.rows_in for i in prepared.inputs] == [2, 1]
    (tmp_path / "book.xlsx").write_bytes(buf.getvalue())
    df, _, prepared = plain(tmp_path, {}, {**source, "file": "book.xlsx", "read": {"sheet": "*"}})
    assert df["order_id"].tolist() == ["A1", "A2", "A3"] and len(prepared.inputs) == 2


def test_value_maps_and_time_zone(tmp_path):
    text = (
        "session_id,customer_id,anonymous_id,event_time,event_type,page_type,channel,device\n"
        "S1,,a1,2025-01-01T10:00:00Z,Seitenaufruf,home,Google Ads,Desktop\n"
        "S1,,a1,2025-01-01 11:30,Kauf,checkout,SEO,mobile\n"
    )
    df, _load, _ = plain(
        tmp_path,
        {"events.csv": text},
        {
            "file": "events.csv",
            "timezone": "Europe/Berlin",
            "values": {
                "event_type": {"Seitenaufruf": "page_view", "Kauf": "purchase"},
                "channel": {"Google Ads": "paid_search", "SEO": "organic_search"},
            },
        },
        table="events",
    )
    assert df["event_type"].tolist() == ["page_view", "purchase"]
    assert df["channel"].tolist() == ["paid_search", "organic_search"]
    assert df["event_time"].astype(str).tolist() == ["2025-01-01 11:00:00", "2025-01-01 11:30:00"]


def test_problem_names_file_of_a_folder(tmp_path):
    files = {
        "m/a.csv": "order_id,customer_id,order_time,revenue\nA1,C1,2025-01-01,10\n",
        "m/b.csv": "order_id,customer_id,order_time,revenue\nB1,C1,2025-01-01,zehn\n",
    }
    _, load, prepared = plain(tmp_path, files, {"file": "m"})
    (p,) = [p for p in load.problems if p.kind == "wrong_type"]
    assert "row 1 of b.csv" in str(p) and p.example_values == ["zehn"]
    assert [(i.rows_used, i.rejected) for i in prepared.inputs] == [(1, {}), (0, {"wrong_type": 1})]


def test_init_recognises_presets_and_marks_decisions(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    (tmp_path / "params").mkdir()
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "lines.csv").write_text(ONLINE_RETAIL, encoding="utf-8")
    (exports / "ga4.csv").write_text(GA4, encoding="utf-8")
    (exports / "tickets.csv").write_text(ZENDESK, encoding="utf-8")
    (exports / "other.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in exports.iterdir()}
    result = CliRunner().invoke(app, ["init", "acme", "--from", str(exports)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "params" / "acme.yaml").read_text(encoding="utf-8")
    for preset in ("transaction_lines", "ga4_events", "helpdesk_tickets"):
        assert f"preset: {preset}" in text
    assert "DECIDE" in text and "not recognised" in text
    p = params.load(tmp_path / "params" / "acme.yaml")
    assert set(sources.table_sources(p)) == {"customers", "orders", "order_lines", "events", "tickets"}
    assert {p.name: p.read_bytes() for p in exports.iterdir()} == before


def test_every_preset_has_a_template_that_validates():
    for preset in presets.all_presets():
        path = paths.PARAMS / "templates" / f"{preset.template}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["client"] = "template"
        p = params.from_dict(data, str(path))
        sources.check_params(p)
        assert any(s.preset == preset.name for s in p.sources.values()), path
