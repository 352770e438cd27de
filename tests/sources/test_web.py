"""Raw web hits: sessions from inactivity and campaign change, channel, page type and device, on hits whose
answer is known; and the tracking_log preset built on them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lifecycle_audit import checks, engine, findings, params, paths, sources
from lifecycle_audit.cli import app
from lifecycle_audit.sources import jsonlines, web
from lifecycle_audit.sources.presets import detect
from lifecycle_audit.sources.presets.tracking_log import TrackingLogOptions
from tests.kit import tracking_log

T0 = pd.Timestamp("2024-03-01 10:00:00")


def _at(*minutes: float) -> pd.Series:
    return pd.Series([T0 + pd.Timedelta(minutes=m) for m in minutes])


def _ids(visitors: list[str | None], times: pd.Series, **kw) -> list:
    return web.sessions(pd.Series(visitors, dtype="string"), times, **kw).tolist()


# --- sessions ----------------------------------------------------------------------------------------------


def test_hits_29_minutes_apart_share_a_session_31_minutes_apart_do_not():
    ids = _ids(["a", "a", "a"], _at(0, 29, 60))
    assert ids[0] == ids[1] != ids[2]


def test_the_gap_is_an_option():
    assert len(set(_ids(["a", "a"], _at(0, 20), gap_minutes=15))) == 2
    assert len(set(_ids(["a", "a"], _at(0, 20), gap_minutes=30))) == 1


def test_visitors_have_sessions_of_their_own_whatever_the_row_order():
    ids = _ids(["a", "b", "a", "b"], _at(5, 0, 0, 10))
    assert ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]


def test_session_ids_are_deterministic_and_do_not_show_the_raw_id():
    first = _ids(["visitor-42", "visitor-42"], _at(0, 1))
    assert first == _ids(["visitor-42", "visitor-42"], _at(0, 1))
    assert all(i.startswith("s_") and "visitor-42" not in i for i in first)
    assert first != _ids(["visitor-42", "visitor-42"], _at(0, 1), key="another client")


def test_a_new_campaign_source_starts_a_session_a_direct_hit_does_not():
    src = web.traffic_source(
        pd.Series(
            [
                "https://shop.example/?utm_source=google&utm_medium=cpc",
                "https://shop.example/p/1",  # inside the site: no source of its own
                "https://shop.example/?utm_source=newsletter&utm_medium=email",  # another campaign, 2 minutes on
                "https://shop.example/?utm_source=newsletter&utm_medium=email",  # the same campaign again
            ]
        ),
        pd.Series(["https://www.google.com/", "https://shop.example/", "", ""]),
    )
    key = src["source"] + "/" + src["medium"] + "/" + src["campaign"]
    ids = _ids(["a"] * 4, _at(0, 1, 3, 4), new_source=src["new"], source_key=key)
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert len(set(_ids(["a"] * 4, _at(0, 1, 3, 4)))) == 1  # without the campaign rule: one session


def test_hits_without_visitor_or_time_get_no_session():
    ids = web.sessions(pd.Series(["a", None], dtype="string"), pd.Series([T0, pd.NaT]))
    assert ids.isna().tolist() == [False, True]


# --- channel -----------------------------------------------------------------------------------------------


def _channel(url: str, referrer: str = "", rules=()) -> str:
    src = web.traffic_source(pd.Series([url]), pd.Series([referrer]))
    return web.channel_of(src, rules).iloc[0]


@pytest.mark.parametrize(
    ("url", "referrer", "channel"),
    [
        ("https://shop.example/?utm_source=google&utm_medium=cpc", "https://www.google.com/", "paid_search"),
        ("https://shop.example/?gclid=abc123", "https://www.google.com/", "paid_search"),
        ("https://shop.example/", "https://www.google.de/", "organic_search"),
        ("https://shop.example/", "https://www.bing.com/search?q=mugs", "organic_search"),
        ("https://shop.example/?utm_source=facebook&utm_medium=paid_social", "", "paid_social"),
        ("https://shop.example/?utm_source=instagram&utm_medium=cpc", "", "paid_social"),
        ("https://shop.example/", "https://m.facebook.com/", "organic_social"),
        ("https://shop.example/?utm_source=newsletter&utm_medium=email", "", "email"),
        ("https://shop.example/?utm_source=awin&utm_medium=affiliate", "", "affiliate"),
        ("https://shop.example/?utm_source=gdn&utm_medium=display", "", "display"),
        ("https://shop.example/", "https://blog.somebody.org/post", "referral"),
        ("https://shop.example/", "", "direct"),
        ("https://shop.example/p/1", "https://shop.example/", "direct"),  # own site: no source
        ("https://shop.example/?utm_source=partner&utm_medium=weird", "", "unknown"),  # GA4's Unassigned
    ],
)
def test_channel_by_the_ga4_default_rules(url, referrer, channel):
    assert _channel(url, referrer) == channel


def test_the_consultants_rules_come_first():
    rules = [{"when": {"source": "re:^partner", "medium": "weird"}, "channel": "affiliate"}]
    assert _channel("https://shop.example/?utm_source=partner&utm_medium=weird", "", rules) == "affiliate"
    rules = [{"when": {"referrer": "re:idealo"}, "channel": "affiliate"}]
    assert _channel("https://shop.example/", "https://www.idealo.de/x", rules) == "affiliate"
    assert _channel("https://shop.example/", "https://www.idealo.de/x") == "referral"


def test_internal_hosts_are_not_referrers():
    src = web.traffic_source(
        pd.Series(["https://shop.example/"]), pd.Series(["https://pay.example/ok"]), ["pay.example"]
    )
    assert web.channel_of(src).iloc[0] == "direct" and not src["new"].iloc[0]


def test_a_session_takes_the_channel_of_its_first_hit():
    session = pd.Series(["s1", "s1", "s2"], dtype="string")
    own = pd.Series(["email", "direct", "direct"], dtype="string")
    assert web.session_channel(session, _at(0, 1, 50), own).tolist() == ["email", "email", "direct"]


# --- page type ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "page_type"),
    [
        ("https://shop.example/", "home"),
        ("https://shop.example", "home"),
        ("https://shop.example/product/blue-mug?utm_source=x", "product"),
        ("https://shop.example/p/123", "product"),
        ("https://shop.example/cart", "cart"),
        ("https://shop.example/checkout/payment", "checkout"),
        ("https://shop.example/search?q=mug", "category"),
        ("https://shop.example/category/kitchen", "category"),
        ("https://shop.example/collections/sale", "category"),
        ("https://shop.example/blog/how-to-brew", "content"),
        ("/products/mug", "product"),
        ("https://shop.example/impressum", "other"),
    ],
)
def test_page_type_from_the_url(url, page_type):
    assert web.page_type_of(pd.Series([url])).iloc[0] == page_type


def test_own_page_patterns_come_first_and_empty_urls_stay_empty():
    rules = {"/impressum": "content", "re:^/kaufen/": "product"}
    got = web.page_type_of(pd.Series(["https://x.de/impressum", "https://x.de/kaufen/7", None]), rules)
    assert got.tolist()[:2] == ["content", "product"] and pd.isna(got.iloc[2])


# --- device ------------------------------------------------------------------------------------------------

ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def test_device_from_the_user_agent():
    uas = pd.Series([ANDROID_PHONE, ANDROID_TABLET, IPHONE, IPAD, WINDOWS, MAC, BOT, "", None], dtype="string")
    got = web.device_of(uas.mask(uas == ""))
    assert got.tolist()[:7] == ["mobile", "tablet", "mobile", "tablet", "desktop", "desktop", "other"]
    assert got.iloc[7:].isna().all()


# --- the tracking_log preset -------------------------------------------------------------------------------

SEGMENT_HEADER = (
    "type,event,timestamp,anonymous_id,user_id,context_page_url,context_page_referrer,context_user_agent,"
    "properties_product_id,properties_order_id,properties_revenue,properties_currency"
)
SNOWPLOW_HEADER = "event,collector_tstamp,domain_userid,user_id,page_url,page_referrer,useragent,mkt_source,mkt_medium"


def test_init_recognises_segment_and_snowplow_logs_with_their_column_names():
    fields = detect.tracking_log_fields(SEGMENT_HEADER.split(","))
    preset, _, found = detect.recognise_tracking_log(SEGMENT_HEADER.split(","))
    assert preset.name == "tracking_log" and found == fields
    assert fields["url"] == "context_page_url" and fields["revenue"] == "properties_revenue"
    preset, _, found = detect.recognise_tracking_log(SNOWPLOW_HEADER.split(","))
    assert preset.name == "tracking_log"
    assert (found["anonymous_id"], found["user_agent"], found["utm_medium"]) == (
        "domain_userid",
        "useragent",
        "mkt_medium",
    )
    assert detect.recognise_tracking_log(["timestamp", "anonymous_id", "revenue"])[0] is None  # no hit fields


def _log(tmp_path, text: str, **options) -> tuple:
    (tmp_path / "log.csv").write_text(text, encoding="utf-8")
    columns = {"url": "context_page_url", "referrer": "context_page_referrer", "user_agent": "context_user_agent"}
    p = params.from_dict(
        {
            "client": "acme",
            "data_dir": str(tmp_path),
            "max_rejected_share": 0.5,
            "sources": {"log": {"preset": "tracking_log", "file": "log.csv", "columns": columns, "options": options}},
        }
    )
    prepared = sources.prepare(p)
    for i in prepared.inputs:
        assert i.balanced, i
    return prepared, {t: pd.read_parquet(prepared.path(t)) for t in prepared.usable}


LOG = """type,event,timestamp,anonymous_id,user_id,context_page_url,context_page_referrer,context_user_agent
page,,2024-03-01T10:00:00Z,a1,,https://shop.example/?utm_source=google&utm_medium=cpc,https://www.google.com/,{android}
page,,2024-03-01T10:29:00Z,a1,,https://shop.example/product/7,https://shop.example/,{android}
track,Product Added,2024-03-01T10:30:00Z,a1,,https://shop.example/cart,https://shop.example/product/7,{android}
page,,2024-03-01T11:01:00Z,a1,,https://shop.example/,,{android}
identify,,2024-03-01T11:01:00Z,a1,u1,,,{android}
page,,2024-03-01T11:02:00Z,,,https://shop.example/,,{android}
""".replace("{android}", '"' + ANDROID_PHONE + '"')


def test_a_tracking_log_becomes_sessions_with_channel_page_type_and_device(tmp_path):
    prepared, t = _log(tmp_path, LOG)
    (i,) = prepared.inputs
    assert (i.rows_in, i.rows_used, i.excluded, i.rejected) == (6, 4, {"other_event": 1}, {"no_visitor": 1})
    ev = t["events"].sort_values("event_time")
    assert ev["event_type"].tolist() == ["page_view", "page_view", "add_to_cart", "page_view"]
    ids = ev["session_id"].tolist()
    assert ids[0] == ids[1] == ids[2] != ids[3]  # 29 minutes: same visit; 31 minutes: a new one
    assert ev["channel"].tolist() == ["paid_search"] * 3 + ["direct"]
    assert ev["page_type"].tolist() == ["home", "product", "cart", "home"]
    assert set(ev["device"]) == {"mobile"}
    assert "orders" not in t or t["orders"].empty


def test_the_session_gap_is_an_option_of_the_preset(tmp_path):
    _, t = _log(tmp_path, LOG, session_gap_minutes=45)
    assert t["events"]["session_id"].nunique() == 1


def test_a_log_without_url_or_referrer_leaves_channel_and_page_type_not_supplied(tmp_path):
    bare = "type,event,timestamp,anonymous_id\npage,,2024-03-01T10:00:00Z,a1\ntrack,Product Added,2024-03-01T10:01:00Z,a1\n"
    prepared, t = _log(tmp_path, bare)
    ev = t["events"]
    assert len(ev) == 2 and ev["channel"].isna().all() and ev["page_type"].isna().all() and ev["device"].isna().all()
    notes = " ".join(prepared.inputs[0].notes)
    assert "channel not supplied" in notes


def test_purchase_events_with_order_ids_yield_orders_once(tmp_path):
    two = '"[{""sku"": ""P1"", ""price"": 19.95, ""quantity"": 2, ""category"": ""mugs""}, {""name"": ""gift""}]"'
    log = (
        "type,event,timestamp,anonymous_id,user_id,context_page_url,order_id,revenue,product_id,products\n"
        f"track,Order Completed,2024-03-01T10:00:00Z,a1,u1,https://shop.example/checkout/thanks,O1,49.90,P1,{two}\n"
        f"track,Order Completed,2024-03-01T10:00:05Z,a1,u1,https://shop.example/checkout/thanks,O1,49.90,P1,{two}\n"
        "track,Order Completed,2024-03-02T10:00:00Z,a2,,https://shop.example/checkout/thanks,O2,12.00,P2,\n"
    )
    prepared, t = _log(tmp_path, log)
    (i,) = prepared.inputs
    assert (i.rows_used, i.excluded) == (2, {"doubled_event": 1})
    orders = t["orders"].sort_values("order_id")
    assert orders["order_id"].tolist() == ["O1", "O2"] and orders["revenue"].tolist() == [49.90, 12.00]
    assert orders["customer_id"].isna().tolist() == [False, True]
    lines = t["order_lines"]  # the item without product or price is left out, and said so
    assert lines[["order_id", "product_id", "category", "unit_price", "quantity"]].values.tolist() == [
        ["O1", "P1", "mugs", 19.95, 2]
    ]
    assert any("without a product id or a price" in n for n in i.notes)


# --- JSON lines --------------------------------------------------------------------------------------------


def test_json_lines_are_flattened_into_dotted_columns():
    text = (
        b'{"type": "page", "anonymousId": "a1", "context": {"page": {"url": "https://x/"}, "userAgent": "UA"}}\n'
        b"\n"
        b'{"type": "track", "event": "Order Completed", "userId": null, '
        b'"properties": {"revenue": 9.5, "products": [{"id": "P1"}], "gift": true}}\n'
    )
    df = jsonlines.read(io.BytesIO(text))
    assert len(df) == 3 and df.iloc[1].isna().all()  # the blank line: a blank row
    assert df.loc[0, "context.page.url"] == "https://x/" and df.loc[0, "context.userAgent"] == "UA"
    assert df.loc[2, "properties.revenue"] == "9.5" and df.loc[2, "properties.gift"] == "true"
    assert json.loads(df.loc[2, "properties.products"]) == [{"id": "P1"}] and pd.isna(df.loc[2, "userId"])
    with pytest.raises(jsonlines.NotJsonLines, match="line 2 is not JSON"):
        jsonlines.read(io.BytesIO(b'{"a": 1}\n{"a": \n'))


# --- init -> validate -> run on a generated Segment log ----------------------------------------------------


def _init(tmp_path, monkeypatch, name: str):
    """Write the log in `name`'s format, run init on its folder; (what it must become, params file, init output)."""
    monkeypatch.setattr(paths, "PARAMS", tmp_path / "params")
    (tmp_path / "params").mkdir()
    folder = tmp_path / "exports"
    folder.mkdir()
    expected = tracking_log.write(folder / name)
    result = CliRunner().invoke(app, ["init", "acme", "--from", str(folder)])
    assert result.exit_code == 0, result.output
    assert "preset tracking_log" in result.output
    params_file = tmp_path / "params" / "acme.yaml"
    data = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    data["output"] = str(tmp_path / "reports")  # where the test keeps its reports; nothing else is edited
    params_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return expected, params_file


