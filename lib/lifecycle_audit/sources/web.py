"""Raw web hits made into the events table: sessions, channel, page type and device from what a tracking log holds.

A raw tracking log (Segment, Snowplow, a server log) has one row per hit with a time, a visitor id, the page
URL, the referrer and the user agent, but no sessions and no channel. This module derives them:

- Sessions, as analytics tools build them: a visitor's hits (anonymous id, else customer id) belong to one
  session until `session_gap_minutes` (30 by default) pass without a hit, or until a hit arrives through a new
  campaign source (new UTM parameters or another site's referrer), as Google Analytics documents it: "How a
  web session is defined in Analytics" (https://support.google.com/analytics/answer/2731565: time-based
  expiration after 30 minutes of inactivity; campaign change). That page describes Universal Analytics; GA4
  no longer splits a session on a new campaign (nor at midnight): `new_session_on_campaign_change: false`
  counts sessions as GA4 does. On by default so that each session has one channel. Session ids are keyed hashes of the visitor and
  the session's first hit: the same file gives the same ids, and no raw id can be read from them.
- Channel, from the UTM parameters of the landing URL (or a gclid: Google Ads auto-tagging) and else from
  the referrer, by rules modelled on GA4's default channel grouping ("[GA4] Default channel group",
  https://support.google.com/analytics/answer/9756891), mapped onto the contract's channels (DEFAULT_CHANNEL_RULES,
  first match wins). A session takes the channel of its first hit, as GA4's session channel does.
- Page type, from the URL's path by patterns of common shop URLs (DEFAULT_PAGE_TYPES).
- Device, from the user agent by a dozen documented patterns (`device_of`): MDN's advice for telling mobile
  from desktop ("Mobi" in the user agent, https://developer.mozilla.org/en-US/docs/Web/HTTP/Browser_detection_using_the_user_agent),
  iPad / Android without "Mobile" as tablets, known bots as "other". A user-agent library (ua-parser and its
  200 KB of patterns) would name browsers and OS versions the audit never uses.

A consultant's own rules come first (`channel_rules`, `page_types`); the defaults follow. What the log does not
carry stays empty ("not supplied"): a log without referrer and URL has no channel, never "unknown" on every row.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd

from .. import contract
from .coerce import coerce

SESSION_GAP_MINUTES = 30

# GA4's "list of search sites" / "list of social sites" / "list of video sites" are internal to Google; these
# are the common ones (source names as UTM tags and referrer hosts write them, without "www.").
SEARCH_SITES = (
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "baidu",
    "yandex",
    "ecosia",
    "qwant",
    "startpage",
    "ask",
    "naver",
    "seznam",
    "adwords",
    "googleads",
)
SOCIAL_SITES = (
    "facebook",
    "fb",
    "instagram",
    "ig",
    "twitter",
    "t.co",
    "x.com",
    "linkedin",
    "lnkd.in",
    "pinterest",
    "tiktok",
    "snapchat",
    "reddit",
    "threads",
    "tumblr",
    "whatsapp",
    "telegram",
    "meta",
)
# Payment pages send the buyer back to the shop with their own referrer; counted as a source, every paying visit
# would restart as a "referral" (GA4 asks for them under "unwanted referrals"). Never a source, as the shop's own
# hosts and `internal_hosts` are not.
PAYMENT_HOSTS = (
    "paypal.com",
    "klarna.com",
    "stripe.com",
    "adyen.com",
    "mollie.com",
    "sofort.com",
    "sofort.de",
    "checkout.shopify.com",
    "pay.google.com",
    "amazonpay.com",
    "payments.amazon.com",
    "afterpay.com",
    "affirm.com",
    "worldpay.com",
    "braintreegateway.com",
    "giropay.de",
    "paydirekt.de",
    "unzer.com",
    "xendit.co",
    "midtrans.com",
)
VIDEO_SITES = ("youtube", "youtu.be", "vimeo", "twitch", "dailymotion")
_PAID = r"^(.*cp.*|ppc|retargeting|paid.*)$"


def _sites(names: Sequence[str]) -> str:
    """A regex matching a source that is one of `names` or a host of it (google, google.de, m.facebook.com)."""
    alts = "|".join(re.escape(n) for n in names)
    return rf"^((.*\.)?({alts})(\..*)?)$"


# GA4's default channel group in its order (first match wins), onto the contract's channels. GA4's channels the
# contract lacks: Paid / Organic Shopping fall to search (shopping sites are search engines' here), Paid Video to
# display, Organic Video to organic_social, Cross-network, Paid Other, Audio, SMS, Push and Unassigned to unknown.
DEFAULT_CHANNEL_RULES: tuple[dict, ...] = (
    {"when": {"source": r"re:^\(?direct\)?$", "medium": r"re:^(\(none\)|\(not set\)|none)?$"}, "channel": "direct"},
    {"when": {"source": "re:" + _sites(SEARCH_SITES), "medium": "re:" + _PAID}, "channel": "paid_search"},
    {"when": {"source": "re:" + _sites(SOCIAL_SITES), "medium": "re:" + _PAID}, "channel": "paid_social"},
    {"when": {"source": "re:" + _sites(VIDEO_SITES), "medium": "re:" + _PAID}, "channel": "display"},
    {"when": {"medium": "re:^(display|banner|expandable|interstitial|cpm)$"}, "channel": "display"},
    {"when": {"source": "re:" + _sites(SOCIAL_SITES)}, "channel": "organic_social"},
    {
        "when": {"medium": "re:^(social|social-network|social-media|sm|social network|social media)$"},
        "channel": "organic_social",
    },
    {"when": {"source": "re:" + _sites(VIDEO_SITES)}, "channel": "organic_social"},
    {"when": {"medium": "re:^(.*video.*)$"}, "channel": "organic_social"},
    {"when": {"source": "re:" + _sites(SEARCH_SITES)}, "channel": "organic_search"},
    {"when": {"medium": "organic"}, "channel": "organic_search"},
    {"when": {"source": "re:^(email|e-mail|e_mail|e mail|newsletter)$"}, "channel": "email"},
    {"when": {"medium": "re:^(email|e-mail|e_mail|e mail|newsletter)$"}, "channel": "email"},
    {"when": {"medium": "re:^affiliates?$"}, "channel": "affiliate"},
    {"when": {"medium": "referral"}, "channel": "referral"},
)
RULE_FIELDS = ("source", "medium", "campaign", "referrer")

# Path patterns of common shop URLs, in order (first match wins): a plain string is a path prefix (a trailing
# "/" optional), "re:..." a regular expression searched in the path (lower case, without query).
DEFAULT_PAGE_TYPES: tuple[tuple[str, str], ...] = (
    (r"re:^/?$", "home"),
    (r"re:^/(index\.html?|home)/?$", "home"),
    (r"re:/(products?|p|item|artikel|produkt)/", "product"),
    (r"re:/(cart|basket|warenkorb|bag)(/|$)", "cart"),
    (r"re:/(checkout|kasse|order|payment)(/|$)", "checkout"),
    (r"re:/(search|suche)(/|$)", "category"),
    (r"re:/(collections?|category|categories|c|shop|kategorie)(/|$)", "category"),
    (r"re:/(landing|lp|campaign|promo)(/|$)", "landing"),
    (r"re:/(blog|pages?|about|help|faq|magazin|news|journal)(/|$)", "content"),
)

# Device class from the user agent, in order: bots first, tablets before phones (an iPad or an Android tablet
# says neither "Mobi" nor "iPhone"), then MDN's "Mobi" for phones, then desktop systems.
_BOT = re.compile(r"bot|crawl|spider|slurp|headless|lighthouse|curl|wget|python-requests", re.I)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|windows phone|blackberry|opera mini|iemobile", re.I)
_DESKTOP = re.compile(r"windows nt|macintosh|mac os x|x11|linux|cros", re.I)


def device_of(user_agent: pd.Series) -> pd.Series:
    """desktop / mobile / tablet / other per user agent (empty where the user agent is empty)."""
    ua = user_agent.astype("string")
    uniques = pd.unique(ua.dropna())
    table = {u: _device(str(u)) for u in uniques}
    return ua.map(table).astype("string")


def _device(ua: str) -> str:
    if _BOT.search(ua):
        return "other"
    if _TABLET.search(ua):
        return "tablet"
    if _MOBILE.search(ua):
        return "mobile"
    if _DESKTOP.search(ua):
        return "desktop"
    return "other"


def _pattern(value: str) -> re.Pattern:
    """A rule value as a compiled regex: "re:..." as written, else the exact value (both ignoring case)."""
    if value.startswith("re:"):
        return re.compile(value[3:], re.I)
    return re.compile("^" + re.escape(value) + "$", re.I)


def page_type_of(url: pd.Series, rules: Mapping[str, str] | Sequence[tuple[str, str]] = ()) -> pd.Series:
    """The contract page type of each URL's path: the consultant's rules first, then DEFAULT_PAGE_TYPES; "other"
    when none matches, empty where the URL is empty."""
    own = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    compiled = [(_path_pattern(p), t) for p, t in [*own, *DEFAULT_PAGE_TYPES]]
    text = url.astype("string")
    table = {}
    for u in pd.unique(text.dropna()):
        path = _path(str(u))
        table[u] = next((t for pat, t in compiled if pat.search(path)), "other")
    return text.map(table).astype("string")


def _path_pattern(value: str) -> re.Pattern:
    if value.startswith("re:"):
        return re.compile(value[3:], re.I)
    prefix = value.rstrip("/").lower()
    return re.compile("^" + re.escape(prefix) + "(/|$)", re.I)


def _path(url: str) -> str:
    """The lower-case path of a URL (a bare path as it is), without query or fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return (parts.path or "/").lower()


