"""Making a demo shop: the steps from a seed to every contract table, and writing the tables out."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .after import Aftermath
from .carts import cart_reminders, recovery_sessions
from .catalog import Catalog
from .clock import DAY, Clock
from .customers import Customers
from .customers import customers as draw_customers
from .events import Events, events
from .experiments import bought_directly, tested_campaigns
from .lapse import door_opener, lapse
from .leads import add_leads
from .loyalty import loyalty, referral_invites, referrals
from .marketing import marketing
from .mistakes import Behaviour, resolve
from .orders import Orders, orders
from .outbox import Outbox
from .reach import first_touch, overbid, spend, tracked
from .service import lifecycle_mails, reviews
from .support import support
from .tables import Shop, build_tables, campaign_names
from .visits import Sessions, sessions
from .winback import winback


class Streams(NamedTuple):
    """One random stream per part, so a switch in one part leaves the others' draws alone; the x_ streams
    draw what the catalogue's other mistakes add, so switching one leaves the original parts alone."""

    cat: np.random.Generator
    cust: np.random.Generator
    ses: np.random.Generator
    ev: np.random.Generator
    mail: np.random.Generator
    cart: np.random.Generator
    ord: np.random.Generator
    after: np.random.Generator
    x_acq: np.random.Generator
    x_lapse: np.random.Generator
    x_after: np.random.Generator
    x_track: np.random.Generator
    x_lead: np.random.Generator
    x_door: np.random.Generator
    x_test: np.random.Generator

    @classmethod
    def of(cls, seed: int) -> Streams:
        """The streams of a seed."""
        parts = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
        extra = [np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(100 + k,))) for k in range(7)]
        return cls(*parts, *extra)


def _visitors(r: Streams, clock: Clock, n: int, beh: Behaviour):
    """Catalogue, customers (leads included), their sessions and events, the lapsed ones' dropped."""
    cat = Catalog(r.cat, clock, beh.price_rise)
    cust = draw_customers(r.cust, clock, n, beh)
    cust.acq = first_touch(r.x_acq, cust.acq, beh)
    cust.fav = door_opener(r.x_door, cust, beh)
    s = sessions(r.ses, clock, cust, cat, beh)
    ev = events(r.ev, s, cat, beh)
    cust, s, ev = add_leads(r.x_lead, clock, cust, s, ev, cat, beh)
    s, ev = lapse(r.x_lapse, s, ev, beh)
    return cat, cust, s, ev


def _all_sessions(*parts: tuple[Sessions, Events]):
    """The visits plus those that came back to buy a recovered cart or after a tested campaign: sessions, events,
    purchase time per session and cart lines (session, product, position), as arrays."""
    offsets = np.cumsum([0] + [len(s) for s, _ in parts[:-1]])
    ses = {k: np.concatenate([getattr(s, k) for s, _ in parts]) for k in ("cust", "anon", "start", "channel", "device")}
    e = {
        k: np.concatenate(
            [getattr(ev, k) + (off if k == "sidx" else 0) for (_, ev), off in zip(parts, offsets, strict=True)]
        )
        for k in ("sidx", "t", "etype", "page", "prod")
    }
    buy_time = np.concatenate([ev.buy_time for _, ev in parts])
    lines = (
        np.concatenate([s.line_s + off for (s, _), off in zip(parts, offsets, strict=True)]),
        np.concatenate([s.line_p for s, _ in parts]),
        np.concatenate([s.line_k for s, _ in parts]),
    )
    return ses, e, buy_time, lines


def _after_orders(r: Streams, clock: Clock, cust: Customers, o: Orders, box: Outbox, dead, beh: Behaviour):
    """Service mail, reviews, support, referral invites, win-back, loyalty and referrals, in this order."""
    a = Aftermath(r.after, clock, cust, o, box, dead, beh, r.x_after)
    req, req_t = lifecycle_mails(a)
    rv = reviews(a, req, req_t)
    sp = support(a)
    referral_invites(a, sp.promoters)
    winback(a, rv.bad)
    loyal = loyalty(a)
    referrer, referred = referrals(a)
    return dict(
        postal=a.postal, default=a.default, loyal=loyal, reviews=rv, support=sp, referrer=referrer, referred=referred
    )


def generate(
    customers: int = 5000,
    seed: int = 7,
    profile: str = "planted",
    mistakes: Iterable[str] | None = None,
    end: str = "2026-09-30",
    months: int = 15,
) -> dict[str, pd.DataFrame]:
    """Every contract table of a demo shop; the same arguments give identical tables.

    `profile` "planted" switches on all of MISTAKES, "healthy" none; `mistakes` overrides
    the profile's set. The history covers `months` months up to and including `end`.
    """
    chosen = resolve(profile, mistakes)
    if customers < 50:
        raise ValueError("customers must be at least 50")
    beh = Behaviour.of(chosen)
    clock = Clock(end, months)
    r = Streams.of(seed)
    cat, cust, s, ev = _visitors(r, clock, customers, beh)
    campaign_vocab, offsets = campaign_names(clock)
    box = Outbox()
    dead = marketing(r.mail, clock, cust, s, beh, box, offsets, ev.buy_time)
    rs = recovery_sessions(s, *cart_reminders(r.cart, clock, cust, s, ev, beh, box))
    rev = events(r.ev, rs, cat, beh)
    members, qs = tested_campaigns(r.x_test, clock, cust, cat, beh, box, dead, s)
    ses, e, buy_time, lines = _all_sessions((s, ev), (rs, rev), (qs, bought_directly(events(r.x_test, qs, cat, beh))))
    o = orders(r.ord, clock, cat, ses["cust"], buy_time, *lines, np.where(cust.offer, cust.t0 + 30 * DAY, -1))
    after = _after_orders(r, clock, cust, o, box, dead, beh)
    paid, base = spend(r.after, clock, ses["channel"], ses["start"])
    amount = np.round(base * overbid(base, float(o.revenue.sum()), beh.ad_budget), 2)
    channel_seen, acq_seen = tracked(r.x_track, beh, ses["channel"], cust.acq, s)
    shop = Shop(
        clock,
        cat,
        cust,
        ses,
        e,
        o,
        box,
        campaign_vocab,
        paid=paid,
        amount=amount,
        channel_seen=channel_seen,
        acq_seen=acq_seen,
        members=members,
        **after,
    )
    return build_tables(shop)


def write_shop(tables: dict[str, pd.DataFrame], folder: Path) -> dict[str, Path]:
    """Write one Parquet file per table (folder/<table>.parquet); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in tables.items():
        paths[name] = folder / f"{name}.parquet"
        df.to_parquet(paths[name], index=False)
    return paths