def _accounted(params_file: Path, expected: tracking_log.Expected):
    """validate exits 0; the file's rows in = used + excluded + rejected, each as planted; sessions by channel."""
    result = CliRunner().invoke(app, ["validate", str(params_file)])
    assert result.exit_code == 0, result.output
    prepared = sources.prepare(params.load(params_file))
    (i,) = prepared.inputs
    assert i.rows_in == expected.rows == i.rows_used + sum(i.excluded.values()) + sum(i.rejected.values())
    assert (i.excluded, i.rejected) == (expected.excluded, expected.rejected)
    ev = pd.read_parquet(prepared.path("events"))
    first = ev.sort_values("event_time").drop_duplicates("session_id")
    assert first["channel"].value_counts().to_dict() == expected.channels
    assert len(pd.read_parquet(prepared.path("orders"))) == expected.orders
    print(f"{i.file}: {i.rows_in} rows in = {i.rows_used} used + {i.excluded} excluded + {i.rejected} rejected")
    return i


def test_init_and_validate_take_a_segment_csv_export_unedited(tmp_path, monkeypatch):
    expected, params_file = _init(tmp_path, monkeypatch, "segment_tracks.csv")
    assert "context_page_url" in params_file.read_text(encoding="utf-8")
    _accounted(params_file, expected)