def host_of(url: str | None) -> str:
    """The host of a URL, lower case, without "www." and port ("" when none)."""
    if not url:
        return ""
    try:
        host = urlsplit(url.strip() if "//" in url else "//" + url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def traffic_source(url: pd.Series, referrer: pd.Series, internal_hosts: Sequence[str] = ()) -> pd.DataFrame:
    """Per hit, the traffic source GA would read from it: columns source, medium, campaign and referrer (host),
    and `new` (the hit brings a source of its own: UTM parameters, a gclid, or another site's referrer).

    UTM parameters of the URL win; a gclid is Google Ads (google / cpc); else a referrer from another site gives
    its host as source, medium "referral" (the channel rules put search and social hosts in their channels);
    else the hit is direct ((direct) / (none)). A referrer from the shop itself (the URL's host, or one of
    `internal_hosts`) or from a payment page (PAYMENT_HOSTS) is not a source: the visitor moved inside the site,
    or came back from paying.
    """
    own = {h.lower().removeprefix("www.") for h in (*internal_hosts, *PAYMENT_HOSTS)}
    pairs = pd.DataFrame({"u": url.astype("string").fillna("").to_numpy(), "r": referrer.astype("string").fillna("")})
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(pairs))  # each URL and referrer pair parsed once
    parsed = [_source_of(str(u), str(r), own) for u, r in uniques]
    rows = [parsed[c] for c in codes]
    df = pd.DataFrame(rows, columns=["source", "medium", "campaign", "referrer", "new"], index=url.index)
    for c in ("source", "medium", "campaign", "referrer"):
        df[c] = df[c].astype("string")
    df["new"] = df["new"].astype(bool)
    return df