@pytest.mark.e2e
def test_init_validate_run_on_segment_json_lines(tmp_path, monkeypatch):
    expected, params_file = _init(tmp_path, monkeypatch, "segment_tracks.jsonl")
    assert "context.page.url" in params_file.read_text(encoding="utf-8")
    _accounted(params_file, expected)
    result = CliRunner().invoke(app, ["run", str(params_file), "--stage", "reach", "--quiet"])
    assert result.exit_code == 0, result.output
    index = Path(result.stdout.strip().splitlines()[-1])
    findings = json.loads((index.parent / "findings.json").read_text(encoding="utf-8"))
    statuses = {f["check_id"]: f["status"] for f in findings}
    assert "error" not in statuses.values(), statuses
    print("reach findings:", statuses)


# --- not supplied ------------------------------------------------------------------------------------------


def test_a_plain_events_mapping_without_channel_page_type_or_device_leaves_them_not_supplied(tmp_path):
    (tmp_path / "events.csv").write_text(
        "session_id,customer_id,anonymous_id,event_time,event_type\ns1,,a1,2024-03-01 10:00,page_view\n",
        encoding="utf-8",
    )
    p = params.from_dict({"client": "acme", "data_dir": str(tmp_path), "sources": {"events": {"file": "events.csv"}}})
    prepared = sources.prepare(p)
    ev = pd.read_parquet(prepared.path("events"))
    assert len(ev) == 1 and ev[["channel", "page_type", "device"]].isna().all().all()