def _source_of(url: str, referrer: str, own: set[str]) -> tuple[str, str, str, str, bool]:
    try:
        query = parse_qs(urlsplit(url).query) if url else {}
    except ValueError:
        query = {}
    utm = {k: query.get(f"utm_{k}", [""])[0].strip().lower() for k in ("source", "medium", "campaign")}
    ref_host = host_of(referrer)
    site = host_of(url)
    external = (
        bool(ref_host)
        and ref_host != site
        and not ref_host.endswith("." + site)
        and ref_host not in own
        and not any(ref_host.endswith("." + h) for h in own)
    )
    if utm["source"] or utm["medium"] or utm["campaign"]:
        return utm["source"], utm["medium"], utm["campaign"], ref_host, True
    if "gclid" in query:
        return "google", "cpc", "", ref_host, True
    if external:
        return ref_host, "referral", "", ref_host, True
    return "(direct)", "(none)", "", ref_host, False


def empty_channel(n: int) -> pd.Series:
    """n empty channels: the source carries nothing a channel could be derived from (not supplied)."""
    return pd.Series(pd.NA, index=range(n), dtype="string")


def channel_of(sources: pd.DataFrame, rules: Sequence[Mapping] = ()) -> pd.Series:
    """The contract channel of each traffic source (columns source, medium, campaign, referrer): the consultant's
    rules first, then DEFAULT_CHANNEL_RULES; "unknown" when none matches (GA4's Unassigned)."""
    compiled = [
        ({f: _pattern(str(v)) for f, v in rule["when"].items()}, rule["channel"])
        for rule in [*rules, *DEFAULT_CHANNEL_RULES]
    ]
    keys = sources[list(RULE_FIELDS)].astype("string").fillna("")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))  # each distinct source judged once
    judged = []
    for row in uniques:
        values = dict(zip(RULE_FIELDS, row, strict=True))
        judged.append(
            next((ch for cond, ch in compiled if all(p.search(values[f]) for f, p in cond.items())), "unknown")
        )
    return pd.Series(np.asarray(judged, dtype=object)[codes], index=sources.index, dtype="string")