def test_a_ga4_export_without_traffic_source_or_device_columns_leaves_them_not_supplied(tmp_path):
    (tmp_path / "ga4.csv").write_text(
        "event_name,event_timestamp,user_pseudo_id,ga_session_id\npage_view,1704448801000000,u1,17\n", encoding="utf-8"
    )
    p = params.from_dict(
        {"client": "acme", "data_dir": str(tmp_path), "sources": {"ga4": {"preset": "ga4_events", "file": "ga4.csv"}}}
    )
    ev = pd.read_parquet(sources.prepare(p).path("events"))
    assert len(ev) == 1 and ev["channel"].isna().all() and ev["device"].isna().all()


def test_the_readme_example_of_the_tracking_log_preset_is_a_valid_entry():
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Raw web hits") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    entry = yaml.safe_load(block)["sources"]["tracking"]
    p = params.from_dict({"client": "acme", "data_dir": "data/acme", "sources": {"tracking": entry}})
    sources.check_params(p)
    opts = TrackingLogOptions.model_validate(entry["options"])
    src = web.traffic_source(pd.Series(["https://shop.example/"]), pd.Series(["https://www.check24.de/x"]))
    assert web.channel_of(src, [r.model_dump() for r in opts.channel_rules]).iloc[0] == "affiliate"