def session_key(client: str) -> str:
    """The key of the session ids' hash: LIFECYCLE_AUDIT_PSEUDONYM_KEY when set (as for pseudonyms), else one
    derived from the client's short name (stable across runs)."""
    return os.environ.get("LIFECYCLE_AUDIT_PSEUDONYM_KEY") or f"lifecycle-audit:{client}"


def sessions(
    visitor: pd.Series,
    time: pd.Series,
    new_source: pd.Series | None = None,
    source_key: pd.Series | None = None,
    gap_minutes: float = SESSION_GAP_MINUTES,
    key: str = "lifecycle-audit",
) -> pd.Series:
    """A session id per hit: a visitor's hits in time order start a new session after `gap_minutes` without a
    hit, or when a hit brings a new traffic source (`new_source`) whose `source_key` differs from the session's.

    Ids are "s_" + a keyed hash of the visitor and the session's first hit time: deterministic, not reversible
    to the raw id. Hits without visitor or time get no session (<NA>).
    """
    n = len(time)
    ok = visitor.notna().to_numpy() & time.notna().to_numpy()
    new = np.zeros(n, dtype=bool) if new_source is None else new_source.fillna(False).to_numpy(dtype=bool)
    skey = pd.Series([""] * n, dtype="string") if source_key is None else source_key.astype("string").fillna("")
    df = pd.DataFrame(
        {
            "v": visitor.astype("string").to_numpy(),
            "t": pd.to_datetime(time).to_numpy(),
            "new": new,
            "k": skey.to_numpy(),
            "pos": np.arange(n),
        }
    )[ok]
    df = df.sort_values(["v", "t", "pos"], kind="stable")
    v, t = df["v"].to_numpy(), df["t"].to_numpy()
    first = np.ones(len(df), dtype=bool)
    if len(df) > 1:
        same = v[1:] == v[:-1]
        gap = (t[1:] - t[:-1]) > np.timedelta64(int(gap_minutes * 60_000_000), "us")
        first[1:] = ~same | gap
    # A hit with a source of its own that differs from the running session's source starts a new session. The
    # running source is always that of the visitor's last session start or last hit with a source of its own
    # (a hit bringing the running source again changes nothing), so each such hit compares with the one before.
    k, nw = df["k"].to_numpy(), df["new"].to_numpy()
    marks = np.flatnonzero(first | nw)
    if len(marks) > 1:
        changed = np.zeros(len(marks), dtype=bool)
        changed[1:] = k[marks[1:]] != k[marks[:-1]]
        first[marks[nw[marks] & changed]] = True
    starts = np.flatnonzero(first)
    labels = pd.Series(v[starts] + "\x1f" + df["t"].iloc[starts].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").to_numpy())
    start = labels.iloc[np.cumsum(first) - 1].reset_index(drop=True)
    ids = {s: "s_" + hmac.new(key.encode(), s.encode(), hashlib.sha256).hexdigest()[:16] for s in pd.unique(start)}
    out = pd.Series(pd.NA, index=range(n), dtype="string")
    out.iloc[df["pos"].to_numpy()] = start.map(ids).to_numpy()
    out.index = time.index
    return out


def session_channel(
    session: pd.Series, time: pd.Series, channel: pd.Series, rank: pd.Series | None = None
) -> pd.Series:
    """Each hit's session channel: the channel of the session's first hit (GA4's session default channel).

    `rank` orders the hits of equal standing: with it, the session takes the first hit of the lowest rank (e.g.
    0 for a hit with a traffic source of its own, 1 for a page without one, 2 for a hit without a page, such as
    an identify call), so a call without a page at the session's start does not make it "direct".
    """
    df = pd.DataFrame({"s": session.to_numpy(), "t": pd.to_datetime(time).to_numpy(), "c": channel.to_numpy()})
    df["r"] = 0 if rank is None else rank.to_numpy()
    df["pos"] = np.arange(len(df))
    first = df.dropna(subset=["s"]).sort_values(["s", "r", "t", "pos"], kind="stable").drop_duplicates("s")
    mapping = dict(zip(first["s"], first["c"], strict=True))
    return pd.Series(session.map(mapping).to_numpy(), index=session.index, dtype="string")


# --- a plain mapping of the events table with `web:` (params.WebOptions) -----------------------------------------

DERIVED = ("session_id", "channel", "page_type", "device")


def _client_column(frame: pd.DataFrame, src, column: str) -> pd.Series | None:
    """The text of the client's column for a contract column of events (mapped or by its own name), if present."""
    name = src.columns.get(column, column)
    if isinstance(name, list):  # alternatives (sources.shaping): per row, the first the row's file has
        present = [n for n in name if n in frame.columns]
        if not present:
            return None
        s = frame[present].astype("string").bfill(axis=1).iloc[:, 0].str.strip()
        return s.mask(s == "")
    if name not in frame.columns:
        return None
    s = frame[name].astype("string").str.strip()
    return s.mask(s == "")


def _given(frame: pd.DataFrame, name: str | None) -> pd.Series:
    """The text of one of the `web:` columns (url, referrer, user agent); empty when not given or not present."""
    if name is None or name not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    s = frame[name].astype("string").str.strip()
    return s.mask(s == "")


def with_hit_columns(frame: pd.DataFrame, src, key: str, notes: list[str]) -> pd.DataFrame:
    """The raw events frame with session_id, channel, page_type and device added (those the mapping does not
    supply itself), derived from the hits by `src.web`: sessions per visitor (anonymous id, else customer id)
    from the event time, channel from the URL's UTM parameters and the referrer, page type from the URL, device
    from the user agent. Hits without visitor or readable time get no session (rejected by the contract)."""
    opts = src.web
    own = set(src.columns) | set(src.constants) | set(src.derived)
    wanted = [c for c in DERIVED if c not in own]
    if not wanted:
        return frame
    out = frame.copy()
    url, ref, agent = _given(frame, opts.url), _given(frame, opts.referrer), _given(frame, opts.user_agent)
    anon, cust = _client_column(frame, src, "anonymous_id"), _client_column(frame, src, "customer_id")
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    visitor = (anon if anon is not None else empty).fillna(cust if cust is not None else empty)
    raw_time = _client_column(frame, src, "event_time")
    when = (
        coerce(raw_time, contract.TIMESTAMP, src.read, tz=src.timezone)[0]
        if raw_time is not None
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    )
    has_source = bool(url.notna().any() or ref.notna().any())
    src_ = traffic_source(url, ref, opts.internal_hosts) if has_source else None
    own_channel = channel_of(src_, [r.model_dump() for r in opts.channel_rules]) if has_source else empty
    new = src_["new"] if has_source and opts.new_session_on_campaign_change else None
    skey = src_["source"] + "/" + src_["medium"] + "/" + src_["campaign"] if has_source else None
    session = sessions(visitor, when, new, skey, opts.session_gap_minutes, key)
    derived = {
        "session_id": session,
        "channel": session_channel(session, when, own_channel, _rank(src_, url, ref)) if has_source else empty,
        "page_type": page_type_of(url, opts.page_types),
        "device": device_of(agent),
    }
    for column in wanted:
        out[src.columns.get(column, column)] = derived[column].to_numpy()
    notes.append(
        f"web: {', '.join(wanted)} derived from the hits; {session.nunique():,} sessions (a new one after "
        f"{opts.session_gap_minutes:g} minutes without a hit"
        + (" or on a new campaign source)" if opts.new_session_on_campaign_change else ")")
        + ("" if has_source else "; no URL or referrer column given: channel not supplied")
    )
    return out


def _rank(src: pd.DataFrame, url: pd.Series, ref: pd.Series) -> pd.Series:
    """0 for a hit with a traffic source of its own, 1 for a page without one, 2 for a hit without a page."""
    page = (url.notna() | ref.notna()).to_numpy()
    return pd.Series(np.where(src["new"].to_numpy(), 0, np.where(page, 1, 2)))