def test_hits_before_a_login_get_the_customer_their_anonymous_id_is_tied_to(tmp_path):
    log = (
        "type,event,timestamp,anonymous_id,user_id,context_page_url\n"
        "page,,2024-03-01T10:00:00Z,a1,,https://shop.example/\n"
        "identify,,2024-03-01T10:01:00Z,a1,u1,\n"
        "page,,2024-03-01T10:02:00Z,a1,u1,https://shop.example/p/1\n"
        "page,,2024-03-01T10:00:00Z,shared,,https://shop.example/\n"
        "page,,2024-03-01T10:01:00Z,shared,u2,https://shop.example/\n"
        "page,,2024-03-01T10:02:00Z,shared,u3,https://shop.example/\n"
    )
    _, t = _log(tmp_path, log)
    ev = t["events"].sort_values(["anonymous_id", "event_time"])
    assert ev["customer_id"].fillna("-").tolist() == ["u1", "u1", "-", "u2", "u3"]
    _, t = _log(tmp_path, log, stitch_customer_ids=False)
    assert t["events"]["customer_id"].isna().sum() == 2


SNOWPLOW = (
    "event,collector_tstamp,domain_userid,user_id,page_url,page_referrer,useragent,mkt_source,mkt_medium\n"
    "page_view,2024-03-01 10:00:00,d1,,https://shop.example/,,{ua},facebook,paid\n"
    "page_ping,2024-03-01 10:20:00,d1,,https://shop.example/,,{ua},,\n"
    "page_view,2024-03-01 10:45:00,d1,,https://shop.example/cart,https://shop.example/,{ua},,\n"
    "transaction,2024-03-01 10:46:00,d1,,https://shop.example/checkout,https://shop.example/cart,{ua},,\n"
).replace("{ua}", '"' + IPAD + '"')


def test_a_snowplow_log_with_its_own_names_and_campaign_columns(tmp_path):
    columns = detect.tracking_log_fields(SNOWPLOW.splitlines()[0].split(","))
    (tmp_path / "log.csv").write_text(SNOWPLOW, encoding="utf-8")
    entry = {"preset": "tracking_log", "file": "log.csv", "columns": columns, "tables": ["events"]}
    p = params.from_dict({"client": "acme", "data_dir": str(tmp_path), "sources": {"log": entry}})
    prepared = sources.prepare(p)
    (i,) = prepared.inputs
    assert (i.rows_used, i.excluded) == (3, {"other_event": 1})
    ev = pd.read_parquet(prepared.path("events")).sort_values("event_time")
    assert ev["event_type"].tolist() == ["page_view", "page_view", "purchase"]
    assert ev["session_id"].nunique() == 1  # the page ping at 10:20 kept the visit alive past 30 minutes
    assert set(ev["channel"]) == {"paid_social"} and set(ev["device"]) == {"tablet"}


# --- what the checks make of it ----------------------------------------------------------------------------


def _untracked(tmp_path, entry: dict) -> findings.Finding:
    p = params.from_dict({"client": "acme", "data_dir": str(tmp_path), "sources": {"log": entry}})
    prepared = sources.prepare(p)
    tables = engine.Tables.from_folder(prepared.path("events").parent)
    return findings.run_check(checks.get("reach.untracked_traffic"), tables)


def test_the_untracked_traffic_check_judges_the_derived_channels(tmp_path):
    tracking_log.write(tmp_path / "log.csv", visitors=300)
    columns = {"url": "context_page_url", "referrer": "context_page_referrer", "user_agent": "context_user_agent"}
    found = _untracked(
        tmp_path, {"preset": "tracking_log", "file": "log.csv", "columns": columns, "tables": ["events"]}
    )
    assert found.status == "pass" and found.score is not None, found.reason  # every visit's channel is known


def test_a_log_without_url_or_referrer_is_not_judged_as_untracked_but_not_run(tmp_path):
    rows = [f"page,,2024-03-{1 + i // 100:02d}T10:{i % 60:02d}:00Z,a{i}" for i in range(600)]
    (tmp_path / "log.csv").write_text("type,event,timestamp,anonymous_id\n" + "\n".join(rows) + "\n", encoding="utf-8")
    found = _untracked(tmp_path, {"preset": "tracking_log", "file": "log.csv", "tables": ["events"]})
    assert found.status == "not_run" and "empty on every row" in str(found.reason), found.reason


# --- a plain events mapping with web: ----------------------------------------------------------------------

HITS = """visitor,user,ts,name,page,ref,ua
a1,,01.03.2024 10:00,Seite,https://shop.example/?utm_source=google&utm_medium=cpc,https://www.google.com/,{android}
a1,,01.03.2024 10:29,Seite,https://shop.example/product/7,https://shop.example/,{android}
a1,u1,01.03.2024 11:00,Warenkorb,https://shop.example/cart,https://shop.example/product/7,{android}
a2,,01.03.2024 12:00,Seite,https://shop.example/blog/x,https://www.facebook.com/,{ipad}
a2,,not a date,Seite,https://shop.example/,,{ipad}
""".replace("{android}", '"' + ANDROID_PHONE + '"').replace("{ipad}", '"' + IPAD + '"')


def _plain(tmp_path, web_options: dict, **entry) -> tuple:
    (tmp_path / "hits.csv").write_text(HITS, encoding="utf-8")
    source = {
        "file": "hits.csv",
        "columns": {"anonymous_id": "visitor", "customer_id": "user", "event_time": "ts", "event_type": "name"},
        "values": {"event_type": {"Seite": "page_view", "Warenkorb": "add_to_cart"}},
        "web": web_options,
        **entry,
    }
    p = params.from_dict(
        {"client": "acme", "data_dir": str(tmp_path), "max_rejected_share": 0.5, "sources": {"events": source}}
    )
    prepared = sources.prepare(p)
    (i,) = prepared.inputs
    assert i.balanced, i
    return i, pd.read_parquet(prepared.path("events")).sort_values("event_time")


def test_a_plain_events_mapping_with_web_derives_sessions_channel_page_type_and_device(tmp_path):
    i, ev = _plain(tmp_path, {"url": "page", "referrer": "ref", "user_agent": "ua"})
    assert (i.rows_in, i.rows_used, sum(i.rejected.values())) == (5, 4, 1)  # the unreadable time: rejected
    ids = ev["session_id"].tolist()
    assert ids[0] == ids[1] != ids[2] != ids[3]  # 29 minutes: one visit; 31 minutes: the next
    assert ev["channel"].tolist() == ["paid_search", "paid_search", "direct", "organic_social"]
    assert ev["page_type"].tolist() == ["home", "product", "cart", "content"]
    assert ev["device"].tolist() == ["mobile", "mobile", "mobile", "tablet"]


def test_web_options_on_a_plain_mapping_gap_and_what_the_mapping_supplies_itself(tmp_path):
    _, ev = _plain(tmp_path, {"url": "page", "session_gap_minutes": 45}, constants={"device": "desktop"})
    assert ev["session_id"].iloc[:3].nunique() == 1 and set(ev["device"]) == {"desktop"}
    _, ev = _plain(tmp_path, {"user_agent": "ua"})  # no URL, no referrer: channel and page type not supplied
    assert ev["channel"].isna().all() and ev["page_type"].isna().all() and ev["session_id"].notna().all()


def test_the_readme_example_of_web_on_a_plain_mapping_is_valid():
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("gets the same derivations with") :]
    block = section[section.index("```yaml") + len("```yaml") : section.index("```", section.index("```yaml") + 7)]
    entry = yaml.safe_load(block)["sources"]["events"]
    p = params.from_dict({"client": "acme", "data_dir": "data/acme", "sources": {"events": entry}})
    assert p.sources["events"].web.url == "page" and p.sources["events"].web.session_gap_minutes == 30


def test_coming_back_from_a_payment_page_is_neither_a_source_nor_a_new_session():
    src = web.traffic_source(
        pd.Series(["https://shop.example/?utm_source=newsletter&utm_medium=email", "https://shop.example/thanks"]),
        pd.Series(["", "https://www.sandbox.paypal.com/checkoutnow"]),
    )
    assert src["new"].tolist() == [True, False] and web.channel_of(src).tolist() == ["email", "direct"]
    key = src["source"] + "/" + src["medium"] + "/" + src["campaign"]
    assert len(set(_ids(["a", "a"], _at(0, 5), new_source=src["new"], source_key=key))) == 1
